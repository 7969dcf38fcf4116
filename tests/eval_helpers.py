"""Shared fixtures of the evaluation tests (test_evaluation.py, test_eval_*.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from turnengine.tools.eval import Labels

DATA_DIR = Path(__file__).parent / "data"
SHARED_AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "audio"
EXAMPLES_AUDIO_DIR = Path(__file__).resolve().parents[1] / "examples" / "audio"

approx = pytest.approx


def hand_labels(**overrides: Any) -> Labels:
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
