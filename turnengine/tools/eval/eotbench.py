"""LiveKit's eot-bench protocol: hold and eot spans of a clip, turn commits scored against them.

eot-bench (github.com/livekit/eot-bench, Apache-2.0) judges an end-of-turn policy at the
silences a voice agent has to decide on.  Every silence inside a user turn is a **hold** span
(the agent must keep listening); the silence after the turn's last word is the **eot** span (the
agent should take the floor, soon).  A commit (``user_turn_completed``) inside a hold is a
**false cut-off**; on an eot span the **latency** is the first commit's time minus the true end
of speech, and a span without a commit counts its whole length.  Pooled over clips:
false cut-off rate = holds cut / holds, and the median, mean and p90 of the eot latencies.

Spans come from the label files (``shared/audio/README.md`` format, see :mod:`.labels`):

* hold spans: the optional ``hold_spans`` key if the file has it (``shared/audio/turns``), else
  ``intra_turn_pauses``; either way only those of ``MIN_HOLD_S``-``MAX_HOLD_S`` (0.2-5 s) are
  kept, as eot-bench's ``--min/max-hold-span-duration`` defaults do;
* eot spans: the optional ``eot_span`` key if present, else one per scoreable turn end of a
  multi-turn clip (gap of 0.2 s or more, or the final one with 0.5 s of audio after it; see
  `TurnEnd.is_scoreable`), from the true end ``t`` to the next speaker's start, or to the end
  of the clip after the final turn.

Pure Python + numpy: the scorer takes decision times, not an engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .labels import Labels
from .latency import median_p90
from .segments import EPS, number

__all__ = [
    "MAX_HOLD_S",
    "MIN_HOLD_S",
    "EotBenchClip",
    "EotBenchScore",
    "EotResult",
    "HoldResult",
    "Span",
    "eotbench_spans",
    "pool_eotbench",
    "score_eotbench",
    "score_spans",
]

MIN_HOLD_S = 0.2
"""Shortest hold span kept (s); eot-bench's ``--min-hold-span-duration`` default."""

MAX_HOLD_S = 5.0
"""Longest hold span kept (s); eot-bench's ``--max-hold-span-duration`` default."""


@dataclass(frozen=True)
class Span:
    """One silence span, ``start_s <= end_s``, in seconds of audio."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """``end_s - start_s``."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class HoldResult:
    """A hold span and the first commit inside it (``None``: the user was not cut off)."""

    span: Span
    commit_s: float | None

    @property
    def cut(self) -> bool:
        """Whether a commit fell inside the hold (a false cut-off)."""
        return self.commit_s is not None

    def to_dict(self) -> dict[str, Any]:
        """``start_s``, ``end_s``, ``commit_s`` and ``cut``."""
        return {"start_s": self.span.start_s, "end_s": self.span.end_s,
                "commit_s": self.commit_s, "cut": self.cut}


@dataclass(frozen=True)
class EotResult:
    """An eot span and the first commit inside it (``None``: no commit before the span ended)."""

    span: Span
    commit_s: float | None

    @property
    def latency_s(self) -> float:
        """``commit_s - span.start_s``; the span's whole length when there is no commit."""
        if self.commit_s is None:
            return self.span.duration_s
        return self.commit_s - self.span.start_s

    def to_dict(self) -> dict[str, Any]:
        """``start_s``, ``end_s``, ``commit_s`` and ``latency_s``."""
        return {"start_s": self.span.start_s, "end_s": self.span.end_s,
                "commit_s": self.commit_s, "latency_s": self.latency_s}


def eotbench_spans(labels: Labels) -> tuple[list[Span], list[Span]]:
    """The hold and eot spans of a clip, by the rules of the module docstring.

    Parameters
    ----------
    labels : Labels
        Labels of one clip (both label styles: ``shared/audio/turns`` with ``hold_spans`` and
        ``eot_span``, or multi-turn clips with ``intra_turn_pauses`` and ``turn_end_details``).

    Returns
    -------
    (list of Span, list of Span)
        Hold spans of 0.2-5 s and eot spans, each sorted by start.
    """
    source = labels.hold_spans if labels.hold_spans is not None else labels.intra_turn_pauses
    holds = [Span(h.start_s, h.end_s) for h in source
             if MIN_HOLD_S - EPS <= h.end_s - h.start_s <= MAX_HOLD_S + EPS]
    if labels.eot_span is not None:
        eots = [Span(labels.eot_span.start_s, labels.eot_span.end_s)]
    else:
        eots = [Span(d.t, d.next_start_s if d.next_start_s is not None
                     else max(d.t, labels.duration_s))
                for d in labels.scoreable_turn_ends()]
    return sorted(holds, key=lambda s: s.start_s), sorted(eots, key=lambda s: s.start_s)


@dataclass(frozen=True)
class EotBenchClip:
    """eot-bench scores of one clip (built by `score_spans` / `score_eotbench`).

    Attributes
    ----------
    clip : str
        Clip name.
    holds : tuple of HoldResult
        One per hold span, in time order.
    eots : tuple of EotResult
        One per eot span, in time order.
    n_commits : int
        Commits of the replay, scored or not (commits outside every span are not scored).
    """

    clip: str
    holds: tuple[HoldResult, ...]
    eots: tuple[EotResult, ...]
    n_commits: int

    def to_dict(self) -> dict[str, Any]:
        """The pooled figures of this clip alone (`EotBenchScore.to_dict`), plus ``holds`` and
        ``eots`` span by span."""
        out = pool_eotbench([self]).to_dict()
        out.update(clip=self.clip, holds=[h.to_dict() for h in self.holds],
                   eots=[e.to_dict() for e in self.eots])
        del out["clips"]
        return out


