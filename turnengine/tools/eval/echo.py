"""Echo-aware barge-in: the labels of an echo set and the per-clip rule of its metric.

The metric is the one of ``../shared/audio/echo/README.md`` (section "Scoring"); SPEC 11 names
it.  Only decision times (``stream_time``) count.  Each ``agent_interrupted``, in time order, is

* a **hit** if it comes 0-:data:`HIT_WINDOW_S` s after a barge-in onset not yet matched (the
  earliest such onset is matched; latency = interruption - onset);
* else a **backchannel interruption** if it comes 0-:data:`BACKCHANNEL_WINDOW_S` s after a
  backchannel onset;
* else **false** if no user speech onset lies in the :data:`FALSE_WINDOW_S` s before it (of
  those, the ones inside labelled user speech are counted apart: late reactions);
* else **near onset**: after a user speech onset that is neither an unmatched barge-in nor a
  backchannel (a later piece of a barge-in, a second interruption); neither hit nor false.

A barge-in is **pre-empted** when, at its onset, the engine had already stopped the agent
(agent state not ``speaking``) after an interruption inside the same agent utterance: its own
echo cut it before the user spoke.

Pure Python, no engine import (like every scorer of this package); :mod:`.echo_runner` replays
the clips and :mod:`.echo_report` pools and prints the scores.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .segments import EPS, Segment, check_segments, number

__all__ = [
    "BACKCHANNEL_WINDOW_S",
    "FALSE_WINDOW_S",
    "HIT_WINDOW_S",
    "EchoClipScore",
    "EchoLabels",
    "is_echo_labels",
    "load_echo_labels",
    "score_echo_clip",
]

HIT_WINDOW_S = 1.5
"""An interruption up to this long after an unmatched barge-in onset is a hit (README)."""

BACKCHANNEL_WINDOW_S = 1.0
"""An interruption up to this long after a backchannel onset is a backchannel interruption."""

FALSE_WINDOW_S = 1.0
"""An interruption with no user speech onset in this many seconds before it is false."""

ECHO_KEYS = ("agent_speech", "barge_ins", "scenario")
"""Keys that mark a label file as one of an echo set."""


def is_echo_labels(data: Mapping[str, Any]) -> bool:
    """Whether a decoded label file belongs to an echo set (it has every key of `ECHO_KEYS`)."""
    return all(key in data for key in ECHO_KEYS)


@dataclass(frozen=True)
class EchoLabels:
    """The labels of one echo-set sample that the metric needs.

    Attributes
    ----------
    clip : str
        Sample name.
    echo_to_user_db : float or None
        Echo level relative to the user (dB), the group of the per-level table.
    agent_speech : tuple of (float, float)
        Agent utterances as played, s of audio.
    barge_ins : tuple of (float, int)
        ``(t_s, agent_index)``: first user speech frame of each barge-in and the utterance it
        interrupts (``-1`` when the file does not say).
    backchannels : tuple of float
        Backchannel onsets, s of audio.
    user_speech : tuple of (float, float)
        Labelled user speech (``segments`` and ``user_segments``), s of audio.
    scenario : dict
        The ``scenario`` object (agent speech for the replay).
    """

    clip: str
    echo_to_user_db: float | None
    agent_speech: tuple[Segment, ...]
    barge_ins: tuple[tuple[float, int], ...]
    backchannels: tuple[float, ...]
    user_speech: tuple[Segment, ...]
    scenario: dict[str, Any] = field(default_factory=dict)

    @property
    def agent_minutes(self) -> float:
        """Minutes of agent speech (sum of ``agent_speech``)."""
        return sum(e - s for s, e in self.agent_speech) / 60.0

    def onsets(self) -> list[float]:
        """Every user speech onset: segment starts, barge-ins and backchannels, sorted."""
        out = {s for s, _ in self.user_speech}
        out.update(t for t, _ in self.barge_ins)
        out.update(self.backchannels)
        return sorted(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> EchoLabels:
        """Build from a decoded ``NAME.json`` of an echo set.

        Raises
        ------
        ValueError
            A key of `ECHO_KEYS` is missing, or a time is not a finite number, or an interval
            ends before it starts; the message names ``source`` and the key.
        """
        missing = [k for k in ECHO_KEYS if k not in data]
        if missing:
            raise ValueError(f"{source}: not an echo-set label file, missing {missing}")
        agent = check_segments(_pairs(data, "agent_speech", source), f"{source}: agent_speech")
        speech = check_segments(_pairs(data, "segments", source)
                                + _pairs(data, "user_segments", source),
                                f"{source}: segments")
        barge = tuple((number(_get(b, "t_s", source), f"{source}: barge_ins t_s"),
                       int(b.get("agent_index", -1))) for b in _items(data, "barge_ins", source))
        bc_items = _items(data, "backchannel_details", source) or _items(data, "backchannels",
                                                                         source)
        bcs = tuple(number(_get(b, "start_s", source), f"{source}: backchannels start_s")
                    for b in bc_items)
        level = data.get("echo_to_user_db")
        clip = data.get("clip")
        scenario = data["scenario"]
        if not isinstance(scenario, dict):
            raise ValueError(f"{source}: 'scenario' must be an object")
        return cls(clip=clip if isinstance(clip, str) and clip else Path(source).stem,
                   echo_to_user_db=None if level is None else number(level, f"{source}: "
                                                                       "echo_to_user_db"),
                   agent_speech=tuple(sorted(agent)), barge_ins=tuple(sorted(barge)),
                   backchannels=tuple(sorted(bcs)), user_speech=tuple(sorted(set(speech))),
                   scenario=scenario)


def _items(data: Mapping[str, Any], key: str, source: str) -> list[Mapping[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise ValueError(f"{source}: {key!r} must be a list of objects")
    return items


def _get(item: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in item:
        raise ValueError(f"{source}: an item lacks {key!r}")
    return item[key]


def _pairs(data: Mapping[str, Any], key: str, source: str) -> list[tuple[Any, Any]]:
    return [(_get(i, "start_s", source), _get(i, "end_s", source))
            for i in _items(data, key, source)]


def load_echo_labels(path: str | Path) -> EchoLabels:
    """Read an echo-set ``NAME.json`` (see `EchoLabels.from_dict`; ``OSError`` if unreadable,
    ``ValueError`` if not JSON or not an echo-set file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return EchoLabels.from_dict(data, str(path))


@dataclass(frozen=True)
class EchoClipScore:
    """The metric on one sample (counts, so that they pool by summing).

    Attributes
    ----------
    clip : str
    echo_to_user_db : float or None
    agent_minutes : float
        Minutes of labelled agent speech.
    n_agent_utterances : int
    n_utterances_cut : int
        Agent utterances with at least one false interruption inside them.
    n_interruptions : int
        Every ``agent_interrupted``.
    n_barge_ins, n_backchannels : int
        Labelled barge-ins and backchannels.
    hit_latencies_s : tuple of float
        One per hit (interruption - barge-in onset), in onset order.
    n_backchannel_interruptions : int
    n_false : int
        False interruptions.
    n_false_in_user_speech : int
        Of those, the ones inside labelled user speech (late reactions).
    n_near_onset : int
        Interruptions after a user onset that are neither hits nor backchannel ones.
    n_preempted : int
        Barge-ins whose agent utterance was already stopped by an earlier interruption.
    """

    clip: str
    echo_to_user_db: float | None
    agent_minutes: float
    n_agent_utterances: int
    n_utterances_cut: int
    n_interruptions: int
    n_barge_ins: int
    n_backchannels: int
    hit_latencies_s: tuple[float, ...]
    n_backchannel_interruptions: int
    n_false: int
    n_false_in_user_speech: int
    n_near_onset: int
    n_preempted: int

    @property
    def n_hits(self) -> int:
        return len(self.hit_latencies_s)

    @property
    def median_latency_s(self) -> float | None:
        return statistics.median(self.hit_latencies_s) if self.hit_latencies_s else None

    def to_dict(self) -> dict[str, Any]:
        """Every field plus ``n_hits``, ``recall``, ``false_per_agent_minute`` and
        ``median_latency_s``."""
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                "hit_latencies_s": list(self.hit_latencies_s), "n_hits": self.n_hits,
                "recall": self.n_hits / self.n_barge_ins if self.n_barge_ins else None,
                "false_per_agent_minute": (self.n_false / self.agent_minutes
                                           if self.agent_minutes > 0 else None),
                "median_latency_s": self.median_latency_s}


