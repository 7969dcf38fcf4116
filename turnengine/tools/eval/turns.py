"""Turn-taking scores: ``user_turn_completed`` decisions against labelled turn ends."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .labels import Labels
from .latency import latency_stat
from .segments import number

__all__ = ["CUTOFF_TAIL_S", "MAX_TURN_WINDOW_S", "TurnMatch", "TurnScores", "turn_scores"]

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

    latency_median_s = latency_stat("latencies_s", 0, "turn latency")
    latency_p90_s = latency_stat("latencies_s", 1, "turn latency")


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
    comps = sorted(number(c, f"turn_completions[{i}]") for i, c in enumerate(turn_completions))
    dur = labels.duration_s if duration_s is None else float(duration_s)
    taken = [False] * len(comps)
    matches, unscored = _match_turn_ends(comps, taken, labels, max_window_s, dur)
    left = [c for i, c in enumerate(comps) if not taken[i]]
    pauses = labels.intra_turn_pauses
    cut = [any(p.start_s <= c < p.end_s + cutoff_tail_s for p in pauses) for c in left]
    cutoffs = [c for c, is_cut in zip(left, cut, strict=True) if is_cut]
    extra = [c for c, is_cut in zip(left, cut, strict=True) if not is_cut]
    return TurnScores(tuple(matches), tuple(cutoffs), tuple(extra), tuple(sorted(unscored)))


def _match_turn_ends(comps: list[float], taken: list[bool], labels: Labels,
                     max_window_s: float, dur: float) -> tuple[list[TurnMatch], list[float]]:
    """Rule 1 of `turn_scores`: each turn end takes the first free completion of its window
    (marked in ``taken``). Returns the matches of the scoreable turn ends and the completions
    matched to the others (unscored)."""
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
    return matches, unscored
