"""turnengine.tools.eval.latency: end-of-speech latency matching, hand-computed cases."""

from __future__ import annotations

import math

from eval_helpers import approx

from turnengine.tools.eval import (
    median_p90,
    speech_end_latency,
)

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
