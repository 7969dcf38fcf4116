"""Score engine output against timing labels (SPEC section 11).

Pure Python + numpy, no engine import: the scorer receives plain numbers (speech segments,
turn-completion times) so that it can judge any engine, including peers such as a bare silero
``VADIterator`` or webrtcvad run through the same label files.

Inputs per clip
---------------
``speech_segments``
    ``(start_s, end_s)`` pairs of seconds of audio, as the engine decided them. Two flavours are
    scored separately:

    * back-dated: the ``audio_time`` of ``user_state_changed`` (when speech really started and
      stopped, per the engine); scored by 10 ms frames, false starts and missed segments;
    * decision-time: the ``stream_time`` of the same events (when the engine decided); scored by
      10 ms frames and by end-of-speech latency.

    A segment whose END never came (the clip ended while the user was "speaking") is passed with
    ``end_s=None``: it counts as speech up to the end of the clip for frame scores and as "open"
    (no decision) for latency.
``turn_completions``
    ``stream_time`` of every ``user_turn_completed`` event (s of audio).

Latency is always decision time minus true time, never back-dated time minus true time
(SPEC section 11). Conventions that the SPEC leaves open are written in each function's
docstring; the module constants below hold their defaults.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "CUTOFF_TAIL_S",
    "FRAME_S",
    "MAX_TURN_WINDOW_S",
    "MIN_END_GAP_S",
    "SCOREABLE_FINAL_TAIL_S",
    "SCOREABLE_GAP_S",
    "ClipScore",
    "EngineOutput",
    "FrameScores",
    "LabelSegment",
    "Labels",
    "PooledScore",
    "SpeechEnd",
    "TurnEnd",
    "TurnMatch",
    "TurnScores",
    "false_starts",
    "format_table",
    "frame_scores",
    "load_labels",
    "median_p90",
    "missed_segments",
    "pool",
    "score_clip",
    "segments_from_events",
    "speech_end_latency",
    "turn_scores",
]

Segment = tuple[float, float]
"""A closed speech segment ``(start_s, end_s)`` in seconds of audio."""

PredSegment = tuple[float, float | None]
"""A predicted segment; ``end_s`` is ``None`` when no END event came before the clip ended."""

FRAME_S = 0.01
"""Frame length for frame scores (10 ms, SPEC section 11)."""

SCOREABLE_GAP_S = 0.2
"""A handover turn end is scoreable by silence only when its gap is at least this long."""

SCOREABLE_FINAL_TAIL_S = 0.5
"""A final turn end is scoreable only when at least this much audio follows it."""

MIN_END_GAP_S = 0.8
"""Default silence that must follow a reference speech end for its latency to be scored.

It has to exceed the engine's ``min_silence_duration`` (0.55 s by default) with some margin,
otherwise a correct engine bridges the gap and never decides that end. 0.8 s is the shortest
between-turn gap of the composed clips; their in-turn pauses are 0.2-0.7 s.
"""

MAX_TURN_WINDOW_S = 4.0
"""How long after a final turn end (no next speaker) a completion still counts for it.

Covers ``max_endpointing_delay`` (3.0 s) plus the VAD's end-of-speech decision lag.
"""

CUTOFF_TAIL_S = 0.25
"""How long after an intra-turn pause ends a completion still counts as cutting the user off.

