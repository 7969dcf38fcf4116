"""What a configuration did on a call, read off its events (labels not needed).

Counts and the response gaps are kept raw (:class:`Behaviour`), so a configuration's calls can
be pooled exactly: turns per minute over the total audio, gap median/p90 over every gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..eval.latency import median_p90

__all__ = ["Behaviour", "behaviour_from_events", "pool_behaviour"]


@dataclass(frozen=True)
class Behaviour:
    """One call (or a pool of calls) under one configuration.

    Attributes
    ----------
    duration_s : float
        Seconds of audio.
    gaps_s : tuple of float
        ``end_of_utterance_delay`` of every ``user_turn_completed``: end of speech to commit.
    n_interruptions, n_false_interruptions, n_backchannels, n_away : int
        ``agent_interrupted``, ``agent_false_interruption``, ``user_backchannel`` events and
        ``user_state_changed`` into ``away``.
    """

    duration_s: float
    gaps_s: tuple[float, ...]
    n_interruptions: int
    n_false_interruptions: int
    n_backchannels: int
    n_away: int

    @property
    def n_turns(self) -> int:
        """Completed user turns."""
        return len(self.gaps_s)

    def per_minute(self, count: int) -> float | None:
        """``count`` per minute of audio (``None`` for no audio)."""
        return 60.0 * count / self.duration_s if self.duration_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """Flat row: counts, rates per minute, gap median/p90 (s), and the raw gaps."""
        median, p90 = median_p90(self.gaps_s)
        return {"duration_s": round(self.duration_s, 6), "n_turns": self.n_turns,
                "turns_per_min": _round(self.per_minute(self.n_turns)),
                "response_gap_median_s": _round(median), "response_gap_p90_s": _round(p90),
                "n_interruptions": self.n_interruptions,
                "interruptions_per_min": _round(self.per_minute(self.n_interruptions)),
                "n_false_interruptions": self.n_false_interruptions,
                "n_backchannels": self.n_backchannels, "n_away": self.n_away}

    def raw(self) -> dict[str, Any]:
        """The fields, for the cache (``Behaviour(**raw)`` rebuilds it)."""
        return asdict(self)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def behaviour_from_events(events: Iterable[Any], duration_s: float) -> Behaviour:
    """Count the events of one replay (objects with ``type`` and their fields)."""
    gaps: list[float] = []
    counts = {"agent_interrupted": 0, "agent_false_interruption": 0, "user_backchannel": 0}
    away = 0
    for ev in events:
        if ev.type == "user_turn_completed":
            gaps.append(float(ev.end_of_utterance_delay))
        elif ev.type in counts:
            counts[ev.type] += 1
        elif ev.type == "user_state_changed" and str(getattr(ev.new_state, "value",
                                                             ev.new_state)) == "away":
            away += 1
    return Behaviour(duration_s, tuple(gaps), counts["agent_interrupted"],
                     counts["agent_false_interruption"], counts["user_backchannel"], away)


def pool_behaviour(calls: Sequence[Behaviour]) -> Behaviour:
    """Summed durations and counts, every gap (in call order)."""
    return Behaviour(sum(c.duration_s for c in calls),
                     tuple(g for c in calls for g in c.gaps_s),
                     sum(c.n_interruptions for c in calls),
                     sum(c.n_false_interruptions for c in calls),
                     sum(c.n_backchannels for c in calls), sum(c.n_away for c in calls))
