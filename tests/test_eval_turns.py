"""turnengine.tools.eval.turns: turn ends matched to user_turn_completed decisions."""

from __future__ import annotations

import pytest
from eval_helpers import approx, hand_labels

from turnengine.tools.eval import (
    turn_scores,
)

# ---------------------------------------------------------------------------------------------
# Turn scores
# ---------------------------------------------------------------------------------------------


def test_turn_scores_hand_case() -> None:
    labels = hand_labels()
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
    ts = turn_scores([5.2], hand_labels())
    assert [m.completion_s for m in ts.matches] == [None, None]
    assert (ts.n_detected, ts.n_missed) == (0, 2)
    assert ts.latencies_s == []
    assert (ts.latency_median_s, ts.latency_p90_s) == (None, None)
    assert ts.extra_completions == (5.2,)  # after the next speaker started


def test_turn_scores_window_bounds() -> None:
    labels = hand_labels()
    # Window of 4.0 is [4.0, 5.0): 5.0 itself is outside; the final's window is [8.0, 12.0).
    ts = turn_scores([5.0, 11.9], labels)
    assert [m.completion_s for m in ts.matches] == [None, 11.9]
    ts = turn_scores([4.0, 12.0], labels, max_window_s=4.0)
    assert [m.completion_s for m in ts.matches] == [4.0, None]
    ts = turn_scores([12.0], labels, max_window_s=4.5)
    assert [m.completion_s for m in ts.matches] == [None, 12.0]


def test_turn_scores_cutoff_bounds() -> None:
    labels = hand_labels()
    ts = turn_scores([2.0, 2.74, 2.75], labels)
    assert ts.false_cutoffs == (2.0, 2.74)
    assert ts.extra_completions == (2.75,)
    ts = turn_scores([2.0, 2.499, 2.5], labels, cutoff_tail_s=0.0)
    assert ts.false_cutoffs == (2.0, 2.499)
    assert ts.extra_completions == (2.5,)


def test_turn_scores_final_scoreability() -> None:
    base = hand_labels()
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
    short = hand_labels(duration_s=8.4, turn_end_details=details)
    ts = turn_scores([4.6, 8.3], short)
    assert [m.true_end_s for m in ts.matches] == [4.0]
    assert ts.unscored_completions == (8.3,)
    # Exactly 0.5 s after it: scoreable.
    assert [d.t for d in hand_labels(duration_s=8.5).scoreable_turn_ends()] == [4.0, 8.0]
    truncated = [dict(d) for d in details]
    truncated[-1]["kind"] = "final_truncated"
    truncated_labels = hand_labels(turn_end_details=truncated)
    assert [m.true_end_s for m in turn_scores([], truncated_labels).matches] == [4.0]


def test_turn_scores_no_turn_ends() -> None:
    labels = hand_labels(segments=[], turn_ends=[], turn_end_details=[], intra_turn_pauses=[])
    ts = turn_scores([1.0, 2.0], labels)
    assert ts.matches == ()
    assert ts.extra_completions == (1.0, 2.0)
    assert (ts.n_turn_ends, ts.latency_median_s) == (0, None)


def test_turn_scores_rejects_bad_completion() -> None:
    with pytest.raises(ValueError, match="turn_completions"):
        turn_scores([float("inf")], hand_labels())
