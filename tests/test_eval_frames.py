"""turnengine.tools.eval.frames: 10 ms frame scores, false starts and missed segments."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from eval_helpers import approx, hand_labels

from turnengine.tools.eval import (
    false_starts,
    frame_scores,
    missed_segments,
)

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
    labels = hand_labels()
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
    labels = hand_labels()
    # Speech only over A's first segment and B's segment.
    assert missed_segments([(0.6, 1.0), (5.5, 6.0)], labels) == [(2.5, 4.0), (7.1, 8.0)]


def test_open_prediction_covers_everything_after_its_start() -> None:
    assert missed_segments([(3.5, None)], [(1.0, 2.0), (3.0, 4.0), (9.0, 9.5)]) == [(1.0, 2.0)]


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