def _inside(t: float, spans: Sequence[Segment]) -> bool:
    return any(s - EPS <= t <= e + EPS for s, e in spans)


def _classify(labels: EchoLabels, interruptions: Sequence[float]
              ) -> tuple[dict[int, float], list[float], int, int]:
    """``({barge-in index: latency}, false times, backchannel count, near-onset count)``."""
    hits: dict[int, float] = {}
    false: list[float] = []
    n_bc = n_near = 0
    onsets = labels.onsets()
    for t in sorted(interruptions):
        match = next((i for i, (onset, _) in enumerate(labels.barge_ins)
                      if i not in hits and -EPS <= t - onset <= HIT_WINDOW_S + EPS), None)
        if match is not None:
            hits[match] = t - labels.barge_ins[match][0]
        elif any(-EPS <= t - b <= BACKCHANNEL_WINDOW_S + EPS for b in labels.backchannels):
            n_bc += 1
        elif not any(-EPS <= t - o <= FALSE_WINDOW_S + EPS for o in onsets):
            false.append(t)
        else:
            n_near += 1
    return hits, false, n_bc, n_near


def _speaking_at(t: float, agent_speaking: Sequence[tuple[float, float | None]]) -> bool:
    return any(s <= t and (e is None or t < e) for s, e in agent_speaking)


