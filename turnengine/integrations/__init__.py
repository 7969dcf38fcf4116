"""Adapters that put turnengine inside the voice-agent frameworks people already run.

``turnengine.integrations.livekit``
    ``VAD``: a ``livekit.agents.vad.VAD`` whose streams emit LiveKit ``VADEvent`` objects
    (``AgentSession(vad=VAD.load())``); ``TurnDetector``: a LiveKit streaming turn detector
    on the engine's end-of-turn path (``turn_handling={"turn_detection": TurnDetector()}``).
    Needs the ``livekit`` extra.
``turnengine.integrations.pipecat``
    ``TurnEngineVADAnalyzer``: a Pipecat ``VADAnalyzer`` (``VADProcessor(vad_analyzer=...)``,
    ``LLMUserAggregatorParams(vad_analyzer=...)``); ``TurnAnalyzer``: a Pipecat
    ``BaseTurnAnalyzer`` (``TurnAnalyzerUserTurnStopStrategy(turn_analyzer=...)``).  Needs the
    ``pipecat`` extra.
``turnengine.integrations.turns``
    What the two turn plug-ins share: the process's Smart Turn model and ``TurnTap``.

Neither framework is imported here: this module only holds what both adapters share, a
:class:`TurnEngine` used as a frame VAD (:class:`WindowTap`).  See docs/integrations.md.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels.codes import WindowFlag
from ..audio import model_rate_for  # re-exported: the one rate rule is turnengine.audio's
from ..engine import TurnEngine
from ..options import TurnEngineOptions
from ..vad import DEFAULT_VAD, VADBackend, load_vad

#: The engine options that shape frame VAD decisions (SPEC 3.2); the adapters take these.
VAD_OPTION_NAMES: tuple[str, ...] = (
    "activation_threshold",
    "deactivation_threshold",
    "min_speech_duration",
    "min_silence_duration",
    "prefix_padding_duration",
    "max_buffered_speech",
    "smoothing_alpha",
    "min_volume",
)

RAW_SPEECH = int(WindowFlag.RAW_SPEECH)
SPEAKING = int(WindowFlag.SPEAKING)
START = int(WindowFlag.START)
END = int(WindowFlag.END)


@dataclass(frozen=True)
class Windows:
    """The VAD windows one push completed.

    Attributes
    ----------
    start : int
        Engine-clock sample (model rate) where the first window begins.
    probability : numpy.ndarray of float32, shape (n,)
        The backend's raw speech probability per window.
    smoothed : numpy.ndarray of float32, shape (n,)
        The probability after ``smoothing_alpha`` (what the thresholds compare).
    flags : numpy.ndarray of uint8, shape (n,)
        ``turnengine._kernels.codes.WindowFlag`` bits: RAW_SPEECH (this window counts as
        speech), SPEAKING (published state after the window), START, END.
    runs : numpy.ndarray of int64, shape (n, 2)
        The hysteresis kernel's raw (speech, silence) window runs after each window.
    """

    start: int
    probability: np.ndarray
    smoothed: np.ndarray
    flags: np.ndarray
    runs: np.ndarray

    def __len__(self) -> int:
        return int(self.flags.shape[0])


_EMPTY = Windows(0, np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.uint8),
                 np.zeros((0, 2), np.int64))


class WindowTap:
    """A :class:`TurnEngine` used as a streaming frame VAD: audio in, per-window flags out.

    The engine runs with ``keep_window_log=True``; after each push the tap takes the windows
    that push completed (three small arrays, one entry per push) and clears the log, so memory
    stays flat however long the stream runs.  No Python object is made per window here: the
    adapters turn the arrays into their framework's events.  The away timer is off and turns
    are committed only manually (the adapters need the VAD part only).

    Parameters
    ----------
    sample_rate : int
        Rate of the pushed audio (Hz): one of ``turnengine.audio.SUPPORTED_RATES``.
    backend : VADBackend
        The frame VAD at the engine's model rate (16000, or 8000 for 8 kHz input); its stream
        state (LSTM, context) is used as it is, so pass ``backend.fresh()`` for a new stream.
    options : TurnEngineOptions
        Hysteresis options (:data:`VAD_OPTION_NAMES`); the rest are ignored.

    Raises
    ------
    TypeError, ValueError
        As :class:`TurnEngine` (unsupported rate, bad option, backend at another rate).
    """

    def __init__(self, sample_rate: int, backend: VADBackend, options: TurnEngineOptions) -> None:
        self.engine = TurnEngine(sample_rate=sample_rate, vad=backend, keep_window_log=True,
                                 options=options.replace(user_away_timeout=None,
                                                         turn_detection="manual"))
        self.window_size = int(backend.window_size)
        self.model_rate = int(self.engine.model_rate)

    def push(self, pcm: np.ndarray | bytes) -> Windows:
        """Push one chunk (int16 array or bytes at ``sample_rate``); return the windows completed.

        Raises
        ------
        TypeError, ValueError
            As :meth:`TurnEngine.push_audio`.
        """
        self.engine.push_audio(pcm)
        log = self.engine.drain_window_log()
        if log.flags.shape[0] == 0:
            return _EMPTY
        return Windows(log.start_sample, log.probability, log.smoothed, log.flags, log.runs)

    @property
    def samples_decided(self) -> int:
        """Model-rate samples up to the end of the last complete window."""
        return int(round(self.engine.decision_time * self.model_rate))


def vad_options(**overrides: Any) -> TurnEngineOptions:
    """Validated engine options with the given hysteresis overrides (``None`` values skipped).

    Raises
    ------
    TypeError
        An unknown option name, or a value of the wrong type.
    ValueError
        A value out of range (SPEC 3.2).
    """
    unknown = set(overrides) - set(VAD_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown VAD option(s) {sorted(unknown)}; expected some of "
                        f"{VAD_OPTION_NAMES}")
    given = {k: v for k, v in overrides.items() if v is not None}
    return TurnEngineOptions(**given)


@functools.lru_cache(maxsize=16)
def _cached_backend(name: str, rate: int, model_path: str | None) -> VADBackend:
    return load_vad(name, rate, model_path)


def shared_backend(name: str = DEFAULT_VAD, rate: int = 16000,
                   model_path: str | os.PathLike[str] | None = None) -> VADBackend:
    """A loaded backend to call ``fresh()`` on: weights are read once per (name, rate, file).

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`turnengine.load_vad`.
    """
    return _cached_backend(name, int(rate), None if model_path is None else str(model_path))


__all__ = ["VAD_OPTION_NAMES", "Windows", "WindowTap", "vad_options", "shared_backend",
           "model_rate_for"]
