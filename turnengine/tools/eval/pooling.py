"""Scores pooled over clips (:func:`pool`): summed counts, concatenated latency lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .clip import ClipScore, EndLatencies, summary_dict
from .frames import FrameScores
from .latency import SpeechEnd, latency_stat

__all__ = ["PooledScore", "pool"]


@dataclass(frozen=True)
class PooledScore(EndLatencies):
    """Scores pooled over clips (built by `pool`).

    Frame scores are recomputed from the summed counts (not averaged per clip); latencies are
    the concatenated per-clip lists, so their median/p90 weigh every event equally.

    Attributes
    ----------
    clips : tuple of str
        Names of the pooled clips.
    duration_s : float
        Total duration.
    frames, decision_frames : FrameScores
        Summed frame counts (back-dated, decision-time).
    speech_ends : tuple of SpeechEnd
        All clips' scoreable speech ends, clip by clip.
    n_ref_segments, n_pred_segments, n_false_starts, n_missed_segments : int
        Summed counts.
    turn_latencies_s : tuple of float
        All detected turn latencies.
    n_turn_ends, n_false_cutoffs, n_extra_completions, n_unscored_completions : int
        Summed counts.
    """

    clips: tuple[str, ...]
    duration_s: float
    frames: FrameScores
    decision_frames: FrameScores
    speech_ends: tuple[SpeechEnd, ...]
    n_ref_segments: int
    n_pred_segments: int
    n_false_starts: int
    n_missed_segments: int
    turn_latencies_s: tuple[float, ...]
    n_turn_ends: int
    n_false_cutoffs: int
    n_extra_completions: int
    n_unscored_completions: int

    turn_latency_median_s = latency_stat("turn_latencies_s", 0, "turn latency, all clips")
    turn_latency_p90_s = latency_stat("turn_latencies_s", 1, "turn latency, all clips")

    def to_dict(self) -> dict[str, Any]:
        """Flat summary with the same keys as `ClipScore.to_dict`'s summary, plus ``n_clips``
        and ``clips``; ``clip`` reads ``"pooled (N clips)"``."""
        n = len(self.clips)
        out = summary_dict(self, f"pooled ({n} clip{'' if n == 1 else 's'})")
        out.update(n_clips=len(self.clips), clips=list(self.clips))
        return out


def pool(scores: Iterable[ClipScore]) -> PooledScore:
    """Pool clip scores: summed frame counts, concatenated latency lists, summed counts.

    Parameters
    ----------
    scores : iterable of ClipScore
        At least one.

    Returns
    -------
    PooledScore

    Raises
    ------
    ValueError
        If ``scores`` is empty.
    """
    items = list(scores)
    if not items:
        raise ValueError("pool: expected at least one ClipScore, got none")
    frames = items[0].frames
    decision = items[0].decision_frames
    for s in items[1:]:
        frames = frames + s.frames
        decision = decision + s.decision_frames
    return PooledScore(
        clips=tuple(s.clip for s in items),
        duration_s=float(sum(s.duration_s for s in items)),
        frames=frames,
        decision_frames=decision,
        speech_ends=tuple(e for s in items for e in s.speech_ends),
        n_ref_segments=sum(s.n_ref_segments for s in items),
        n_pred_segments=sum(s.n_pred_segments for s in items),
        n_false_starts=sum(s.n_false_starts for s in items),
        n_missed_segments=sum(s.n_missed_segments for s in items),
        turn_latencies_s=tuple(x for s in items for x in s.turn_latencies_s),
        n_turn_ends=sum(s.n_turn_ends for s in items),
        n_false_cutoffs=sum(s.n_false_cutoffs for s in items),
        n_extra_completions=sum(s.n_extra_completions for s in items),
        n_unscored_completions=sum(s.n_unscored_completions for s in items),
    )

