"""All scores of one clip (:func:`score_clip`) and their flat summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .frames import FRAME_S, FrameScores, false_starts, frame_scores, missed_segments
from .labels import Labels
from .latency import MIN_END_GAP_S, SpeechEnd, latency_stat, median_p90, speech_end_latency
from .segments import PredSegment, Segment, check_segments, merge
from .turns import CUTOFF_TAIL_S, MAX_TURN_WINDOW_S, TurnScores, turn_scores

__all__ = ["ClipScore", "EndLatencies", "Summarised", "score_clip", "summary_dict"]


class Summarised(Protocol):
    """What :func:`summary_dict` reads: a :class:`ClipScore` or a pooled score."""

    @property
    def duration_s(self) -> float: ...
    @property
    def frames(self) -> FrameScores: ...
    @property
    def decision_frames(self) -> FrameScores: ...
    @property
    def speech_ends(self) -> tuple[SpeechEnd, ...]: ...
    @property
    def n_ref_segments(self) -> int: ...
    @property
    def n_pred_segments(self) -> int: ...
    @property
    def n_false_starts(self) -> int: ...
    @property
    def n_missed_segments(self) -> int: ...
    @property
    def turn_latencies_s(self) -> Sequence[float]: ...
    @property
    def n_turn_ends(self) -> int: ...
    @property
    def n_false_cutoffs(self) -> int: ...
    @property
    def n_extra_completions(self) -> int: ...
    @property
    def n_unscored_completions(self) -> int: ...


def summary_dict(score: Summarised, clip: str) -> dict[str, Any]:
    """The flat summary of ``score`` (the keys `format_table` knows), named ``clip``."""
    ends = score.speech_ends
    turn_latencies = score.turn_latencies_s
    end_lat = [e.latency_s for e in ends if e.latency_s is not None]
    end_med, end_p90 = median_p90(end_lat)
    turn_med, turn_p90 = median_p90(turn_latencies)
    out: dict[str, Any] = {"clip": clip, "duration_s": score.duration_s}
    for prefix, fs in (("frame_", score.frames), ("decision_frame_", score.decision_frames)):
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
        n_ref_segments=score.n_ref_segments,
        n_pred_segments=score.n_pred_segments,
        n_false_starts=score.n_false_starts,
        n_missed_segments=score.n_missed_segments,
        n_turn_ends=score.n_turn_ends,
        n_turns_detected=len(turn_latencies),
        n_missed_turn_ends=score.n_turn_ends - len(turn_latencies),
        n_false_cutoffs=score.n_false_cutoffs,
        n_extra_completions=score.n_extra_completions,
        n_unscored_completions=score.n_unscored_completions,
        turn_latency_median_s=turn_med,
        turn_latency_p90_s=turn_p90,
        end_latencies_s=list(end_lat),
        turn_latencies_s=list(turn_latencies),
    )
    return out


class EndLatencies:
    """End-of-speech latency summaries of anything holding ``speech_ends``."""

    speech_ends: tuple[SpeechEnd, ...]

    @property
    def end_latencies_s(self) -> list[float]:
        """Decision end-of-speech latencies of the ``closed`` speech ends."""
        return [e.latency_s for e in self.speech_ends if e.latency_s is not None]

    end_latency_median_s = latency_stat("end_latencies_s", 0,
                                         "decision end-of-speech latency")
    end_latency_p90_s = latency_stat("end_latencies_s", 1,
                                         "decision end-of-speech latency")


@dataclass(frozen=True)
class ClipScore(EndLatencies):
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

    @property
    def n_false_starts(self) -> int:
        """``len(false_starts)``."""
        return len(self.false_starts)

    @property
    def n_missed_segments(self) -> int:
        """``len(missed_segments)``."""
        return len(self.missed_segments)

    @property
    def turn_latencies_s(self) -> list[float]:
        """``turns.latencies_s``: latencies of the detected turn ends."""
        return self.turns.latencies_s

    @property
    def n_turn_ends(self) -> int:
        """``turns.n_turn_ends``: scoreable turn ends."""
        return self.turns.n_turn_ends

    @property
    def n_false_cutoffs(self) -> int:
        """``len(turns.false_cutoffs)``."""
        return len(self.turns.false_cutoffs)

    @property
    def n_extra_completions(self) -> int:
        """``len(turns.extra_completions)``."""
        return len(self.turns.extra_completions)

    @property
    def n_unscored_completions(self) -> int:
        """``len(turns.unscored_completions)``."""
        return len(self.turns.unscored_completions)

    def to_dict(self) -> dict[str, Any]:
        """Flat summary (the keys `format_table` knows) plus per-event details.

        Returns
        -------
        dict
            JSON-serialisable: numbers, strings, ``None`` and lists only. Detail keys:
            ``speech_ends``, ``false_starts``, ``missed_segments``, ``turn_matches``,
            ``false_cutoffs``, ``extra_completions``, ``unscored_completions``.
        """
        out = summary_dict(self, self.clip)
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



def score_clip(labels: Labels, speech_segments: Sequence[PredSegment],
               decision_segments: Sequence[PredSegment], turn_completions: Sequence[float], *,
               duration_s: float | None = None, clip: str | None = None,
               frame_s: float = FRAME_S, min_gap_s: float = MIN_END_GAP_S,
               max_turn_window_s: float = MAX_TURN_WINDOW_S,
               cutoff_tail_s: float = CUTOFF_TAIL_S) -> ClipScore:
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
        n_pred_segments=len(merge(check_segments(speech_segments, "speech_segments"))),
        turns=turn_scores(turn_completions, labels, max_window_s=max_turn_window_s,
                          cutoff_tail_s=cutoff_tail_s, duration_s=dur),
    )

