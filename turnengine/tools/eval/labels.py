"""Timing labels of a clip (SPEC 11 label files) and the reference speech they give."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .segments import EPS, Segment, check_segments, merge, number

__all__ = [
    "SCOREABLE_FINAL_TAIL_S",
    "SCOREABLE_GAP_S",
    "TURN_KINDS",
    "LabelSegment",
    "Labels",
    "TurnEnd",
    "load_labels",
    "ref_items",
    "ref_union",
]

SCOREABLE_GAP_S = 0.2
"""A handover turn end is scoreable by silence only when its gap is at least this long."""

SCOREABLE_FINAL_TAIL_S = 0.5
"""A final turn end is scoreable only when at least this much audio follows it."""

TURN_KINDS = ("handover", "final", "final_truncated")
"""Kinds of a labelled turn end."""


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
            return duration_s - self.t >= SCOREABLE_FINAL_TAIL_S - EPS
        return self.gap_s >= SCOREABLE_GAP_S - EPS


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
    hold_spans : tuple of LabelSegment or None
        eot-bench hold spans (silences inside the user turn), when the file has the optional
        ``hold_spans`` key (``shared/audio/turns``); ``None`` when it has not.
    eot_span : LabelSegment or None
        eot-bench eot span (true end of the turn to the end of the sample), when the file has
        the optional ``eot_span`` key; ``None`` when it has not.
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
    hold_spans: tuple[LabelSegment, ...] | None = None
    eot_span: LabelSegment | None = None
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
            ``sample_rate``, and the eot-bench keys ``hold_spans`` (list of
            ``{start_s, end_s}``) and ``eot_span`` (one ``{start_s, end_s}`` or null). Other keys
            are ignored.
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
        _check_keys(data, source)
        duration_s = number(data["duration_s"], f"{source}: 'duration_s'")
        if duration_s <= 0:
            raise ValueError(f"{source}: 'duration_s' must be > 0, got {duration_s}")
        segments = _label_segments(data["segments"], source, "segments")
        pauses = _label_segments(data["intra_turn_pauses"], source, "intra_turn_pauses")
        backchannels = _label_segments(data.get("backchannels", []), source, "backchannels")
        holds, eot = _eotbench_keys(data, source)
        details = _turn_end_details(data["turn_end_details"], source)
        turn_ends = _turn_ends(data["turn_ends"], details, source)
        clip = data.get("clip")
        if not isinstance(clip, str) or not clip:
            clip = Path(source).stem if source != "<dict>" else "clip"
        rate = data.get("sample_rate")
        return cls(clip=clip, duration_s=duration_s, segments=segments, turn_ends=turn_ends,
                   turn_end_details=details, intra_turn_pauses=pauses, backchannels=backchannels,
                   hold_spans=holds, eot_span=eot,
                   sample_rate=(int(rate) if isinstance(rate, int) and not isinstance(rate, bool)
                                else None),
                   source=source)

    def speech_segments(self) -> list[Segment]:
        """Reference speech of all speakers merged into one track.

        Returns
        -------
        list of (float, float)
            Union of ``segments``, sorted, overlapping or touching segments merged. A
            single-channel engine hears every speaker, so this is what it should detect.
        """
        return merge([(s.start_s, s.end_s) for s in self.segments])

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
    except RecursionError:
        raise ValueError(f"{p}: not a label file (JSON nested too deeply)") from None
    return Labels.from_dict(data, source=str(p))



def _check_keys(data: Any, source: str) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{source}: expected a JSON object at the top level, got {type(data).__name__}"
        )
    for key in ("duration_s", "segments", "turn_ends", "turn_end_details", "intra_turn_pauses"):
        if key not in data:
            raise ValueError(f"{source}: missing key {key!r}")


def _turn_ends(raw: Any, details: tuple[TurnEnd, ...], source: str) -> tuple[float, ...]:
    """``turn_ends``, checked against the ``t`` of each of ``turn_end_details``."""
    if not isinstance(raw, list):
        raise ValueError(f"{source}: 'turn_ends' must be a list, got {type(raw).__name__}")
    turn_ends = tuple(number(v, f"{source}: 'turn_ends[{i}]'") for i, v in enumerate(raw))
    if len(turn_ends) != len(details) or any(
        abs(a - d.t) > 1e-6 for a, d in zip(turn_ends, details, strict=True)
    ):
        raise ValueError(
            f"{source}: 'turn_ends' {list(turn_ends)} does not match the 't' values of "
            f"'turn_end_details' {[d.t for d in details]}"
        )
    return turn_ends


def _objects(raw: Any, source: str, key: str, required: tuple[str, ...],
             expected: str) -> list[tuple[str, Mapping[str, Any]]]:
    """``(where, item)`` for each object of the list ``raw`` (``key`` of a label file), checked
    to hold every ``required`` key."""
    if not isinstance(raw, list):
        raise ValueError(f"{source}: {key!r} must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        where = f"{source}: '{key}[{i}]'"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected {expected}, got {item!r}")
        for k in required:
            if k not in item:
                raise ValueError(f"{where}: missing key {k!r}")
        out.append((where, item))
    return out


def _label_segments(raw: Any, source: str, key: str) -> tuple[LabelSegment, ...]:
    out = []
    for where, item in _objects(raw, source, key, ("start_s", "end_s"),
                                "an object with start_s/end_s"):
        start = number(item["start_s"], f"{where}.start_s")
        end = number(item["end_s"], f"{where}.end_s")
        if end < start:
            raise ValueError(f"{where}: end_s {end} is before start_s {start}")
        speaker = item.get("speaker")
        out.append(LabelSegment(start, end, str(speaker) if speaker is not None else None))
    return tuple(out)


def _eotbench_keys(data: Mapping[str, Any],
                   source: str) -> tuple[tuple[LabelSegment, ...] | None, LabelSegment | None]:
    """The optional ``hold_spans`` and ``eot_span`` of a label file (None when absent)."""
    holds = data.get("hold_spans")
    eot = data.get("eot_span")
    if eot is not None and not isinstance(eot, Mapping):
        raise ValueError(f"{source}: 'eot_span' must be an object with start_s/end_s, got {eot!r}")
    return (None if holds is None else _label_segments(holds, source, "hold_spans"),
            None if eot is None else _label_segments([eot], source, "eot_span")[0])


def _turn_end_details(raw: Any, source: str) -> tuple[TurnEnd, ...]:
    out = []
    for where, item in _objects(raw, source, "turn_end_details",
                                ("t", "next_start_s", "gap_s", "kind"), "an object"):
        kind = item["kind"]
        if kind not in TURN_KINDS:
            raise ValueError(f"{where}.kind: expected one of {TURN_KINDS}, got {kind!r}")
        nxt = item["next_start_s"]
        speaker = item.get("speaker")
        next_speaker = item.get("next_speaker")
        out.append(
            TurnEnd(
                t=number(item["t"], f"{where}.t"),
                speaker=str(speaker) if speaker is not None else None,
                next_speaker=str(next_speaker) if next_speaker is not None else None,
                next_start_s=None if nxt is None else number(nxt, f"{where}.next_start_s"),
                gap_s=number(item["gap_s"], f"{where}.gap_s"),
                kind=kind,
            )
        )
    return tuple(out)



def ref_union(ref: Labels | Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
    if isinstance(ref, Labels):
        return ref.speech_segments()
    return merge(check_segments(ref, "ref"))


def ref_items(ref: Labels | Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
    if isinstance(ref, Labels):
        return sorted((s.start_s, s.end_s) for s in ref.segments)
    return sorted(check_segments(ref, "ref"))


