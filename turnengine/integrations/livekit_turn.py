"""LiveKit Agents streaming turn detector backed by turnengine's end-of-turn path.

One line changes in an agent::

    from livekit.agents import AgentSession
    from turnengine.integrations.livekit import VAD, TurnDetector

    session = AgentSession(vad=VAD.load(), turn_detection=TurnDetector(), stt=..., llm=...)

``TurnDetector`` has the shape ``AgentSession`` asks of a streaming (audio) turn detector
(livekit-agents ``voice/turn.py``: ``_StreamingTurnDetector.stream()`` returning a stream with
``push_audio``, ``predict() -> Future[TurnDetectionEvent]``, ``cancel_inference``, ``flush``,
``end_input``, ``aclose``, ``unlikely_threshold``, ``supports_language``, ``prediction_timeout``),
the interface of LiveKit's own ``inference.TurnDetector``.

How its answers drive ``AgentSession`` (livekit-agents 1.8 ``AudioRecognition``): the session
pushes every input frame to the stream, calls ``predict()`` once the user has been silent for
200 ms, cancels it when speech comes back, and at the VAD's ``END_OF_SPEECH`` waits for the
future; an answer below ``unlikely_threshold`` makes it wait ``max_delay`` after the last
speech, else ``min_delay``.  LiveKit's own detector answers the first question at once.  This
stream runs a :class:`~turnengine.integrations.turns.TurnTap` (a ``TurnEngine`` with Smart
Turn v3.2, re-scored every ``eot_prediction_interval`` while the user is silent) and resolves
the future when that engine commits the turn, with the engine's last answer: the turn ends when
turnengine decides, never before the session's VAD has ended the speech, and the session's own
``min_delay``/``max_delay`` (0.3/2.5 s for streaming detectors) are already spent by then.

Requires the ``livekit`` extra and, for the model, ``pipecat-ai`` (the ``smart-turn`` extra).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
import weakref
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.voice.turn import TurnDetectionEvent

from ..audio import SUPPORTED_RATES
from ..eot import SMART_TURN_MODEL_FILE
from ..vad import DEFAULT_VAD, VAD_BACKENDS
from . import shared_backend
from .turns import TurnDecision, TurnTap, shared_turn_model, turn_options

logger = logging.getLogger("turnengine.integrations.livekit")

#: Seconds ``AgentSession`` waits for an answer beyond ``max_endpointing_delay``.
PREDICTION_MARGIN_S = 1.0


class _Thresholds:
    """What ``AgentSession`` asks a detector and its streams about thresholds and languages."""

    _options: Any

    async def unlikely_threshold(self, language: Any = None) -> float | None:
        """The threshold for every language (Smart Turn v3 is one multilingual model)."""
        return float(self._options.unlikely_threshold)

    async def backchannel_threshold(self, language: Any = None) -> float | None:
        """None: Smart Turn gives no backchannel probability."""
        return None

    async def supports_language(self, language: Any = None) -> bool:
        """True: the model reads audio only (trained on 23 languages)."""
        return True


class TurnDetector(_Thresholds):
    """LiveKit streaming turn detector: Smart Turn v3.2 with turnengine's re-scoring.

    Parameters
    ----------
    unlikely_threshold : float
        An answer below it is "turn unlikely complete" (LiveKit's name; 0.5, Pipecat's cut).
    min_endpointing_delay, max_endpointing_delay : float
        Seconds of silence before a likely turn commits / after which any turn commits
        (0.5 and 3.0, turnengine's defaults).
    eot_prediction_interval : float or None
        The model is asked at 0.2 s of silence, then again every this many seconds until the
        turn commits (0.1); None asks once a pause, as LiveKit's detector does.
    endpointing_start : {"silence", "end_of_speech"}
        Count the delays from the last voiced window (default) or commit no sooner than the
        detector's own VAD end of speech.
    model_path : str, optional
        A ``smart-turn-v3*.onnx`` file; default: the one ``pipecat-ai`` ships.
    backend : {"silero", "silero-onnx", "energy"}
        The detector's VAD backend (it tracks speech itself, as LiveKit's does).
    **vad_options
        Hysteresis options of that VAD (``VAD.load``'s names, e.g. ``activation_threshold``).

    Raises
    ------
    TypeError, ValueError
        An unknown option, a value out of range, an unknown backend.
    turnengine.eot.ModelUnavailableError
        ``model_path`` given and unreadable.

    Warns
    -----
    UserWarning
        The default model is not installed: every prediction answers 1.0 at once, so the
        session commits ``min_delay`` after its VAD's end of speech (LiveKit's plain VAD turn).
    """

    def __init__(self, *, unlikely_threshold: float = 0.5, min_endpointing_delay: float = 0.5,
                 max_endpointing_delay: float = 3.0,
                 eot_prediction_interval: float | None = 0.1,
                 endpointing_start: str = "silence", model_path: str | None = None,
                 backend: str = DEFAULT_VAD, **vad_options: Any) -> None:
        if backend not in VAD_BACKENDS:
            raise ValueError(f"unknown VAD backend {backend!r}; expected one of {VAD_BACKENDS}")
        self._options = turn_options(
            unlikely_threshold=unlikely_threshold, min_endpointing_delay=min_endpointing_delay,
            max_endpointing_delay=max_endpointing_delay,
            eot_prediction_interval=eot_prediction_interval, endpointing_start=endpointing_start,
            **vad_options)
        self._backend = backend
        self._model = shared_turn_model(model_path)
        if self._model is None:
            warnings.warn("turnengine TurnDetector: the Smart Turn model is not installed "
                          "(pip install 'turnengine[smart-turn]'); turns commit on AgentSession's "
                          "VAD end of speech and min_delay", stacklevel=2)
        shared_backend(backend, 16000)  # read the VAD weights now, not on the first frame
        self._streams: weakref.WeakSet[TurnDetectorStream] = weakref.WeakSet()

    @property
    def model(self) -> str:
        """``"smart-turn-v3.2"`` (the model file's name without ``-cpu.onnx``)."""
        return SMART_TURN_MODEL_FILE.removesuffix("-cpu.onnx")

    @property
    def provider(self) -> str:
        return "turnengine"

    @property
    def is_fallback(self) -> bool:
        """True when the model is missing and the session's VAD turn decides."""
        return self._model is None

    @property
    def options(self) -> Any:
        """The :class:`~turnengine.TurnEngineOptions` new streams start with."""
        return self._options

    @property
    def streams(self) -> tuple[TurnDetectorStream, ...]:
        """The detector's streams not yet garbage-collected (one per session)."""
        return tuple(self._streams)

    def stream(self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
               ) -> TurnDetectorStream:
        """A new stream (one per ``AgentSession``); ``conn_options`` is accepted and unused."""
        del conn_options
        stream = TurnDetectorStream(self, self._options)
        self._streams.add(stream)
        return stream

    def update_options(self, **changes: Any) -> None:
        """Change end-of-turn options (:data:`~turnengine.integrations.turns.EOT_OPTION_NAMES`)
        for new streams and, from their next window, the open ones.

        Raises
        ------
        TypeError, ValueError
            An unknown option or a bad value (nothing changes then).
        """
        turn_options(**changes)  # names and values
        self._options = self._options.replace(**changes)
        for stream in self._streams:
            stream._update_options(changes)


class TurnDetectorStream(_Thresholds):
    """One session's stream: audio in, end-of-turn answers out (see the module notes)."""

    def __init__(self, detector: TurnDetector, options: Any) -> None:
        self._detector = detector
        self._options = options
        self._tap: TurnTap | None = None
        self._resampler: rtc.AudioResampler | None = None
        self._rate = 0
        self._fut: asyncio.Future[TurnDetectionEvent] | None = None
        self._closed = False

    # -- what AgentSession reads ---------------------------------------------------------------
    @property
    def model(self) -> str:
        return self._detector.model

    @property
    def provider(self) -> str:
        return self._detector.provider

    @property
    def is_fallback(self) -> bool:
        return self._detector.is_fallback

    @property
    def prediction_timeout(self) -> float:
        """How long the session waits for an answer after END_OF_SPEECH: the longest delay."""
        return float(self._options.max_endpointing_delay) + PREDICTION_MARGIN_S

    @property
    def engine(self) -> Any:
        """The stream's :class:`~turnengine.TurnEngine` (None before the first frame)."""
        return None if self._tap is None else self._tap.engine

    # -- answers -------------------------------------------------------------------------------
    def predict(self) -> asyncio.Future[TurnDetectionEvent]:
        """A future answered when turnengine commits the turn of the current pause."""
        self.cancel_inference()
        fut: asyncio.Future[TurnDetectionEvent] = asyncio.get_running_loop().create_future()
        if self._closed or self.is_fallback:
            fut.set_result(_event(1.0))
            return fut
        self._fut = fut
        if self._tap is not None and self._tap.last is not None:
            self._resolve(self._tap.last)  # already committed in this pause
        return fut

    def cancel_inference(self, *, timed_out: bool = False) -> None:
        """Drop the pending question (new speech, a turn boundary, a timeout): it answers 0.0,
        as LiveKit's own stream does."""
        del timed_out
        fut, self._fut = self._fut, None
        if fut is not None and not fut.done():
            fut.set_result(_event(0.0))

    def _resolve(self, decision: TurnDecision) -> None:
        fut, self._fut = self._fut, None
        if fut is None or fut.done():
            return
        assert self._tap is not None
        lag = max(0.0, self._tap.stream_time - decision.stream_time)
        p = 1.0 if decision.probability is None else float(decision.probability)
        fut.set_result(_event(p, detection_delay=lag))

    # -- audio ---------------------------------------------------------------------------------
    def push_audio(self, frame: rtc.AudioFrame) -> None:
        """Feed one input frame (any rate, any channel count; one format per stream)."""
        if self._closed or self.is_fallback:
            return
        pcm = self._pcm(frame)
        if pcm is None or pcm.shape[0] == 0:
            return
        if self._tap is None:
            model = self._detector._model
            assert model is not None
            self._tap = TurnTap(self._rate if self._resampler is None else 16000, model,
                                self._options, self._detector._backend)
        for decision in self._tap.push(pcm):
            self._resolve(decision)

    def _pcm(self, frame: rtc.AudioFrame) -> np.ndarray | None:
        if self._rate == 0:
            self._rate = frame.sample_rate
            if frame.sample_rate not in SUPPORTED_RATES:
                self._resampler = rtc.AudioResampler(
                    input_rate=frame.sample_rate, output_rate=16000,
                    quality=rtc.AudioResamplerQuality.QUICK)
        elif frame.sample_rate != self._rate:
            logger.error("turn detector: a frame at %d Hz in a %d Hz stream; dropped",
                         frame.sample_rate, self._rate)
            return None
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        if frame.num_channels > 1:
            pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
        if self._resampler is None:
            return pcm
        mono = rtc.AudioFrame(pcm.tobytes(), frame.sample_rate, 1, pcm.shape[0])
        parts = [np.frombuffer(f.data, dtype=np.int16) for f in self._resampler.push(mono)]
        return np.concatenate(parts) if parts else None

    def flush(self, reason: str | None = None) -> None:
        """A turn boundary.  ``"turn committed"`` (the session committed on this stream's answer:
        the engine has ended that turn itself) only drops the pending question; any other
        reason (``"clear_user_turn"``, ``end_input``) drops the turn: a fresh engine from the
        next frame, as LiveKit's own stream drops its buffered audio."""
        self.cancel_inference()
        if reason == "turn committed":
            return
        if self._tap is not None:
            self._tap.close()
        self._tap = None

    def end_input(self) -> None:
        """No more audio: flush, and answer any later question at once (1.0)."""
        self.flush()
        self._closed = True

    async def aclose(self) -> None:
        """End the stream and stop its engine's worker thread."""
        self.end_input()

    def _update_options(self, changes: dict[str, Any]) -> None:
        self._options = self._options.replace(**changes)
        if self._tap is not None:
            self._tap.engine.update_options(**changes)


def _event(probability: float, detection_delay: float | None = None) -> TurnDetectionEvent:
    return TurnDetectionEvent(type="eot_prediction", end_of_turn_probability=probability,
                              last_speaking_time=time.time(), detection_delay=detection_delay)


__all__ = ["TurnDetector", "TurnDetectorStream", "PREDICTION_MARGIN_S"]