The engine only cancels a pending turn decision once it has *detected* the resumed speech:
``min_speech_duration`` (0.05 s) plus a 32 ms window plus smoothing, about 0.1-0.2 s. A commit
inside that blind spot was caused by the pause, so it is a false cut-off, not a stray event.
"""

_EPS = 1e-9
_TURN_KINDS = ("handover", "final", "final_truncated")

EndStatus = Literal["closed", "bridged", "open", "undetected"]


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelSegment:
    """One labelled interval (speech segment, intra-turn pause or backchannel).

    Attributes
    ----------
    start_s, end_s : float
        Interval in seconds of audio, ``start_s <= end_s``.
    speaker : str or None
        Speaker id from the label file.
    """

    start_s: float
    end_s: float
    speaker: str | None = None


@dataclass(frozen=True)
class TurnEnd:
    """One labelled turn end (an item of ``turn_end_details``).

    Attributes
    ----------
    t : float
        True end of the turn (end of the speaker's last speech), s of audio.
    speaker, next_speaker : str or None
        Who ended the turn and who speaks next (``None`` after the final turn).
    next_start_s : float or None
        When the next speaker starts; ``None`` after the final turn.
    gap_s : float
        Silence between ``t`` and ``next_start_s`` (negative = overlap); for the final turn, the
        audio left after ``t``.
    kind : {"handover", "final", "final_truncated"}
        ``final_truncated`` means the clip ends too soon after the speech to judge the turn.
    """

    t: float
    speaker: str | None
    next_speaker: str | None
    next_start_s: float | None
    gap_s: float
    kind: str

    def is_scoreable(self, duration_s: float) -> bool:
        """Whether silence-based turn detection can be judged at this turn end.

        Parameters
        ----------
        duration_s : float
            Clip duration in seconds.

        Returns
        -------
        bool
            ``False`` for ``final_truncated``; for ``final``, whether at least
            ``SCOREABLE_FINAL_TAIL_S`` (0.5 s) of audio follows ``t``; for a handover, whether
            ``gap_s >= SCOREABLE_GAP_S`` (0.2 s). Source: the label set's README.
        """
        if self.kind == "final_truncated":
            return False
        if self.kind == "final" or self.next_start_s is None:
            return duration_s - self.t >= SCOREABLE_FINAL_TAIL_S - _EPS
        return self.gap_s >= SCOREABLE_GAP_S - _EPS


@dataclass(frozen=True)
class Labels:
    """Timing labels of one clip, as read by :func:`load_labels`.

    Attributes
    ----------
    clip : str
        Clip name (the file's ``clip`` key, else the file stem).
    duration_s : float
        Clip duration in seconds.
    segments : tuple of LabelSegment
        Speech segments of every speaker (gaps under 0.2 s bridged per speaker). They may
        overlap when two speakers talk at once.
    turn_ends : tuple of float
        True turn ends, s of audio (the ``t`` of each ``turn_end_details`` item).
    turn_end_details : tuple of TurnEnd
        One per turn end, same order as ``turn_ends``.
    intra_turn_pauses : tuple of LabelSegment
        Pauses of 0.2 s or more inside one speaker's turn.
    backchannels : tuple of LabelSegment
        Short listener responses that do not take the floor (optional key; empty if absent).
    sample_rate : int or None
        Sample rate of the WAV beside the labels, if the file says.
    source : str
        Where the labels came from (a file path, or ``"<dict>"``), for error messages.
    """

    clip: str
    duration_s: float
    segments: tuple[LabelSegment, ...]
    turn_ends: tuple[float, ...]
    turn_end_details: tuple[TurnEnd, ...]
    intra_turn_pauses: tuple[LabelSegment, ...]
    backchannels: tuple[LabelSegment, ...] = ()
    sample_rate: int | None = None
    source: str = "<dict>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Labels:
        """Build labels from the decoded JSON object of a label file.

        Parameters
        ----------
        data : Mapping
            Decoded label file. Required keys: ``duration_s``, ``segments``, ``turn_ends``,
            ``turn_end_details``, ``intra_turn_pauses``; optional: ``backchannels``, ``clip``,
            ``sample_rate``. Other keys are ignored.
        source : str, default "<dict>"
            Name used in error messages (the file path when called by :func:`load_labels`).

        Returns
        -------
        Labels

        Raises
        ------
        ValueError
            If a required key is missing, a value has the wrong type or is not finite, an
            interval ends before it starts, a turn-end ``kind`` is unknown, or ``turn_ends``
            disagrees with ``turn_end_details``. The message names ``source`` and the key.
        """
        if not isinstance(data, Mapping):
            raise ValueError(
                f"{source}: expected a JSON object at the top level, got {type(data).__name__}"
            )
        for key in ("duration_s", "segments", "turn_ends", "turn_end_details", "intra_turn_pauses"):
            if key not in data:
                raise ValueError(f"{source}: missing key {key!r}")
        duration_s = _number(data["duration_s"], f"{source}: 'duration_s'")
        if duration_s <= 0:
            raise ValueError(f"{source}: 'duration_s' must be > 0, got {duration_s}")
        segments = _label_segments(data["segments"], source, "segments")
        pauses = _label_segments(data["intra_turn_pauses"], source, "intra_turn_pauses")
        backchannels = _label_segments(data.get("backchannels", []), source, "backchannels")
        details = _turn_end_details(data["turn_end_details"], source)
        turn_ends_raw = data["turn_ends"]
        if not isinstance(turn_ends_raw, list):
            raise ValueError(
                f"{source}: 'turn_ends' must be a list, got {type(turn_ends_raw).__name__}"
            )
        turn_ends = tuple(
            _number(v, f"{source}: 'turn_ends[{i}]'") for i, v in enumerate(turn_ends_raw)
        )
        if len(turn_ends) != len(details) or any(
            abs(a - d.t) > 1e-6 for a, d in zip(turn_ends, details, strict=True)
        ):
            raise ValueError(
                f"{source}: 'turn_ends' {list(turn_ends)} does not match the 't' values of "
                f"'turn_end_details' {[d.t for d in details]}"
            )
        clip = data.get("clip")
        if not isinstance(clip, str) or not clip:
            clip = Path(source).stem if source != "<dict>" else "clip"
        rate = data.get("sample_rate")
        return cls(
            clip=clip,
            duration_s=duration_s,
            segments=segments,
            turn_ends=turn_ends,
            turn_end_details=details,
            intra_turn_pauses=pauses,
            backchannels=backchannels,
            sample_rate=int(rate) if isinstance(rate, int) and not isinstance(rate, bool) else None,
            source=source,
        )

    def speech_segments(self) -> list[Segment]:
        """Reference speech of all speakers merged into one track.

        Returns
        -------
        list of (float, float)
            Union of ``segments``, sorted, overlapping or touching segments merged. A
            single-channel engine hears every speaker, so this is what it should detect.
        """
        return _merge([(s.start_s, s.end_s) for s in self.segments])

    def scoreable_turn_ends(self) -> list[TurnEnd]:
        """Turn ends for which silence-based turn detection is judged (see `TurnEnd.is_scoreable`).

        Returns
        -------
        list of TurnEnd
        """
        return [d for d in self.turn_end_details if d.is_scoreable(self.duration_s)]


def load_labels(path: str | Path) -> Labels:
    """Read a JSON label file (format: ``shared/audio/README.md``).

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.json`` file beside a clip.

    Returns
    -------
    Labels

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    ValueError
        If the file is not valid JSON or lacks a required key or has a bad value; the message
        names the file and the key (see `Labels.from_dict`).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"label file not found: {p}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a valid JSON label file ({exc})") from exc
    return Labels.from_dict(data, source=str(p))


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return out


def _label_segments(raw: Any, source: str, key: str) -> tuple[LabelSegment, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{source}: {key!r} must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        where = f"{source}: '{key}[{i}]'"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected an object with start_s/end_s, got {item!r}")
        for k in ("start_s", "end_s"):
            if k not in item:
                raise ValueError(f"{where}: missing key {k!r}")
        start = _number(item["start_s"], f"{where}.start_s")
        end = _number(item["end_s"], f"{where}.end_s")
        if end < start:
            raise ValueError(f"{where}: end_s {end} is before start_s {start}")
        speaker = item.get("speaker")
        out.append(LabelSegment(start, end, str(speaker) if speaker is not None else None))
    return tuple(out)


def _turn_end_details(raw: Any, source: str) -> tuple[TurnEnd, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{source}: 'turn_end_details' must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        where = f"{source}: 'turn_end_details[{i}]'"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected an object, got {item!r}")
        for k in ("t", "next_start_s", "gap_s", "kind"):
            if k not in item:
                raise ValueError(f"{where}: missing key {k!r}")
        kind = item["kind"]
        if kind not in _TURN_KINDS:
            raise ValueError(f"{where}.kind: expected one of {_TURN_KINDS}, got {kind!r}")
        nxt = item["next_start_s"]
        speaker = item.get("speaker")
        next_speaker = item.get("next_speaker")
        out.append(
            TurnEnd(
                t=_number(item["t"], f"{where}.t"),
                speaker=str(speaker) if speaker is not None else None,
                next_speaker=str(next_speaker) if next_speaker is not None else None,
                next_start_s=None if nxt is None else _number(nxt, f"{where}.next_start_s"),
                gap_s=_number(item["gap_s"], f"{where}.gap_s"),
                kind=kind,
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Segment helpers
# ---------------------------------------------------------------------------------------------


def _check_segments(segments: Iterable[Sequence[Any]], name: str) -> list[tuple[float, float]]:
    """Validate segments; open ends (``None``) become ``math.inf``."""
    out = []
    for i, seg in enumerate(segments):
        if len(seg) != 2:
            raise ValueError(f"{name}[{i}]: expected (start_s, end_s), got {seg!r}")
        start, end = seg
        start_f = _number(start, f"{name}[{i}] start_s")
        end_f = math.inf if end is None else _number(end, f"{name}[{i}] end_s")
        if end_f < start_f:
            raise ValueError(f"{name}[{i}]: end_s {end_f} is before start_s {start_f}")
        out.append((start_f, end_f))
    return out


def _merge(segments: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sort and merge overlapping or touching segments."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(segments):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _overlaps(a: float, b: float, s: float, e: float) -> bool:
    """Whether [a, b) and [s, e) share time (a zero-length [a, a] counts if a lies in [s, e))."""
    if a < b:
        return a < e and s < b
    return s <= a < e


def _ref_union(ref: Labels | Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
    if isinstance(ref, Labels):
        return ref.speech_segments()
    return _merge(_check_segments(ref, "ref"))


def _ref_items(ref: Labels | Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
    if isinstance(ref, Labels):
        return sorted((s.start_s, s.end_s) for s in ref.segments)
    return sorted(_check_segments(ref, "ref"))


def _out(seg: tuple[float, float]) -> PredSegment:
    return (seg[0], None if math.isinf(seg[1]) else seg[1])


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


def _latency_stat(values_attr: str, which: int, what: str) -> property:
    """A read-only property: the median (``which`` 0) or p90 (1) of ``self.<values_attr>``,
    ``None`` when it is empty (see :func:`median_p90`)."""
    doc = f"{('Median', '90th-percentile')[which]} {what}, s (``None`` if there is none)."
    return property(lambda self: median_p90(getattr(self, values_attr))[which], doc=doc)


# ---------------------------------------------------------------------------------------------
# Frame scores
# ---------------------------------------------------------------------------------------------


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
    p = _frame_mask(_check_segments(pred, "pred"), n, frame_s)
    r = _frame_mask(_ref_union(ref), n, frame_s)
    tp = int(np.count_nonzero(p & r))
    fp = int(np.count_nonzero(p & ~r))
    fn = int(np.count_nonzero(~p & r))
    return FrameScores(tp=tp, fp=fp, fn=fn, tn=n - tp - fp - fn)


# ---------------------------------------------------------------------------------------------
# End-of-speech latency, false starts, missed segments
# ---------------------------------------------------------------------------------------------


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
    time, a latency; the matching rule is in the Notes.

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

    Notes
    -----
    Matching rule. The reference is the union of all speakers' segments,
    ``R_k = [s_k, e_k]``, sorted; ``n_k`` is the start of ``R_(k+1)`` (for the last one, the
    clip end). The prediction is the decision-time segments ``P_j = [a_j, b_j]``
    (``a`` = START decided, ``b`` = END decided; ``b = +inf`` while still open), overlapping
    ones merged. The reference ends are visited in time order, each getting at most one
    *closing* segment:

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
    if duration_s is None and isinstance(ref, Labels):
        duration_s = ref.duration_s
    clip_end = math.inf if duration_s is None else float(duration_s)
    refs = _ref_union(ref)
    preds = _merge(_check_segments(pred_decision_segments, "pred_decision_segments"))
    starts = [a for a, _ in preds]
    used: set[int] = set()
    out: list[SpeechEnd] = []
    for k, (s_k, e_k) in enumerate(refs):
        n_k = refs[k + 1][0] if k + 1 < len(refs) else clip_end
        e_next = refs[k + 1][1] if k + 1 < len(refs) else None
        chosen: int | None = None
        # Rule 1: started by e_k, ends after s_k, not already used to close an earlier end.
        # Merged segments are disjoint, so ends grow with starts: stop at the first b <= s_k.
        for j in range(bisect_right(starts, e_k) - 1, -1, -1):
            if preds[j][1] <= s_k:
                break
            if j not in used:
                chosen = j
                break
        if chosen is None:
            # Rule 2: first segment starting inside the gap.
            j = bisect_right(starts, e_k)
            if j < len(preds) and preds[j][0] < n_k:
                chosen = j
        status: EndStatus
        decision: float | None
        if chosen is None:
            status, decision = "undetected", None
        else:
            b = preds[chosen][1]
            if math.isinf(b):
                status, decision = "open", None
            elif e_next is not None and b >= e_next:
                status, decision = "bridged", b
            else:
                status, decision = "closed", b
                used.add(chosen)
        gap = n_k - e_k
        if gap >= min_gap_s - _EPS:
            out.append(SpeechEnd(e_k, gap, decision, status))
    return out


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
    refs = [(s - collar_s, e + collar_s) for s, e in _ref_union(ref)]
    preds = _merge(_check_segments(pred, "pred"))
    return [_out(p) for p in preds if not any(_overlaps(p[0], p[1], s, e) for s, e in refs)]


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
    preds = _merge(_check_segments(pred, "pred"))
    return [(s, e) for s, e in _ref_items(ref) if not any(_overlaps(s, e, a, b) for a, b in preds)]


# ---------------------------------------------------------------------------------------------
# Turn scores
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnMatch:
    """One scoreable true turn end and the completion matched to it.

    Attributes
    ----------
    true_end_s : float
        Labelled turn end ``t``.
    window_end_s : float
        End of the matching window (``next_start_s``, or ``t + max_window_s`` for a final).
    completion_s : float or None
        Decision time of the matched ``user_turn_completed``; ``None`` = missed turn end.
    """

    true_end_s: float
    window_end_s: float
    completion_s: float | None

    @property
    def latency_s(self) -> float | None:
        """``completion_s - true_end_s``, or ``None`` when missed."""
        return None if self.completion_s is None else self.completion_s - self.true_end_s

    def to_dict(self) -> dict[str, Any]:
        """Fields plus ``latency_s``."""
        return {
            "true_end_s": self.true_end_s,
            "window_end_s": self.window_end_s,
            "completion_s": self.completion_s,
            "latency_s": self.latency_s,
        }


@dataclass(frozen=True)
class TurnScores:
    """Turn-taking scores of one clip (see `turn_scores` for the rules).

    Attributes
    ----------
    matches : tuple of TurnMatch
        One per scoreable turn end, in time order.
    false_cutoffs : tuple of float
        Completions (decision times) inside an intra-turn pause or its tail.
    extra_completions : tuple of float
        Completions that are neither matched, nor unscored, nor false cut-offs: a second
        completion for the same turn end, or one decided while the user was speaking.
    unscored_completions : tuple of float
        Completions matched to a turn end that is not scoreable (too short a gap, or a final
        with too little audio after it): neither credited nor blamed.
    """

    matches: tuple[TurnMatch, ...]
    false_cutoffs: tuple[float, ...]
    extra_completions: tuple[float, ...]
    unscored_completions: tuple[float, ...]

    @property
    def latencies_s(self) -> list[float]:
        """Latencies of the detected turn ends, in time order."""
        return [m.latency_s for m in self.matches if m.latency_s is not None]

    @property
    def n_turn_ends(self) -> int:
        """Scoreable turn ends."""
        return len(self.matches)

    @property
    def n_detected(self) -> int:
        """Scoreable turn ends with a completion in their window."""
        return len(self.latencies_s)

    @property
    def n_missed(self) -> int:
        """Scoreable turn ends without a completion in their window."""
        return self.n_turn_ends - self.n_detected

    latency_median_s = _latency_stat("latencies_s", 0, "turn latency")
    latency_p90_s = _latency_stat("latencies_s", 1, "turn latency")


def turn_scores(
    turn_completions: Sequence[float],
    labels: Labels,
    *,
    max_window_s: float = MAX_TURN_WINDOW_S,
    cutoff_tail_s: float = CUTOFF_TAIL_S,
    duration_s: float | None = None,
) -> TurnScores:
    """Score ``user_turn_completed`` decision times against labelled turn ends.

    Each completion is classified once, in this order:

    1. **matched** -- every turn end ``t`` (in time order) owns the window
       ``[t, next_start_s)``, or ``[t, t + max_window_s)`` when there is no next speaker. The
       first completion in it not yet taken is matched to it. For a scoreable turn end this
       gives the latency ``completion - t``; no completion in the window is a missed turn end.
       A completion matched to a non-scoreable turn end is *unscored*.
    2. **false cut-off** -- an unmatched completion ``c`` with
       ``pause.start_s <= c < pause.end_s + cutoff_tail_s`` for some intra-turn pause: the
       engine ended the turn while the user was pausing, or before it had noticed that the
       user had resumed (`CUTOFF_TAIL_S` explains the tail).
    3. **extra** -- everything else (a second completion after one turn end, a completion
       while the user speaks).

    Parameters
    ----------
    turn_completions : sequence of float
        Decision times (``stream_time``) of ``user_turn_completed``, s of audio, any order.
    labels : Labels
        Labels of the clip.
    max_window_s : float, default MAX_TURN_WINDOW_S (4.0)
        Window after a final turn end.
    cutoff_tail_s : float, default CUTOFF_TAIL_S (0.25)
        How far past an intra-turn pause's end a completion is still a cut-off; 0 keeps only
        completions strictly inside the pause.
    duration_s : float, optional
        Audio actually scored, for the final turn end's scoreability; defaults to
        ``labels.duration_s``.

    Returns
    -------
    TurnScores

    Raises
    ------
    ValueError
        If a completion time is not a finite number.
    """
    comps = sorted(_number(c, f"turn_completions[{i}]") for i, c in enumerate(turn_completions))
    dur = labels.duration_s if duration_s is None else float(duration_s)
    taken = [False] * len(comps)
    matches: list[TurnMatch] = []
    unscored: list[float] = []
    for d in sorted(labels.turn_end_details, key=lambda x: x.t):
        w_end = d.next_start_s if d.next_start_s is not None else d.t + max_window_s
        hit: int | None = None
        for i in range(bisect_left(comps, d.t), len(comps)):
            if comps[i] >= w_end:
                break
            if not taken[i]:
                hit = i
                break
        if hit is not None:
            taken[hit] = True
        if d.is_scoreable(dur):
            matches.append(TurnMatch(d.t, w_end, None if hit is None else comps[hit]))
        elif hit is not None:
            unscored.append(comps[hit])
    cutoffs: list[float] = []
    extra: list[float] = []
    for i, c in enumerate(comps):
        if taken[i]:
            continue
        if any(p.start_s <= c < p.end_s + cutoff_tail_s for p in labels.intra_turn_pauses):
            cutoffs.append(c)
        else:
            extra.append(c)
    return TurnScores(tuple(matches), tuple(cutoffs), tuple(extra), tuple(sorted(unscored)))


# ---------------------------------------------------------------------------------------------
# Clip and pooled scores
# ---------------------------------------------------------------------------------------------


def _summary(
    *,
    clip: str,
    duration_s: float,
    frames: FrameScores,
    decision_frames: FrameScores,
    ends: Sequence[SpeechEnd],
    n_ref_segments: int,
    n_pred_segments: int,
    n_false_starts: int,
    n_missed_segments: int,
    turn_latencies: Sequence[float],
    n_turn_ends: int,
    n_false_cutoffs: int,
    n_extra_completions: int,
    n_unscored_completions: int,
) -> dict[str, Any]:
    end_lat = [e.latency_s for e in ends if e.latency_s is not None]
    end_med, end_p90 = median_p90(end_lat)
    turn_med, turn_p90 = median_p90(turn_latencies)
    out: dict[str, Any] = {"clip": clip, "duration_s": duration_s}
    for prefix, fs in (("frame_", frames), ("decision_frame_", decision_frames)):
        for key, value in fs.to_dict().items():
            out[prefix + key] = value
    out.update(
        n_speech_ends=len(ends),
        n_ends_closed=sum(e.status == "closed" for e in ends),
        n_ends_bridged=sum(e.status == "bridged" for e in ends),
        n_ends_open=sum(e.status == "open" for e in ends),
        n_ends_undetected=sum(e.status == "undetected" for e in ends),
        end_latency_median_s=end_med,
        end_latency_p90_s=end_p90,
        n_ref_segments=n_ref_segments,
        n_pred_segments=n_pred_segments,
        n_false_starts=n_false_starts,
        n_missed_segments=n_missed_segments,
        n_turn_ends=n_turn_ends,
        n_turns_detected=len(turn_latencies),
        n_missed_turn_ends=n_turn_ends - len(turn_latencies),
        n_false_cutoffs=n_false_cutoffs,
        n_extra_completions=n_extra_completions,
        n_unscored_completions=n_unscored_completions,
        turn_latency_median_s=turn_med,
        turn_latency_p90_s=turn_p90,
        end_latencies_s=list(end_lat),
        turn_latencies_s=list(turn_latencies),
    )
    return out


class _EndLatencies:
    """End-of-speech latency summaries of anything holding ``speech_ends``."""

    speech_ends: tuple[SpeechEnd, ...]

    @property
    def end_latencies_s(self) -> list[float]:
        """Decision end-of-speech latencies of the ``closed`` speech ends."""
        return [e.latency_s for e in self.speech_ends if e.latency_s is not None]

    end_latency_median_s = _latency_stat("end_latencies_s", 0,
                                         "decision end-of-speech latency")
    end_latency_p90_s = _latency_stat("end_latencies_s", 1,
                                         "decision end-of-speech latency")


@dataclass(frozen=True)
class ClipScore(_EndLatencies):
    """All scores of one clip (built by `score_clip`).

    Attributes
    ----------
    clip : str
        Clip name.
    duration_s : float
        Clip duration scored, in seconds.
    frames : FrameScores
        10 ms frame scores of the back-dated segments.
    decision_frames : FrameScores
        10 ms frame scores of the decision-time segments.
    speech_ends : tuple of SpeechEnd
        Scoreable reference speech ends and how the engine's decision-time END met them.
    false_starts : tuple of (float, float or None)
        Back-dated predicted segments overlapping no reference speech.
    missed_segments : tuple of (float, float)
        Reference segments overlapping no back-dated predicted speech.
    n_ref_segments : int
        Labelled speech segments (all speakers).
    n_pred_segments : int
        Back-dated predicted segments after merging overlaps.
    turns : TurnScores
        Turn-completion scores.
    """

    clip: str
    duration_s: float
    frames: FrameScores
    decision_frames: FrameScores
    speech_ends: tuple[SpeechEnd, ...]
    false_starts: tuple[PredSegment, ...]
    missed_segments: tuple[Segment, ...]
    n_ref_segments: int
    n_pred_segments: int
    turns: TurnScores

    def to_dict(self) -> dict[str, Any]:
        """Flat summary (the keys `format_table` knows) plus per-event details.

        Returns
        -------
        dict
            JSON-serialisable: numbers, strings, ``None`` and lists only. Detail keys:
            ``speech_ends``, ``false_starts``, ``missed_segments``, ``turn_matches``,
            ``false_cutoffs``, ``extra_completions``, ``unscored_completions``.
        """
        out = _summary(
            clip=self.clip,
            duration_s=self.duration_s,
            frames=self.frames,
            decision_frames=self.decision_frames,
            ends=self.speech_ends,
            n_ref_segments=self.n_ref_segments,
            n_pred_segments=self.n_pred_segments,
            n_false_starts=len(self.false_starts),
            n_missed_segments=len(self.missed_segments),
            turn_latencies=self.turns.latencies_s,
            n_turn_ends=self.turns.n_turn_ends,
            n_false_cutoffs=len(self.turns.false_cutoffs),
            n_extra_completions=len(self.turns.extra_completions),
            n_unscored_completions=len(self.turns.unscored_completions),
        )
        out.update(
            speech_ends=[e.to_dict() for e in self.speech_ends],
            false_starts=[list(s) for s in self.false_starts],
            missed_segments=[list(s) for s in self.missed_segments],
            turn_matches=[m.to_dict() for m in self.turns.matches],
            false_cutoffs=list(self.turns.false_cutoffs),
            extra_completions=list(self.turns.extra_completions),
            unscored_completions=list(self.turns.unscored_completions),
        )
        return out


@dataclass(frozen=True)
class PooledScore(_EndLatencies):
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

    turn_latency_median_s = _latency_stat("turn_latencies_s", 0, "turn latency, all clips")
    turn_latency_p90_s = _latency_stat("turn_latencies_s", 1, "turn latency, all clips")

    def to_dict(self) -> dict[str, Any]:
        """Flat summary with the same keys as `ClipScore.to_dict`'s summary, plus ``n_clips``
        and ``clips``; ``clip`` reads ``"pooled (N clips)"``."""
        out = _summary(
            clip=f"pooled ({len(self.clips)} clip{'' if len(self.clips) == 1 else 's'})",
            duration_s=self.duration_s,
            frames=self.frames,
            decision_frames=self.decision_frames,
            ends=self.speech_ends,
            n_ref_segments=self.n_ref_segments,
            n_pred_segments=self.n_pred_segments,
            n_false_starts=self.n_false_starts,
            n_missed_segments=self.n_missed_segments,
            turn_latencies=self.turn_latencies_s,
            n_turn_ends=self.n_turn_ends,
            n_false_cutoffs=self.n_false_cutoffs,
            n_extra_completions=self.n_extra_completions,
            n_unscored_completions=self.n_unscored_completions,
        )
        out.update(n_clips=len(self.clips), clips=list(self.clips))
        return out


def score_clip(
    labels: Labels,
    speech_segments: Sequence[PredSegment],
    decision_segments: Sequence[PredSegment],
    turn_completions: Sequence[float],
    *,
    duration_s: float | None = None,
    clip: str | None = None,
    frame_s: float = FRAME_S,
    min_gap_s: float = MIN_END_GAP_S,
    max_turn_window_s: float = MAX_TURN_WINDOW_S,
    cutoff_tail_s: float = CUTOFF_TAIL_S,
) -> ClipScore:
    """Score one clip's engine output against its labels.

    Parameters
    ----------
    labels : Labels
        Labels of the clip.
    speech_segments : sequence of (float, float or None)
        Back-dated speech segments (``audio_time`` of ``user_state_changed``), s of audio.
    decision_segments : sequence of (float, float or None)
        The same segments in decision time (``stream_time``). ``None`` ends = still speaking
        when the clip ended.
    turn_completions : sequence of float
        ``stream_time`` of each ``user_turn_completed``.
    duration_s : float, optional
        Audio actually fed to the engine; defaults to ``labels.duration_s``.
    clip : str, optional
        Name to report; defaults to ``labels.clip``.
    frame_s : float, default 0.01
        Frame length for frame scores.
    min_gap_s : float, default MIN_END_GAP_S (0.8)
        See `speech_end_latency`.
    max_turn_window_s, cutoff_tail_s : float
        See `turn_scores`.

    Returns
    -------
    ClipScore
        Frame scores of both flavours; false starts and missed segments from the back-dated
        segments; end-of-speech latency from the decision-time segments; turn scores.

    Raises
    ------
    ValueError
        If a segment or completion is malformed, or ``duration_s`` is not > 0.
    """
    dur = labels.duration_s if duration_s is None else float(duration_s)
    return ClipScore(
        clip=labels.clip if clip is None else clip,
        duration_s=dur,
        frames=frame_scores(speech_segments, labels, dur, frame_s),
        decision_frames=frame_scores(decision_segments, labels, dur, frame_s),
        speech_ends=tuple(speech_end_latency(decision_segments, labels, dur, min_gap_s=min_gap_s)),
        false_starts=tuple(false_starts(speech_segments, labels)),
        missed_segments=tuple(missed_segments(speech_segments, labels)),
        n_ref_segments=len(labels.segments),
        n_pred_segments=len(_merge(_check_segments(speech_segments, "speech_segments"))),
        turns=turn_scores(
            turn_completions,
            labels,
            max_window_s=max_turn_window_s,
            cutoff_tail_s=cutoff_tail_s,
            duration_s=dur,
        ),
    )


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
        n_false_starts=sum(len(s.false_starts) for s in items),
        n_missed_segments=sum(len(s.missed_segments) for s in items),
        turn_latencies_s=tuple(x for s in items for x in s.turns.latencies_s),
        n_turn_ends=sum(s.turns.n_turn_ends for s in items),
        n_false_cutoffs=sum(len(s.turns.false_cutoffs) for s in items),
        n_extra_completions=sum(len(s.turns.extra_completions) for s in items),
        n_unscored_completions=sum(len(s.turns.unscored_completions) for s in items),
    )


# ---------------------------------------------------------------------------------------------
# Engine events -> scorer inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineOutput:
    """Scorer inputs extracted from an event stream by `segments_from_events`.

    Attributes
    ----------
    speech_segments : list of (float, float or None)
        Back-dated (``audio_time``) speaking intervals.
    decision_segments : list of (float, float or None)
        Decision-time (``stream_time``) speaking intervals.
    turn_completions : list of float
        ``stream_time`` of each ``user_turn_completed``.
    """

    speech_segments: list[PredSegment]
    decision_segments: list[PredSegment]
    turn_completions: list[float]


def _field(event: Any, name: str) -> Any:
    if isinstance(event, Mapping):
        return event.get(name)
    return getattr(event, name, None)


def _state(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def segments_from_events(events: Iterable[Any]) -> EngineOutput:
    """Turn engine events (or their JSON-line dicts) into scorer inputs.

    A user speaking interval opens on ``user_state_changed`` with ``new_state == "speaking"``
    and closes on the next ``user_state_changed`` whose ``old_state`` is ``"speaking"`` (to
    ``listening`` or ``away``). Its back-dated bounds are the events' ``audio_time`` and its
    decision bounds their ``stream_time`` (SPEC section 10). An interval still open after the
    last event gets the end ``None``. Other event types are ignored.

    Parameters
    ----------
    events : iterable of Mapping or object
        Events in emission order, as dicts (``to_dict()`` / a JSON line) or objects with the
        same attribute names; states may be strings or enums with string values.

    Returns
    -------
    EngineOutput

    Raises
    ------
    ValueError
        If a ``user_state_changed`` into or out of ``speaking`` lacks ``audio_time`` or
        ``stream_time``.
    """
    back: list[PredSegment] = []
    dec: list[PredSegment] = []
    turns: list[float] = []
    open_at: tuple[float, float] | None = None
    for i, ev in enumerate(events):
        kind = _field(ev, "type")
        if kind == "user_turn_completed":
            turns.append(_number(_field(ev, "stream_time"), f"events[{i}].stream_time"))
            continue
        if kind != "user_state_changed":
            continue
        old, new = _state(_field(ev, "old_state")), _state(_field(ev, "new_state"))
        if (new == "speaking") == (old == "speaking"):
            continue
        audio_t = _number(_field(ev, "audio_time"), f"events[{i}].audio_time")
        stream_t = _number(_field(ev, "stream_time"), f"events[{i}].stream_time")
        if new == "speaking":
            open_at = (audio_t, stream_t)
        elif open_at is not None:
            back.append((open_at[0], audio_t))
            dec.append((open_at[1], stream_t))
            open_at = None
    if open_at is not None:
        back.append((open_at[0], None))
        dec.append((open_at[1], None))
    return EngineOutput(back, dec, turns)


# ---------------------------------------------------------------------------------------------
# Markdown table
# ---------------------------------------------------------------------------------------------

DEFAULT_TABLE_COLUMNS: tuple[str, ...] = (
    "clip",
    "frame_f1",
    "decision_frame_f1",
    "end_latency_median_s",
    "end_latency_p90_s",
    "n_false_starts",
    "n_missed_segments",
    "turn_latency_median_s",
    "turn_latency_p90_s",
    "n_missed_turn_ends",
    "n_false_cutoffs",
)
"""Columns of `format_table` when none are given."""

_TITLES = {
    "clip": "clip",
    "duration_s": "duration (s)",
    "frame_precision": "precision",
    "frame_recall": "recall",
    "frame_f1": "F1 back-dated",
    "decision_frame_precision": "precision decision",
    "decision_frame_recall": "recall decision",
    "decision_frame_f1": "F1 decision",
    "end_latency_median_s": "end latency median (s)",
    "end_latency_p90_s": "end latency p90 (s)",
    "n_speech_ends": "speech ends",
    "n_ends_bridged": "ends bridged",
    "n_false_starts": "false starts",
    "n_missed_segments": "missed segments",
    "n_turn_ends": "turn ends",
    "turn_latency_median_s": "turn latency median (s)",
    "turn_latency_p90_s": "turn latency p90 (s)",
    "n_missed_turn_ends": "missed turn ends",
    "n_false_cutoffs": "false cut-offs",
    "n_extra_completions": "extra completions",
}


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return str(len(value))
    return str(value).replace("|", "\\|")


def format_table(
    rows: Sequence[ClipScore | PooledScore | Mapping[str, Any]],
    columns: Sequence[str] | None = None,
) -> str:
    """Render scores as a GitHub-flavoured markdown table (for docs and ``turnengine eval``).

    Parameters
    ----------
    rows : sequence of ClipScore, PooledScore or Mapping
        One table row each; score objects are rendered through their ``to_dict()``.
    columns : sequence of str, optional
        Keys to show, in order; default `DEFAULT_TABLE_COLUMNS`. Known keys get a readable
        title, others are titled by their key.

    Returns
    -------
    str
        Header, alignment row (first column left, the others right) and one line per row,
        newline-terminated. Floats have 3 decimals, ``None`` or a missing key is ``n/a``, a
        list shows its length.
    """
    cols = list(DEFAULT_TABLE_COLUMNS if columns is None else columns)
    if not cols:
        raise ValueError("format_table: expected at least one column")
    lines = [
        "| " + " | ".join(_TITLES.get(c, c) for c in cols) + " |",
        "|" + "|".join([" --- "] + [" ---: "] * (len(cols) - 1)) + "|",
    ]
    for row in rows:
        data = row.to_dict() if isinstance(row, (ClipScore, PooledScore)) else row
        lines.append("| " + " | ".join(_cell(data.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"
