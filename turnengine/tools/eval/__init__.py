"""Score engine output against timing labels (SPEC section 11).

Pure Python + numpy, no engine import: the scorer receives plain numbers (speech segments,
turn-completion times) so that it can judge any engine, including peers such as a bare silero
``VADIterator`` or webrtcvad run through the same label files.  One module per concern:
:mod:`.labels` (label files, reference speech), :mod:`.frames` (10 ms frame scores, false
starts, missed segments), :mod:`.latency` (end-of-speech latency), :mod:`.turns` (turn ends),
:mod:`.clip` and :mod:`.pooling` (one clip, many clips), :mod:`.eotbench` (LiveKit eot-bench's
hold/eot spans), :mod:`.operating` (the Pareto frontier and eot-bench's headline figures),
:mod:`.grid` (swept parameters), :mod:`.events` (engine events -> scorer inputs),
:mod:`.tables` (markdown), :mod:`.curve` (the sweep's PNG).  :mod:`.runner` replays labelled
clips through the engine and scores them (``turnengine eval``) and :mod:`.sweep` runs it over a
grid of configurations; only these two import the engine, and this package does not import
them.

Inputs per clip
---------------
``speech_segments``
    ``(start_s, end_s)`` pairs of seconds of audio, as the engine decided them. Two flavours are
    scored separately:

    * back-dated: the ``audio_time`` of ``user_state_changed`` (when speech really started and
      stopped, per the engine); scored by 10 ms frames, false starts and missed segments;
    * decision-time: the ``stream_time`` of the same events (when the engine decided); scored by
      10 ms frames and by end-of-speech latency.

    A segment whose END never came (the clip ended while the user was "speaking") is passed with
    ``end_s=None``: it counts as speech up to the end of the clip for frame scores and as "open"
    (no decision) for latency.
``turn_completions``
    ``stream_time`` of every ``user_turn_completed`` event (s of audio).

Latency is always decision time minus true time, never back-dated time minus true time
(SPEC section 11). Conventions that the SPEC leaves open are written in each function's
docstring; the module constants hold their defaults.
"""

from __future__ import annotations

from .clip import ClipScore, score_clip
from .eotbench import (
    MAX_HOLD_S,
    MIN_HOLD_S,
    EotBenchClip,
    EotBenchScore,
    Span,
    eotbench_spans,
    pool_eotbench,
    score_eotbench,
    score_spans,
)
from .events import EngineOutput, segments_from_events
from .frames import FRAME_S, FrameScores, false_starts, frame_scores, missed_segments
from .grid import SweepAxis, sweep_grid
from .labels import (
    SCOREABLE_FINAL_TAIL_S,
    SCOREABLE_GAP_S,
    Labels,
    LabelSegment,
    TurnEnd,
    load_labels,
)
from .latency import MIN_END_GAP_S, EndStatus, SpeechEnd, median_p90, speech_end_latency
from .operating import (
    Headline,
    OperatingPoint,
    fc_at_latency,
    headline,
    latency_at_fc,
    pareto_front,
)
from .pooling import PooledScore, pool
from .segments import PredSegment, Segment
from .tables import DEFAULT_TABLE_COLUMNS, format_eotbench, format_sweep, format_table
from .turns import CUTOFF_TAIL_S, MAX_TURN_WINDOW_S, TurnMatch, TurnScores, turn_scores

__all__ = [
    "CUTOFF_TAIL_S",
    "DEFAULT_TABLE_COLUMNS",
    "FRAME_S",
    "MAX_HOLD_S",
    "MAX_TURN_WINDOW_S",
    "MIN_END_GAP_S",
    "MIN_HOLD_S",
    "SCOREABLE_FINAL_TAIL_S",
    "SCOREABLE_GAP_S",
    "ClipScore",
    "EndStatus",
    "EngineOutput",
    "EotBenchClip",
    "EotBenchScore",
    "FrameScores",
    "Headline",
    "LabelSegment",
    "Labels",
    "OperatingPoint",
    "PooledScore",
    "PredSegment",
    "Segment",
    "Span",
    "SpeechEnd",
    "SweepAxis",
    "TurnEnd",
    "TurnMatch",
    "TurnScores",
    "eotbench_spans",
    "false_starts",
    "fc_at_latency",
    "format_eotbench",
    "format_sweep",
    "format_table",
    "frame_scores",
    "headline",
    "latency_at_fc",
    "load_labels",
    "median_p90",
    "missed_segments",
    "pareto_front",
    "pool",
    "pool_eotbench",
    "score_clip",
    "score_eotbench",
    "score_spans",
    "segments_from_events",
    "speech_end_latency",
    "sweep_grid",
    "turn_scores",
]
