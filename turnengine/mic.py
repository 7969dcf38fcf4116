"""Live microphone session (``turnengine mic``): moved to :mod:`turnengine.tools.mic`.

This module re-exports it, so ``turnengine.mic.MicSession`` and the other names keep working.
"""

from __future__ import annotations

from .tools.mic import (
    BLOCK_MS,
    FALLBACK_RATES,
    FakeInputStream,
    InputSource,
    InputStreamLike,
    MicError,
    MicSession,
    MicSummary,
    SimulatedAgent,
    StreamFactory,
    choose_rate,
    fake_input,
    open_microphone,
    render,
    run_live,
)

__all__ = [
    "BLOCK_MS",
    "FALLBACK_RATES",
    "MicError",
    "InputSource",
    "InputStreamLike",
    "StreamFactory",
    "FakeInputStream",
    "SimulatedAgent",
    "MicSession",
    "MicSummary",
    "open_microphone",
    "fake_input",
    "choose_rate",
    "render",
    "run_live",
]
