"""What the two turn plug-ins share: one Smart Turn model per process and a :class:`TurnTap`.

``turnengine.integrations.livekit.TurnDetector`` (a LiveKit streaming turn detector) and
``turnengine.integrations.pipecat.TurnAnalyzer`` (a Pipecat ``BaseTurnAnalyzer``) both put the
engine's end-of-turn path inside their framework: the Smart Turn v3.2 model, its re-scoring
every ``eot_prediction_interval`` while the user is silent, ``unlikely_threshold`` and the
endpointing delays.  Neither copies that logic: each stream runs one :class:`TurnTap`, a
:class:`~turnengine.TurnEngine` with ``turn_detector="smart-turn"``, and reports the engine's
``user_turn_completed`` decisions in its framework's terms.

Sharing (what :func:`shared_turn_model` guarantees): the model is loaded once per process, under
a lock, the first time a detector or analyzer is built, and every stream of every detector
passes that one ``SmartTurnModel`` to its engine (``eot_model=``): 20 sessions hold one
onnxruntime session.  Each stream keeps its own streaming log-mel state (the features kernel's
``WhisperFeatures``, 80 x 800 float32) since it describes that stream's turn; the kernel code and
its mel filter bank are the process's.  The model runs on the engine's worker thread
(``eot_executor="thread"``): a stream's ``push`` runs the VAD and the features (tens of
microseconds a frame) and never waits for the model.

Neither framework is imported here.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio import model_rate_for
from ..engine import TurnEngine
from ..eot import SmartTurnModel, load_smart_turn
from ..events import UserStateChangedEvent, UserTurnCompletedEvent
from ..options import TurnEngineOptions
from ..vad import DEFAULT_VAD
from . import VAD_OPTION_NAMES, shared_backend

#: The engine options of the end-of-turn path the plug-ins take (SPEC 5 names, LiveKit's).
EOT_OPTION_NAMES: tuple[str, ...] = (
    "min_endpointing_delay",
    "max_endpointing_delay",
    "unlikely_threshold",
    "endpointing_start",
    "eot_prediction_interval",
)

_lock = threading.Lock()
_models: dict[str | None, SmartTurnModel | None] = {}


def shared_turn_model(model_path: str | os.PathLike[str] | None = None) -> SmartTurnModel | None:
    """The process's Smart Turn model, loaded on first use (thread-safe; one per file).

    Parameters
    ----------
    model_path : str or PathLike, optional
        A ``smart-turn-v3*.onnx`` file; default: the one ``pipecat-ai`` ships.

    Returns
    -------
    SmartTurnModel or None
        The model, or None when the default model is not installed (the ``smart-turn`` extra,
        i.e. ``pipecat-ai``, is missing); the caller falls back and warns.  The answer is kept:
        a missing model is looked for once per process.

    Raises
    ------
    turnengine.eot.ModelUnavailableError
        ``model_path`` was given and cannot be opened (a named file is never silently
        replaced by the fallback).
    """
    key = None if model_path is None else os.fspath(model_path)
    with _lock:
        if key not in _models:
            _models[key] = (load_smart_turn(warn=False) if key is None
                            else SmartTurnModel.load(key))
        return _models[key]


def turn_options(**given: Any) -> TurnEngineOptions:
    """Validated engine options from end-of-turn and VAD option names (``None`` skipped, except
    ``eot_prediction_interval=None``: ask once a pause).

    Raises
    ------
    TypeError
        An unknown option name (the message lists the accepted ones).
    ValueError
        A value out of range (SPEC 3.2, 5).
    """
    allowed = EOT_OPTION_NAMES + VAD_OPTION_NAMES
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; expected some of {allowed}")
    kept = {k: v for k, v in given.items() if v is not None or k == "eot_prediction_interval"}
    return TurnEngineOptions(**kept)


@dataclass(frozen=True)
class TurnDecision:
    """The engine committed the user's turn (its ``user_turn_completed``).

    Attributes
    ----------
    stream_time : float
        When the turn was committed, s of the stream's audio.
    probability : float or None
        The model's latest answer for the pause (None: no answer, e.g. the model raised).
    reason : str
        ``"model_likely"``, ``"model_unlikely"`` or ``"fallback"`` (the engine's ``reason``).
    endpointing_delay : float
        The delay the decision applied, s.
    probabilities : tuple of (float, float)
        Every answer of the turn as ``(stream_time, probability)``.
    """

    stream_time: float
    probability: float | None
    reason: str
    endpointing_delay: float
    probabilities: tuple[tuple[float, float], ...]


class TurnTap:
    """A :class:`~turnengine.TurnEngine` used as a streaming end-of-turn detector.

    Parameters
    ----------
    sample_rate : int
        Rate of the pushed audio, Hz (``turnengine.audio.SUPPORTED_RATES``).
    model : SmartTurnModel
        The shared model (:func:`shared_turn_model`).
    options : TurnEngineOptions
        End-of-turn and VAD options; the away timer is turned off.
    backend : str
        turnengine VAD backend name; its weights are shared too (``shared_backend``).

    Raises
    ------
    TypeError, ValueError
        As :class:`~turnengine.TurnEngine` (an unsupported rate, a bad option).
    """

    def __init__(self, sample_rate: int, model: SmartTurnModel, options: TurnEngineOptions,
                 backend: str = DEFAULT_VAD) -> None:
        vad = shared_backend(backend, model_rate_for(sample_rate)).fresh()
        self.engine = TurnEngine(sample_rate=sample_rate, vad=vad, turn_detector="smart-turn",
                                 eot_model=model, eot_executor="thread",
                                 options=options.replace(user_away_timeout=None))
        self.speech_since_decision = False  # the user spoke after the last decision
        self.last: TurnDecision | None = None  # the last decision, if no speech came after it

    def push(self, pcm: np.ndarray | bytes) -> list[TurnDecision]:
        """Push int16 audio (array or bytes at ``sample_rate``); return the turns committed.

        Raises
        ------
        TypeError, ValueError
            As :meth:`TurnEngine.push_audio`.
        """
        decisions = []
        for ev in self.engine.push_audio(pcm):
            if isinstance(ev, UserStateChangedEvent) and ev.new_state == "speaking":
                self.speech_since_decision = True
                self.last = None
            elif isinstance(ev, UserTurnCompletedEvent):
                self.speech_since_decision = False
                self.last = TurnDecision(ev.stream_time, ev.eot_probability, ev.reason,
                                         ev.endpointing_delay, tuple(ev.eot_probabilities))
                decisions.append(self.last)
        return decisions

    @property
    def speaking(self) -> bool:
        """The engine's user state is ``"speaking"``."""
        return bool(self.engine.user_state == "speaking")

    @property
    def stream_time(self) -> float:
        """Seconds of audio pushed so far."""
        return float(self.engine.stream_time)

    def wait_for_model(self, timeout: float | None = None) -> bool:
        """Block until an answer in flight is in (applied at the next push); False on timeout."""
        return bool(self.engine.wait_for_model(timeout))

    def close(self) -> None:
        """Close the engine (stops its worker thread)."""
        self.engine.close()


__all__ = ["EOT_OPTION_NAMES", "TurnDecision", "TurnTap", "shared_turn_model", "turn_options"]