def _first_in(commits: Sequence[float], start: float, end: float, closed: bool) -> float | None:
    """The first of sorted ``commits`` in ``[start, end)`` (``[start, end]`` when ``closed``)."""
    for c in commits:
        if c < start - EPS:
            continue
        if c < end - EPS or (closed and c <= end + EPS):
            return c
        return None
    return None


def score_spans(holds: Iterable[Span], eots: Iterable[Span], commits: Iterable[float], *,
                clip: str = "clip", hold_tail_s: float = 0.0) -> EotBenchClip:
    """Score commit times against hold and eot spans (eot-bench's span-level decisions).

    A hold is cut when a commit ``c`` has ``start_s <= c < end_s + hold_tail_s``; a hold counts
    once however many commits fall in it.  An eot span's commit is the first ``c`` with
    ``start_s <= c <= end_s``; its latency is ``c - start_s``, or the span's length without one.
    Commits outside every span (while the user speaks, in a gap too short to score) are not
    scored, as eot-bench only asks a policy at silences.

    Parameters
    ----------
    holds, eots : iterable of Span
        Spans in seconds of audio.
    commits : iterable of float
        Decision times (``stream_time``) of every ``user_turn_completed``, s of audio.
    clip : str
        Name for the result.
    hold_tail_s : float, default 0.0
        Extra time after a hold's end during which a commit still cuts the user off (eot-bench:
        0, only commits inside the silence; `turns.CUTOFF_TAIL_S` is the engine's blind spot).

    Returns
    -------
    EotBenchClip

    Raises
    ------
    ValueError
        If a commit time is not a finite number or ``hold_tail_s`` is negative.
    """
    if not hold_tail_s >= 0:
        raise ValueError(f"hold_tail_s must be >= 0, got {hold_tail_s}")
    times = sorted(number(c, f"commits[{i}]") for i, c in enumerate(commits))
    hold_results = tuple(HoldResult(h, _first_in(times, h.start_s, h.end_s + hold_tail_s, False))
                         for h in holds)
    eot_results = tuple(EotResult(e, _first_in(times, e.start_s, e.end_s, True)) for e in eots)
    return EotBenchClip(clip, hold_results, eot_results, len(times))


def score_eotbench(labels: Labels, commits: Iterable[float], *,
                   hold_tail_s: float = 0.0) -> EotBenchClip:
    """`score_spans` on the spans of `eotbench_spans` (``labels``), named ``labels.clip``."""
    holds, eots = eotbench_spans(labels)
    return score_spans(holds, eots, commits, clip=labels.clip, hold_tail_s=hold_tail_s)


@dataclass(frozen=True)
class EotBenchScore:
    """eot-bench figures pooled over clips (built by `pool_eotbench`).

    Attributes
    ----------
    clips : tuple of str
        Names of the pooled clips.
    n_holds : int
        Hold spans.
    n_holds_cut : int
        Hold spans with a commit inside (false cut-offs).
    latencies_s : tuple of float
        eot latency of every eot span, clip by clip, s.
    n_eot_missed : int
        eot spans without a commit (their whole length is in ``latencies_s``).
    """

    clips: tuple[str, ...]
    n_holds: int
    n_holds_cut: int
    latencies_s: tuple[float, ...]
    n_eot_missed: int

    @property
    def fc_rate(self) -> float | None:
        """False cut-off rate ``n_holds_cut / n_holds`` (``None`` without holds)."""
        return self.n_holds_cut / self.n_holds if self.n_holds else None

    @property
    def latency_median_s(self) -> float | None:
        """Median eot latency, s (``None`` without eot spans)."""
        return median_p90(self.latencies_s)[0]

    @property
    def latency_mean_s(self) -> float | None:
        """Mean eot latency, s: eot-bench's latency axis (``None`` without eot spans)."""
        return float(np.mean(self.latencies_s)) if self.latencies_s else None

    @property
    def latency_p90_s(self) -> float | None:
        """90th-percentile eot latency, s (linear interpolation, ``numpy.percentile``)."""
        return median_p90(self.latencies_s)[1]

    def to_dict(self) -> dict[str, Any]:
        """Counts, ``fc_rate``, ``latency_{median,mean,p90}_s``, ``latencies_s`` and ``clips``."""
        return {"n_holds": self.n_holds, "n_holds_cut": self.n_holds_cut,
                "fc_rate": self.fc_rate, "n_eot_spans": len(self.latencies_s),
                "n_eot_missed": self.n_eot_missed,
                "latency_median_s": self.latency_median_s,
                "latency_mean_s": self.latency_mean_s, "latency_p90_s": self.latency_p90_s,
                "latencies_s": list(self.latencies_s), "clips": list(self.clips)}


def pool_eotbench(clips: Iterable[EotBenchClip]) -> EotBenchScore:
    """Pool clip scores: holds and cut holds summed, eot latencies concatenated.

    Parameters
    ----------
    clips : iterable of EotBenchClip
        Any number (none gives zero counts and no latencies).

    Returns
    -------
    EotBenchScore
    """
    items = list(clips)
    return EotBenchScore(
        clips=tuple(c.clip for c in items),
        n_holds=sum(len(c.holds) for c in items),
        n_holds_cut=sum(h.cut for c in items for h in c.holds),
        latencies_s=tuple(e.latency_s for c in items for e in c.eots),
        n_eot_missed=sum(e.commit_s is None for c in items for e in c.eots),
    )
