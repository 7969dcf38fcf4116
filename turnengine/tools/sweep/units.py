"""How a sweep's pairs are grouped into tasks (:func:`make_units`), for the process pool and
for Ray alike."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_UNIT_CONFIGS", "Pair", "Unit", "make_units"]

Pair = tuple[int, int]
"""``(call index, configuration index)``."""
Unit = tuple[int, tuple[int, ...]]
"""``(call index, configuration indices)``: the pairs one task replays."""
MAX_UNIT_CONFIGS = 16
"""At most this many configurations of a call in one task."""


def make_units(todo: Sequence[Pair], slots: int) -> list[Unit]:
    """Group the pairs to replay into units: one call with up to :data:`MAX_UNIT_CONFIGS` of
    its configurations, small enough that there are at least 8 units per worker slot.

    A unit is what one task replays (pool or Ray): grouping a call's configurations amortises
    the task's cost (about 1 ms on Ray, measured in ``benchmarks/sweep_archive.py``) over
    replays of about 10 ms each; results do not depend on it.
    """
    by_call: dict[int, list[int]] = {}
    for ci, ki in todo:
        by_call.setdefault(ci, []).append(ki)
    size = max(1, min(MAX_UNIT_CONFIGS, len(todo) // (8 * max(slots, 1))))
    return [(ci, tuple(kis[i:i + size])) for ci, kis in by_call.items()
            for i in range(0, len(kis), size)]
