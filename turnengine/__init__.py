"""turnengine: real-time audio turn detection for voice agents.

Compiled Cython kernels do the per-sample and per-window work (PCM intake and resampling, frame
VAD, hysteresis, endpointing/interruption/away timers); a thin Python state machine turns their
output into LiveKit-style session events, metrics and a session report.
"""

from __future__ import annotations

from .engine import SESSION_EVENTS, VAD_EVENTS, EngineClosedError, TurnEngine
from .events import (
    AgentInterruptedEvent,
    AgentStateChangedEvent,
    EagerEndOfTurnEvent,
    Event,
    MetricsCollectedEvent,
    OptionsUpdatedEvent,
    TurnResumedEvent,
    UserBackchannelEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
    UserTurnCompletedEvent,
    VADEvent,
    VADEventType,
)
from .metrics import EchoMetrics, EOUMetrics, UsageCollector, VADMetrics, log_metrics
from .options import TurnEngineOptions
from .report import ChatMessage, SessionReport
from .streams import TurnEngineGroup
from .vad import EnergyVAD, SileroNativeVAD, SileroOnnxVAD, VADBackend, load_vad

__all__ = [
    "TurnEngine",
    "TurnEngineGroup",
    "TurnEngineOptions",
    "EngineClosedError",
    "SESSION_EVENTS",
    "VAD_EVENTS",
    "Event",
    "UserStateChangedEvent",
    "AgentStateChangedEvent",
    "UserTurnCompletedEvent",
    "EagerEndOfTurnEvent",
    "TurnResumedEvent",
    "AgentInterruptedEvent",
    "UserBackchannelEvent",
    "UserInputTranscribedEvent",
    "MetricsCollectedEvent",
    "OptionsUpdatedEvent",
    "VADEvent",
    "VADEventType",
    "VADMetrics",
    "EOUMetrics",
    "EchoMetrics",
    "UsageCollector",
    "log_metrics",
    "SessionReport",
    "ChatMessage",
    "VADBackend",
    "SileroNativeVAD",
    "SileroOnnxVAD",
    "EnergyVAD",
    "load_vad",
]
