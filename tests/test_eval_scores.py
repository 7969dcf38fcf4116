"""turnengine.tools.eval: score_clip, pool, to_dict and format_table."""

from __future__ import annotations

import json

import pytest
from eval_helpers import approx, hand_labels

from turnengine.tools.eval import (
    ClipScore,
    FrameScores,
    PooledScore,
    format_table,
    pool,
    score_clip,
)

# ---------------------------------------------------------------------------------------------
# score_clip, pool, to_dict, format_table
# ---------------------------------------------------------------------------------------------


def _hand_clip() -> ClipScore:
    labels = hand_labels()
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
    s = score_clip(hand_labels(), [], [], [])
    d = s.to_dict()
    json.dumps(d, allow_nan=False)
    assert (d["frame_f1"], d["decision_frame_f1"]) == (0.0, 0.0)
    assert d["n_ends_undetected"] == 2
    assert d["end_latency_median_s"] is None
    assert d["n_missed_segments"] == 4
    assert d["n_missed_turn_ends"] == 2


def test_score_clip_rejects_bad_duration() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        score_clip(hand_labels(), [], [], [], duration_s=-1.0)


def test_pool_sums_counts_and_concatenates_latencies() -> None:
    a = _hand_clip()
    b = score_clip(
        hand_labels(clip="other"),
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
