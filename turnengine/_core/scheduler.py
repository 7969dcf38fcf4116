"""Host actions placed at engine-clock samples (``TurnEngine.schedule``).

Set/run pairs that take the clock as an argument, never read one (STYLE.md point 12): the
driver asks for the next due sample to cut its kernel steps there, and runs what is due.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("turnengine")

Action = Callable[[Any], Any]


class Scheduler:
    """A heap of ``(sample, sequence, action)``; ties run in the order they were scheduled."""

    def __init__(self) -> None:
        #: The heap itself; empty when nothing is scheduled (the driver's hot path reads it).
        self.heap: list[tuple[int, int, Action]] = []
        self._seq = 0

    def add(self, sample: int, action: Action) -> None:
        """Run ``action(target)`` once the clock reaches ``sample``."""
        self._seq += 1
        heapq.heappush(self.heap, (sample, self._seq, action))

    @property
    def next_sample(self) -> int | None:
        """Clock sample of the earliest action not yet run."""
        return self.heap[0][0] if self.heap else None

    def run_due(self, now: int, target: Any) -> None:
        """Run every action due at or before ``now`` with ``target``; one that raises is
        logged and the others still run."""
        while self.heap and self.heap[0][0] <= now:
            _, _, action = heapq.heappop(self.heap)
            try:
                action(target)
            except Exception:
                logger.exception("scheduled action %r raised; the engine continues", action)
