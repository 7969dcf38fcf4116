"""End-of-speech latency: reference speech ends matched to the engine's END decisions.

Matching rule of :func:`speech_end_latency`
-------------------------------------------
The reference is the union of all speakers' segments, ``R_k = [s_k, e_k]``, sorted; ``n_k`` is
the start of ``R_(k+1)`` (for the last one, the clip end). The prediction is the decision-time
segments ``P_j = [a_j, b_j]`` (``a`` = START decided, ``b`` = END decided; ``b = +inf`` while
still open), overlapping ones merged. The reference ends are visited in time order, each
getting at most one *closing* segment:

1. candidates are the ``P_j`` that started (were decided) no later than ``e_k`` and end
   after ``s_k``, minus any segment that already closed an earlier end with status
   ``closed``; the closing segment is the one that started last (if the engine split the
   speech, the last piece);
2. if there is none, the first ``P_j`` that starts inside the gap, ``e_k < a_j < n_k``
   (a short utterance whose START was only decided after it had ended);
3. if there is none either: ``undetected``.

The closing segment gives ``open`` if it never ends, ``bridged`` if it ends at or after
the end of the next reference speech ``e_(k+1)`` (the engine talked through the gap: the
same segment will also close ``R_(k+1)``), else ``closed`` with
``latency = b - e_k``. A negative latency means the engine decided the end before the
labelled end (it lost the speech's tail).

Only ends followed by at least ``min_gap_s`` of reference silence are returned (to the
next speech, or to the clip end for the last one): shorter gaps are bridged by a correct
engine, so there is no END to time. All ends are still visited for rule 1's bookkeeping.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .labels import Labels, ref_union
from .segments import EPS, PredSegment, Segment, check_segments, merge

__all__ = ["MIN_END_GAP_S", "EndStatus", "SpeechEnd", "latency_stat", "median_p90",
           "speech_end_latency"]

MIN_END_GAP_S = 0.8
"""Default silence that must follow a reference speech end for its latency to be scored.

It has to exceed the engine's ``min_silence_duration`` (0.55 s by default) with some margin,
otherwise a correct engine bridges the gap and never decides that end. 0.8 s is the shortest
between-turn gap of the composed clips; their in-turn pauses are 0.2-0.7 s.
"""


EndStatus = Literal["closed", "bridged", "open", "undetected"]


def median_p90(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Median and 90th percentile of a list of latencies.

    Parameters
    ----------
    values : sequence of float
        Latencies in seconds.

    Returns
    -------
    (float or None, float or None)
        ``numpy.median`` and ``numpy.percentile(values, 90)`` (linear interpolation between
        order statistics); ``(None, None)`` for an empty list.
    """
    if len(values) == 0:
        return None, None
    arr = np.asarray(values, dtype=np.float64)
    return float(np.median(arr)), float(np.percentile(arr, 90))


def latency_stat(values_attr: str, which: int, what: str) -> property:
    """A read-only property: the median (``which`` 0) or p90 (1) of ``self.<values_attr>``,
    ``None`` when it is empty (see :func:`median_p90`)."""
    doc = f"{('Median', '90th-percentile')[which]} {what}, s (``None`` if there is none)."
    return property(lambda self: median_p90(getattr(self, values_attr))[which], doc=doc)



@dataclass(frozen=True)
class SpeechEnd:
    """How the engine handled one scoreable end of reference speech.

    Attributes
    ----------
    true_end_s : float
        End of the reference speech (all speakers merged), s of audio.
    gap_s : float
        Silence that follows it in the reference (to the next speech, or to the clip end).
    decision_end_s : float or None
        Decision time of the predicted END that closes this speech (``None`` when ``open`` or
        ``undetected``).
    status : {"closed", "bridged", "open", "undetected"}
        ``closed``: the engine ended the speech before the next reference speech was over, and
        ``latency_s`` is defined; ``bridged``: the predicted speech ran on past the end of the
        next reference speech (the gap was not detected); ``open``: the predicted speech never
        ended before the clip did; ``undetected``: no predicted speech belongs to it.
    """

    true_end_s: float
    gap_s: float
    decision_end_s: float | None
    status: EndStatus

    @property
    def latency_s(self) -> float | None:
        """``decision_end_s - true_end_s`` when ``closed`` (may be negative), else ``None``."""
        if self.status != "closed" or self.decision_end_s is None:
            return None
        return self.decision_end_s - self.true_end_s

    def to_dict(self) -> dict[str, Any]:
        """Fields plus ``latency_s``."""
        return {
            "true_end_s": self.true_end_s,
            "gap_s": self.gap_s,
            "decision_end_s": self.decision_end_s,
            "status": self.status,
            "latency_s": self.latency_s,
        }


