"""Live microphone session (``turnengine mic``, SPEC 10).

:mod:`.device` opens the input (a sounddevice stream, or a file played through the same
callback path), :mod:`.session` pushes its blocks into an engine and counts what happened,
:mod:`.agent` plays an agent so that interruptions can be tried, :mod:`.voice` gives it a voice
(on the speakers, or into a simulated room for tests) that the engine cancels as echo, and
:mod:`.ui` shows it all live.
"""

from __future__ import annotations

from .agent import SimulatedAgent
from .device import (
    FALLBACK_RATES,
    FakeInputStream,
    InputSource,
    InputStreamLike,
    MicError,
    StreamFactory,
    choose_rate,
    fake_input,
    open_microphone,
)
from .session import BLOCK_MS, MicSession, MicSummary
from .ui import render, run_live
from .voice import AgentVoice, LoopbackRoom, room_impulse_response, speaker_output

__all__ = [
    "BLOCK_MS",
    "FALLBACK_RATES",
    "MicError",
    "InputSource",
    "InputStreamLike",
    "StreamFactory",
    "FakeInputStream",
    "SimulatedAgent",
    "AgentVoice",
    "LoopbackRoom",
    "room_impulse_response",
    "speaker_output",
    "MicSession",
    "MicSummary",
    "open_microphone",
    "fake_input",
    "choose_rate",
    "render",
    "run_live",
]
