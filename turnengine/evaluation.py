"""Score engine output against timing labels (SPEC section 11): moved to
:mod:`turnengine.tools.eval` (one module per concern).

This module re-exports the scorers, so ``turnengine.evaluation`` keeps importing what it did.
"""

from __future__ import annotations

from .tools.eval.clip import ClipScore, score_clip
from .tools.eval.events import EngineOutput, segments_from_events
from .tools.eval.frames import FRAME_S, FrameScores, false_starts, frame_scores, missed_segments
from .tools.eval.labels import (
    SCOREABLE_FINAL_TAIL_S,
    SCOREABLE_GAP_S,
    Labels,
    LabelSegment,
    TurnEnd,
    load_labels,
)
from .tools.eval.latency import MIN_END_GAP_S, EndStatus, SpeechEnd, median_p90, speech_end_latency
from .tools.eval.pooling import PooledScore, pool
from .tools.eval.segments import PredSegment, Segment
from .tools.eval.tables import DEFAULT_TABLE_COLUMNS, format_table
from .tools.eval.turns import CUTOFF_TAIL_S, MAX_TURN_WINDOW_S, TurnMatch, TurnScores, turn_scores

__all__ = [
    "CUTOFF_TAIL_S",
    "DEFAULT_TABLE_COLUMNS",
    "FRAME_S",
    "MAX_TURN_WINDOW_S",
    "MIN_END_GAP_S",
    "SCOREABLE_FINAL_TAIL_S",
    "SCOREABLE_GAP_S",
    "ClipScore",
    "EndStatus",
    "EngineOutput",
    "FrameScores",
    "LabelSegment",
    "Labels",
    "PooledScore",
    "PredSegment",
    "Segment",
    "SpeechEnd",
    "TurnEnd",
    "TurnMatch",
    "TurnScores",
    "false_starts",
    "format_table",
    "frame_scores",
    "load_labels",
    "median_p90",
    "missed_segments",
    "pool",
    "score_clip",
    "segments_from_events",
    "speech_end_latency",
    "turn_scores",
]