def speech_end_latency(
    pred_decision_segments: Sequence[PredSegment],
    ref: Labels | Sequence[Segment],
    duration_s: float | None = None,
    *,
    min_gap_s: float = MIN_END_GAP_S,
) -> list[SpeechEnd]:
    """Match reference speech ends to the engine's END decisions.

    Each scoreable reference end gets a status and, when the engine closed the speech in
    time, a latency; the matching rule is in the module docstring
    (:mod:`turnengine.tools.eval.latency`).

    Parameters
    ----------
    pred_decision_segments : sequence of (float, float or None)
        Predicted segments in decision time (``stream_time`` of ``user_state_changed``); use
        ``None`` as the end of a segment that the clip ended inside.
    ref : Labels or sequence of (float, float)
        Reference speech.
    duration_s : float, optional
        Clip duration; defaults to ``ref.duration_s`` for `Labels`. ``None`` with plain
        segments means the audio goes on for ever after the last reference end.
    min_gap_s : float, default MIN_END_GAP_S (0.8)
        Reference silence needed after an end for it to be scored. Keep it above the engine's
        ``min_silence_duration`` plus ~0.2 s.

    Returns
    -------
    list of SpeechEnd
        One per scoreable reference end, in time order. Latencies of the ``closed`` ones are
        the end-of-speech latencies of SPEC section 11; summarise them with `median_p90`.

    Raises
    ------
    ValueError
        If a segment is malformed.
    """
    if duration_s is None and isinstance(ref, Labels):
        duration_s = ref.duration_s
    clip_end = math.inf if duration_s is None else float(duration_s)
    refs = ref_union(ref)
    preds = merge(check_segments(pred_decision_segments, "pred_decision_segments"))
    starts = [a for a, _ in preds]
    used: set[int] = set()
    out: list[SpeechEnd] = []
    for k, (s_k, e_k) in enumerate(refs):
        n_k = refs[k + 1][0] if k + 1 < len(refs) else clip_end
        e_next = refs[k + 1][1] if k + 1 < len(refs) else None
        chosen = _closing_segment(preds, starts, used, s_k, e_k, n_k)
        status, decision = _end_status(preds, chosen, e_next)
        if status == "closed":
            assert chosen is not None
            used.add(chosen)
        gap = n_k - e_k
        if gap >= min_gap_s - EPS:
            out.append(SpeechEnd(e_k, gap, decision, status))
    return out


def _closing_segment(preds: list[tuple[float, float]], starts: list[float], used: set[int],
                     s_k: float, e_k: float, n_k: float) -> int | None:
    """Index of the predicted segment that closes the reference speech ``[s_k, e_k]`` (rules 1
    and 2 of the module docstring), or None."""
    # Rule 1: started by e_k, ends after s_k, not already used to close an earlier end.
    # Merged segments are disjoint, so ends grow with starts: stop at the first b <= s_k.
    for j in range(bisect_right(starts, e_k) - 1, -1, -1):
        if preds[j][1] <= s_k:
            break
        if j not in used:
            return j
    # Rule 2: first segment starting inside the gap.
    j = bisect_right(starts, e_k)
    if j < len(preds) and preds[j][0] < n_k:
        return j
    return None


def _end_status(preds: list[tuple[float, float]], chosen: int | None,
                e_next: float | None) -> tuple[EndStatus, float | None]:
    """Status and decision time of a reference end closed by segment ``chosen``."""
    if chosen is None:
        return "undetected", None
    b = preds[chosen][1]
    if math.isinf(b):
        return "open", None
    if e_next is not None and b >= e_next:
        return "bridged", b
    return "closed", b
