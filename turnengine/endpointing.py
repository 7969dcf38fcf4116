"""End-of-turn decisions beyond a fixed delay (SPEC 5): the Smart Turn model and dynamic delays.

:class:`EndOfTurn` owns what the engine needs for an end-of-turn model:

- the streaming Whisper log-mel features of the current user turn (``ext/features.pyx``), fed
  with the turn's 16 kHz audio as the engine processes it (8 kHz input goes through the intake
  kernel's 8 -> 16 kHz upsampler);
- the Smart Turn v3.2 model (:class:`turnengine.eot.SmartTurnModel`, Pipecat's, BSD-2), run
  speculatively when the timers kernel says the user's silence reached 0.2 s, either inline (a
  replay: the answer lands at the same sample every time) or on a worker thread (live use:
  onnxruntime releases the GIL, so ``push_audio`` is never stalled by the model);
- the choice of delay: ``max_endpointing_delay`` when P(turn complete) < ``unlikely_threshold``,
  else the minimum delay, reported with a ``reason`` (``model_likely``, ``model_unlikely``,
  ``fallback`` when the model failed or is not installed);
- ``endpointing_mode="dynamic"``: the minimum delay follows the user's own pauses (an
  exponential moving average, alpha 0.9, clamped to [min, max]).
"""

from __future__ import annotations

import concurrent.futures
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _kernels
from .options import TurnEngineOptions

logger = logging.getLogger("turnengine")

TURN_DETECTORS: tuple[str | None, ...] = (None, "smart-turn")
PREDICT_AFTER_S = 0.2     # SPEC 5: predict speculatively once silence reaches 0.2 s
DYNAMIC_ALPHA = 0.9       # weight of the old estimate in the dynamic minimum delay
EOT_EXECUTORS = ("thread", "inline")


@dataclass(frozen=True)
class Decision:
    """How one turn's end was decided.

    Attributes
    ----------
    delay : float
        Endpointing delay used, seconds after the end of speech.
    reason : str
        ``model_likely``, ``model_unlikely``, ``no_model``, ``fallback``.
    probability : float or None
        The model's P(turn complete), when it answered.
    """

    delay: float
    reason: str
    probability: float | None = None


