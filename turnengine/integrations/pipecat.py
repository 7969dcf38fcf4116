"""Pipecat adapter: a ``VADAnalyzer`` backed by turnengine.

Use it wherever Pipecat takes a ``vad_analyzer``::

    from pipecat.audio.vad.vad_analyzer import VADParams
    from pipecat.processors.audio.vad_processor import VADProcessor
    from turnengine.integrations.pipecat import TurnEngineVADAnalyzer

    vad = VADProcessor(vad_analyzer=TurnEngineVADAnalyzer(params=VADParams(stop_secs=0.55)))

Two ways to decide speech, chosen with ``hysteresis``:

``"turnengine"`` (default)
    :meth:`analyze_audio` feeds a :class:`~turnengine.TurnEngine` and reports its state: the
    native Silero kernel, smoothing and LiveKit-style hysteresis (activation and deactivation
    thresholds, ``min_speech_duration``/``min_silence_duration`` in whole windows), so a Pipecat
    pipeline and a LiveKit agent built on turnengine cut speech at the same windows as
    ``turnengine run``.  ``VADParams`` still drive it: ``confidence`` is the activation threshold,
    ``start_secs`` the minimum speech and ``stop_secs`` the minimum silence.
    ``VADParams.min_volume`` (Pipecat's BS.1770 loudness scale) is not applied; use
    ``min_volume=`` (turnengine's RMS gate, 0 = off) instead.
``"pipecat"``
    Pipecat's own state machine runs on turnengine's per-window probability
    (:meth:`voice_confidence`), with every ``VADParams`` field as Pipecat defines it, loudness
    gate included; turnengine only replaces the model.

Mapping to Pipecat's states: QUIET (not speaking, last window silent), STARTING (not speaking,
last window speech), SPEAKING (speaking, last window speech), STOPPING (speaking, last window
silent).  ``VADController`` acts on QUIET <-> SPEAKING.

Requires the ``pipecat`` extra (``pip install "turnengine[pipecat]"``): ``pipecat-ai``
0.0.99 to 1.x (tested on 1.14.0).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Literal

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from ..audio import check_sample_rate, model_rate_for
from ..vad import DEFAULT_VAD, VAD_BACKENDS
from . import RAW_SPEECH, SPEAKING, WindowTap, shared_backend, vad_options

HYSTERESIS_MODES: tuple[str, ...] = ("turnengine", "pipecat")

_STATES = {  # (speaking, last window speech) -> state
    (False, False): VADState.QUIET,
    (False, True): VADState.STARTING,
    (True, True): VADState.SPEAKING,
    (True, False): VADState.STOPPING,
}


class TurnEngineVADAnalyzer(VADAnalyzer):
    """Pipecat ``VADAnalyzer`` running turnengine's VAD backend and hysteresis.

    Parameters
    ----------
    sample_rate : int, optional
        Input rate in Hz; default: the pipeline's ``audio_in_sample_rate`` (given by
        ``set_sample_rate``).  8, 16, 24, 32, 44.1 or 48 kHz (Silero runs at 16 kHz, or 8 kHz for
        8 kHz input; turnengine's intake kernel resamples).
    params : VADParams, optional
        Pipecat's parameters (defaults: confidence 0.7, start_secs 0.2, stop_secs 0.2,
        min_volume 0.6); see the module notes for how each mode uses them.
    hysteresis : {"turnengine", "pipecat"}
        Whose state machine decides (module notes).
    backend : {"silero", "silero-onnx", "energy"}
        turnengine VAD backend.
    model_path : str, optional
        A ``silero_vad.onnx`` to use instead of the packaged one.
    deactivation_threshold : float, optional
        ``"turnengine"`` mode: while speaking, a window stays speech while its smoothed
        probability is > this; default ``max(confidence - 0.15, 0.01)``.
    smoothing_alpha : float
        ``"turnengine"`` mode: exponential smoothing of probabilities (0 disables).
    min_volume : float
        ``"turnengine"`` mode: RMS gate in [0, 1] (0 = off).

    Raises
    ------
    ValueError
        Unknown mode or backend, or an option out of range.
    FileNotFoundError
        No ``silero_vad.onnx`` installed (Silero backends).
    """

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None,
                 hysteresis: Literal["turnengine", "pipecat"] = "turnengine",
                 backend: str = DEFAULT_VAD, model_path: str | os.PathLike[str] | None = None,
                 deactivation_threshold: float | None = None, smoothing_alpha: float = 0.35,
                 min_volume: float = 0.0) -> None:
        if hysteresis not in HYSTERESIS_MODES:
            raise ValueError(f"hysteresis must be one of {HYSTERESIS_MODES}, got {hysteresis!r}")
        if backend not in VAD_BACKENDS:
            raise ValueError(f"unknown VAD backend {backend!r}; expected one of {VAD_BACKENDS}")
        if sample_rate is not None:
            check_sample_rate(sample_rate)
        super().__init__(sample_rate=sample_rate, params=params)
        self._hysteresis = hysteresis
        self._backend_name = backend
        self._model_path = None if model_path is None else str(model_path)
        self._extra = {"deactivation_threshold": deactivation_threshold,
                       "smoothing_alpha": smoothing_alpha, "min_volume": min_volume}
        self._options_for(self._params)  # validate now, not at the pipeline's StartFrame
        shared_backend(backend, 16000, self._model_path)  # read the weights now
        self._lock = threading.Lock()
        self._tap: WindowTap | None = None
        self._last_probability = 0.0

    # -- configuration -----------------------------------------------------------------------
    @property
    def hysteresis(self) -> str:
        """``"turnengine"`` or ``"pipecat"``."""
        return self._hysteresis

    @property
    def engine(self) -> Any:
        """The current :class:`~turnengine.TurnEngine` (None before ``set_sample_rate``).

        Subscribe to its ``user_state_changed`` for back-dated speech boundaries; a new engine
        is built by ``set_params`` (Pipecat's ``VADParamsUpdateFrame``).
        """
        return None if self._tap is None else self._tap.engine

    def _options_for(self, params: VADParams) -> Any:
        return vad_options(activation_threshold=params.confidence,
                           min_speech_duration=params.start_secs,
                           min_silence_duration=params.stop_secs, **self._extra)

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the input rate (Pipecat calls this at the pipeline's start).

        Raises
        ------
        TypeError, ValueError
            A rate turnengine does not take (see ``turnengine.audio.SUPPORTED_RATES``).
        """
        check_sample_rate(self._init_sample_rate or sample_rate)
        super().set_sample_rate(sample_rate)

    def set_params(self, params: VADParams) -> None:
        """Apply new parameters: Pipecat's counters reset and a new engine takes over.

        The model's state (Silero LSTM and context) carries over when the rate is unchanged, as
        in Pipecat's own analyzers.

        Raises
        ------
        TypeError, ValueError
            A parameter out of range for turnengine (for example confidence > 1).
        """
        options = self._options_for(params)
        super().set_params(params)
        rate = self.sample_rate
        model_rate = model_rate_for(rate)
        with self._lock:
            old = self._tap
            if old is not None and old.model_rate == model_rate:
                backend = old.engine.vad
            else:
                backend = shared_backend(self._backend_name, model_rate, self._model_path).fresh()
            self._tap = WindowTap(rate, backend, options)

    def num_frames_required(self) -> int:
        """Input samples per VAD window: 512 at 16 kHz, 256 at 8 kHz, 1536 at 48 kHz, ..."""
        rate = self.sample_rate or 16000
        model_rate = model_rate_for(rate)
        window = shared_backend(self._backend_name, model_rate, self._model_path).window_size
        return int(-(-window * rate // model_rate))

    # -- analysis ----------------------------------------------------------------------------
    def voice_confidence(self, buffer: bytes) -> float:
        """Feed ``buffer`` (int16 mono PCM) and return the latest window's raw probability.

        Used by Pipecat's state machine in ``"pipecat"`` mode; each call advances the stream,
        so do not mix it with :meth:`analyze_audio` in ``"turnengine"`` mode.
        """
        with self._lock:
            windows = self._require_tap().push(buffer)
        if len(windows):
            self._last_probability = float(windows.probability[-1])
        return self._last_probability

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Analyse one chunk (int16 mono PCM at ``sample_rate``, any length); return the state.

        Runs on the analyzer's single worker thread, as Pipecat's own analyzers do.
        """
        if self._hysteresis == "pipecat":
            return await super().analyze_audio(buffer)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(getattr(self, "_executor", None),
                                          self._run_turnengine, buffer)

    def _run_turnengine(self, buffer: bytes) -> VADState:
        with self._lock:
            windows = self._require_tap().push(buffer)
        n = len(windows)
        if n:
            last = int(windows.flags[n - 1])
            self._last_probability = float(windows.probability[n - 1])
            self._vad_state = _STATES[(bool(last & SPEAKING), bool(last & RAW_SPEECH))]
        return self._vad_state

    def _require_tap(self) -> WindowTap:
        if self._tap is None:
            raise RuntimeError("call set_sample_rate() first (a Pipecat pipeline does this at "
                               "its StartFrame)")
        return self._tap


from .pipecat_turn import TurnAnalyzer, TurnAnalyzerParams  # noqa: E402  (re-exported)

__all__ = ["TurnEngineVADAnalyzer", "HYSTERESIS_MODES", "TurnAnalyzer", "TurnAnalyzerParams"]
