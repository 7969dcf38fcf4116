"""Speech detection scores: 10 ms frame counts, false starts and missed segments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .labels import Labels, ref_items, ref_union
from .segments import PredSegment, Segment, as_pred, check_segments, merge, overlaps

__all__ = ["FRAME_S", "FrameScores", "false_starts", "frame_scores", "missed_segments"]

FRAME_S = 0.01
"""Frame length for frame scores (10 ms, SPEC section 11)."""


@dataclass(frozen=True)
class FrameScores:
    """Frame counts of speech detection and the ratios derived from them.

    Attributes
    ----------
    tp, fp, fn, tn : int
        Frames that are speech in both / only the prediction / only the reference / neither.

    Notes
    -----
    A ratio whose denominator is 0 is 1.0 when there is no error at all (``fp == fn == 0``,
    e.g. a silent clip with no prediction) and 0.0 otherwise.
    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n_frames(self) -> int:
        """Frames scored."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        """``tp / (tp + fp)``."""
        return self._ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """``tp / (tp + fn)``."""
        return self._ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """``2 tp / (2 tp + fp + fn)`` (harmonic mean of precision and recall)."""
        return self._ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def _ratio(self, num: int, den: int) -> float:
        if den:
            return num / den
        return 1.0 if self.fp == 0 and self.fn == 0 else 0.0

    def __add__(self, other: FrameScores) -> FrameScores:
        return FrameScores(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    def to_dict(self) -> dict[str, float | int]:
        """Counts and ratios as a flat dict."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


def _n_frames(duration_s: float, frame_s: float) -> int:
    # Frames whose centre (i + 0.5) * frame_s lies inside the clip, i.e. < duration_s.
    n_max = int(math.ceil(duration_s / frame_s)) + 1
    centres = (np.arange(n_max, dtype=np.float64) + 0.5) * frame_s
    return int(np.searchsorted(centres, duration_s, side="left"))


def _frame_mask(
    segments: Sequence[tuple[float, float]], n_frames: int, frame_s: float
) -> np.ndarray:
    centres = (np.arange(n_frames, dtype=np.float64) + 0.5) * frame_s
    edges = np.zeros(n_frames + 1, dtype=np.int64)
    for start, end in segments:
        i0 = int(np.searchsorted(centres, start, side="left"))  # first centre >= start
        i1 = int(np.searchsorted(centres, end, side="left"))  # first centre >= end
        if i1 > i0:
            edges[i0] += 1
            edges[i1] -= 1
    return np.asarray(np.cumsum(edges[:-1]) > 0)


def frame_scores(
    pred: Sequence[PredSegment],
    ref: Labels | Sequence[Segment],
    duration_s: float | None = None,
    frame_s: float = FRAME_S,
) -> FrameScores:
    """Frame-level speech detection counts (SPEC section 11: 10 ms frames).

    Frame ``i`` spans ``[i * frame_s, (i + 1) * frame_s)``; it is scored when its centre
    ``(i + 0.5) * frame_s`` lies inside the clip (``< duration_s``), and it is speech in a track
    when its centre lies in a segment ``[start_s, end_s)`` of that track. Overlapping segments
    are simply speech once.

    Parameters
    ----------
    pred : sequence of (float, float or None)
        Predicted speech segments, s of audio; ``end_s=None`` runs to the end of the clip.
    ref : Labels or sequence of (float, float)
        Reference speech (for `Labels`, all speakers' segments).
    duration_s : float, optional
        Clip duration in seconds; defaults to ``ref.duration_s`` when ``ref`` is `Labels`.
    frame_s : float, default 0.01
        Frame length in seconds.

    Returns
    -------
    FrameScores
        Counts ``tp``/``fp``/``fn``/``tn`` with ``precision``, ``recall`` and ``f1``.

    Raises
    ------
    ValueError
        If ``duration_s`` is missing (``ref`` not `Labels`) or not > 0, ``frame_s`` is not > 0,
        or a segment is malformed (not a pair, not finite, end before start).
    """
    if duration_s is None:
        if not isinstance(ref, Labels):
            raise ValueError("frame_scores: duration_s is required when ref is not Labels")
        duration_s = ref.duration_s
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError(f"frame_scores: duration_s must be a finite number > 0, got {duration_s}")
    if not (frame_s > 0 and math.isfinite(frame_s)):
        raise ValueError(f"frame_scores: frame_s must be a finite number > 0, got {frame_s}")
    n = _n_frames(duration_s, frame_s)
    p = _frame_mask(check_segments(pred, "pred"), n, frame_s)
    r = _frame_mask(ref_union(ref), n, frame_s)
    tp = int(np.count_nonzero(p & r))
    fp = int(np.count_nonzero(p & ~r))
    fn = int(np.count_nonzero(~p & r))
    return FrameScores(tp=tp, fp=fp, fn=fn, tn=n - tp - fp - fn)




def false_starts(
    pred: Sequence[PredSegment],
    ref: Labels | Sequence[Segment],
    *,
    collar_s: float = 0.0,
) -> list[PredSegment]:
    """Predicted speech that overlaps no reference speech.

    Parameters
    ----------
    pred : sequence of (float, float or None)
        Predicted segments; use the back-dated flavour (decision-time starts lag the speech and
        can miss a short utterance altogether). Overlapping ones are merged first.
    ref : Labels or sequence of (float, float)
        Reference speech (all speakers merged).
    collar_s : float, default 0.0
        Widen every reference segment by this much on both sides before testing.

    Returns
    -------
    list of (float, float or None)
        The merged predicted segments that share no time with the (widened) reference; a
        segment that only touches a reference boundary shares no time.
    """
    refs = [(s - collar_s, e + collar_s) for s, e in ref_union(ref)]
    preds = merge(check_segments(pred, "pred"))
    return [as_pred(p) for p in preds if not any(overlaps(p[0], p[1], s, e) for s, e in refs)]


def missed_segments(
    pred: Sequence[PredSegment],
    ref: Labels | Sequence[Segment],
) -> list[Segment]:
    """Reference segments that no predicted speech overlaps.

    Parameters
    ----------
    pred : sequence of (float, float or None)
        Predicted segments (use the back-dated flavour).
    ref : Labels or sequence of (float, float)
        Reference segments; for `Labels`, each labelled segment of each speaker is tested on
        its own (not the merged union).

    Returns
    -------
    list of (float, float)
        Reference segments sharing no time with any predicted segment, in time order.
    """
    preds = merge(check_segments(pred, "pred"))
    return [(s, e) for s, e in ref_items(ref) if not any(overlaps(s, e, a, b) for a, b in preds)]