class EndOfTurn:
    """End-of-turn model, features and dynamic delay for one engine.

    Parameters
    ----------
    turn_detector : {None, "smart-turn"}
        The model to use.
    options : TurnEngineOptions
        ``min_endpointing_delay``, ``max_endpointing_delay``, ``unlikely_threshold``,
        ``endpointing_mode``.
    model_rate : {16000, 8000}
        Rate of the engine's processed audio.
    executor : {"thread", "inline"}
        Where predictions run: a worker thread (live) or the calling thread (replays).
    model : SmartTurnModel, optional
        An already loaded model (shared between engines); loaded here when omitted.

    Raises
    ------
    ValueError
        Unknown ``turn_detector`` or ``executor``.

    Warns
    -----
    UserWarning
        When ``"smart-turn"`` is asked for but the model cannot be loaded (the ``smart-turn``
        extra is missing): the engine falls back to the fixed delay and says so in each turn's
        ``reason`` (``"fallback"``).
    """

    def __init__(self, turn_detector: str | None, options: TurnEngineOptions, model_rate: int,
                 executor: str = "thread", model: Any = None) -> None:
        if turn_detector not in TURN_DETECTORS:
            raise ValueError(f"unknown turn_detector {turn_detector!r}; expected one of "
                             f"{TURN_DETECTORS}")
        if executor not in EOT_EXECUTORS:
            raise ValueError(f"eot_executor must be one of {EOT_EXECUTORS}, got {executor!r}")
        self.options = options
        self.model_rate = model_rate
        self.executor = executor
        self.min_delay = options.min_endpointing_delay
        self.dynamic = options.endpointing_mode == "dynamic"
        self.model: Any = None
        self.fallback = False
        if turn_detector == "smart-turn":
            if model is None:
                from .eot import load_smart_turn

                model = load_smart_turn(stacklevel=3)
            self.model = model
            self.fallback = model is None
        self._features: Any = None
        self._upsampler: Any = None
        self._feat_buf = np.zeros(0, dtype=np.float32)
        self._feature_out = np.zeros((80, 800), dtype=np.float32)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: tuple[int, concurrent.futures.Future[float]] | None = None
        self._request_id = 0
        self._warned_failure = False
        self.decision: Decision | None = None
        if self.model is not None:
            self._features = _kernels.load("features").WhisperFeatures()
            if model_rate != 16000:
                self._upsampler = _kernels.load("pcm").Intake(model_rate, output_rate_hz=16000)

    # -- the turn's audio ---------------------------------------------------------------------
    @property
    def uses_model(self) -> bool:
        """True when a model answers end-of-turn questions."""
        return self.model is not None

    @property
    def predict_after_samples(self) -> int:
        """Silence (model-rate samples) at which to predict; -1 without a model."""
        return int(round(PREDICT_AFTER_S * self.model_rate)) if self.uses_model else -1

    def start_turn(self, audio: np.ndarray) -> None:
        """A new user turn begins; ``audio`` (float32, model rate) is its speech so far."""
        if self._features is None:
            return
        self._features.reset()
        if self._upsampler is not None:
            self._upsampler.reset()
        self.feed(audio)

    def feed(self, audio: np.ndarray) -> None:
        """More of the turn's audio (float32, shape (n,), model rate)."""
        if self._features is None or audio.shape[0] == 0:
            return
        if self._upsampler is not None:
            need = int(self._upsampler.max_output(audio.shape[0]))
            if self._feat_buf.shape[0] < need:
                self._feat_buf = np.zeros(max(need, 2 * self._feat_buf.shape[0]), np.float32)
            n = int(self._upsampler.process(np.ascontiguousarray(audio), self._feat_buf))
            audio = self._feat_buf[:n]
        self._features.push(np.ascontiguousarray(audio, dtype=np.float32))

    # -- predictions ---------------------------------------------------------------------------
    def _delay_for(self, probability: float) -> Decision:
        if probability < self.options.unlikely_threshold:
            return Decision(self.options.max_endpointing_delay, "model_unlikely", probability)
        return Decision(self.min_delay, "model_likely", probability)

    def _features_now(self) -> np.ndarray:
        self._features.features(self._feature_out)
        return self._feature_out.copy()

    def request(self) -> Decision | None:
        """The user's silence reached the prediction point: predict for the turn so far.

        Returns
        -------
        Decision or None
            The decision now (inline executor, or a failure), or None when a worker thread is
            computing it (collect it with :meth:`poll`).
        """
        self._request_id += 1
        features = self._features_now()
        if self.executor == "inline":
            return self._decide(self._predict, features)
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="turnengine-eot")
        self._pending = (self._request_id, self._pool.submit(self.model.predict, features))
        return None

    def _predict(self, features: np.ndarray) -> float:
        return float(self.model.predict(features))

    def _decide(self, fn: Any, *args: Any) -> Decision:
        try:
            return self._delay_for(fn(*args))
        except Exception as exc:
            return self._failed(exc)

    def _failed(self, exc: BaseException) -> Decision:
        if not self._warned_failure:
            self._warned_failure = True
            logger.warning("end-of-turn model failed (%s); using the fixed delay", exc)
        return Decision(self.min_delay, "fallback", None)

    def poll(self) -> Decision | None:
        """The worker's answer for the latest request, once it is ready (else None)."""
        if self._pending is None:
            return None
        request_id, future = self._pending
        if not future.done():
            return None
        self._pending = None
        if request_id != self._request_id:
            return None  # a newer prediction superseded it
        exc = future.exception()
        if exc is not None:
            return self._failed(exc)
        return self._delay_for(float(future.result()))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the pending worker answer is ready; the engine applies it at its next
        ``push_audio``/``advance``.  Returns False on timeout."""
        pending = self._pending  # read once: push_audio may clear it on another thread
        if pending is None:
            return True
        done, _ = concurrent.futures.wait([pending[1]], timeout=timeout)
        return bool(done)

    def fixed_decision(self) -> Decision:
        """The decision without a model: the (possibly dynamic) minimum delay."""
        return Decision(self.min_delay, "fallback" if self.fallback else "no_model", None)

    def update_options(self, options: TurnEngineOptions) -> float:
        """Options changed during the call (``TurnEngine.update_options``): thresholds and
        delays from the next decision on.  In dynamic mode the learnt minimum delay is kept
        within the new [min, max]; switching modes starts from ``min_endpointing_delay``.

        Returns
        -------
        float
            The minimum delay now in force (s).
        """
        lo, hi = options.min_endpointing_delay, options.max_endpointing_delay
        dynamic = options.endpointing_mode == "dynamic"
        self.min_delay = min(hi, max(lo, self.min_delay)) if dynamic and self.dynamic else lo
        self.dynamic = dynamic
        self.options = options
        return self.min_delay

    # -- dynamic endpointing -------------------------------------------------------------------
    def observe_pause(self, pause_s: float) -> float | None:
        """A pause of the user's (end of speech to their next speech, no agent turn between).

        Returns
        -------
        float or None
            The new minimum delay (s) in dynamic mode, else None.
        """
        if not self.dynamic or pause_s < 0 or pause_s > self.options.max_endpointing_delay:
            return None
        lo, hi = self.options.min_endpointing_delay, self.options.max_endpointing_delay
        self.min_delay = min(hi, max(lo, DYNAMIC_ALPHA * self.min_delay
                                     + (1.0 - DYNAMIC_ALPHA) * pause_s))
        return self.min_delay

    def close(self) -> None:
        """Stop the worker thread (pending work is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