def _preempted(labels: EchoLabels, interruptions: Sequence[float],
               agent_speaking: Sequence[tuple[float, float | None]]) -> int:
    n = 0
    for onset, index in labels.barge_ins:
        start = (labels.agent_speech[index][0] if 0 <= index < len(labels.agent_speech)
                 else max((s for s, _ in labels.agent_speech if s <= onset), default=0.0))
        cut = any(start - EPS <= t < onset for t in interruptions)
        if cut and not _speaking_at(onset, agent_speaking):
            n += 1
    return n


def score_echo_clip(labels: EchoLabels, interruptions: Sequence[float],
                    agent_speaking: Sequence[tuple[float, float | None]]) -> EchoClipScore:
    """Score one sample by the echo set's metric (module docstring).

    Parameters
    ----------
    labels : EchoLabels
    interruptions : sequence of float
        ``stream_time`` of every ``agent_interrupted``, s of audio.
    agent_speaking : sequence of (float, float or None)
        When the engine held the agent ``speaking`` (``stream_time`` of the
        ``agent_state_changed`` events into and out of it; ``None``: still speaking at the end).

    Returns
    -------
    EchoClipScore
    """
    times = [number(t, f"interruptions[{i}]") for i, t in enumerate(interruptions)]
    hits, false, n_bc, n_near = _classify(labels, times)
    cut = sum(1 for s, e in labels.agent_speech if any(s - EPS <= t <= e + EPS for t in false))
    return EchoClipScore(
        clip=labels.clip, echo_to_user_db=labels.echo_to_user_db,
        agent_minutes=labels.agent_minutes, n_agent_utterances=len(labels.agent_speech),
        n_utterances_cut=cut, n_interruptions=len(times), n_barge_ins=len(labels.barge_ins),
        n_backchannels=len(labels.backchannels),
        hit_latencies_s=tuple(hits[i] for i in sorted(hits)),
        n_backchannel_interruptions=n_bc, n_false=len(false),
        n_false_in_user_speech=sum(1 for t in false if _inside(t, labels.user_speech)),
        n_near_onset=n_near, n_preempted=_preempted(labels, times, agent_speaking))
