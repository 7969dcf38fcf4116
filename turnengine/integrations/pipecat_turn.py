"""Pipecat turn analyzer backed by turnengine's end-of-turn path.

Use it wherever Pipecat's Smart Turn analyzer goes (one line changes)::

    from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
    from pipecat.turns.user_turn_strategies import UserTurnStrategies
    from turnengine.integrations.pipecat import TurnAnalyzer

    strategies = UserTurnStrategies(
        stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=TurnAnalyzer())])  # was:
        # LocalSmartTurnAnalyzerV3()
    # LLMUserAggregatorParams(user_turn_strategies=strategies) or UserTurnProcessor(...)

``TurnAnalyzer`` is a ``BaseTurnAnalyzer`` (pipecat-ai ``audio/turn/base_turn_analyzer.py``) of
the streaming kind, as Krisp's: ``append_audio`` returns ``COMPLETE`` on the frame where the
turn ends, and ``analyze_end_of_turn`` (asked at the VAD's stop) says whether it has already
ended in the current pause.  Behind it one
:class:`~turnengine.integrations.turns.TurnTap` runs the same Smart Turn v3.2 model as
``LocalSmartTurnAnalyzerV3``, but asked again every ``eot_prediction_interval`` while the user
is silent, the turn committing at ``min_endpointing_delay`` of silence once an answer is at or
above ``unlikely_threshold`` and at ``stop_secs`` (Pipecat's name for the longest wait) in any
case.  Pipecat's analyzer asks once, when its VAD stops, and waits ``stop_secs`` when the answer
is "incomplete".

The analyzer tracks speech with its own VAD (turnengine's Silero kernel) and ignores
``append_audio``'s ``is_speech``; the model runs on the engine's worker thread, so
``append_audio`` (called on the event loop for every input frame) never waits for it.

Requires the ``pipecat`` extra; the model file ships in ``pipecat-ai`` itself.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.metrics.metrics import MetricsData, TurnMetricsData

from ..audio import check_sample_rate
from ..vad import DEFAULT_VAD, VAD_BACKENDS
from . import shared_backend
from .turns import TurnDecision, TurnTap, shared_turn_model, turn_options


class TurnAnalyzerParams(SmartTurnParams):
    """Pipecat's ``SmartTurnParams`` plus turnengine's end-of-turn options.

    Parameters
    ----------
    stop_secs : float
        Longest silence before the turn ends whatever the model says (3.0, Pipecat's default;
        turnengine's ``max_endpointing_delay``).
    pre_speech_ms, max_duration_secs : float
        Accepted for compatibility: the engine keeps the turn from its VAD's onset (with
        ``prefix_padding_duration``) and the model reads its last 8 s.
    min_endpointing_delay : float
        Silence before a turn the model calls complete ends (0.5 s).
    unlikely_threshold : float
        Answers below it are "incomplete" (0.5, Pipecat's cut).
    eot_prediction_interval : float or None
        Ask again every this many seconds of silence (0.1); None asks once a pause.
    endpointing_start : {"silence", "end_of_speech"}
        Count the silence from the last voiced window (default) or from the analyzer's VAD stop.
    """

    min_endpointing_delay: float = 0.5
    unlikely_threshold: float = 0.5
    eot_prediction_interval: float | None = 0.1
    endpointing_start: str = "silence"


class TurnAnalyzer(BaseTurnAnalyzer):
    """Pipecat turn analyzer: Smart Turn v3.2 with turnengine's re-scoring.

    Parameters
    ----------
    sample_rate : int, optional
        Input rate in Hz; default: the pipeline's (``set_sample_rate``).  8 to 48 kHz.
    params : TurnAnalyzerParams, optional
        Timing and threshold options (see the class).
    smart_turn_model_path : str, optional
        A ``smart-turn-v3*.onnx`` file (``LocalSmartTurnAnalyzerV3``'s name); default: the one
        ``pipecat-ai`` ships.  Loaded once per process and shared by every analyzer.
    backend : {"silero", "silero-onnx", "energy"}
        The analyzer's VAD backend.
    **vad_options
        Hysteresis options of that VAD (``activation_threshold``, ``min_silence_duration``...).

    Raises
    ------
    TypeError, ValueError
        An unknown option, a value out of range, an unknown backend or rate.
    turnengine.eot.ModelUnavailableError
        ``smart_turn_model_path`` given and unreadable.

    Warns
    -----
    UserWarning
        The default model is missing: the analyzer then says ``COMPLETE`` whenever asked, so
        the turn ends when the pipeline's VAD stops (Pipecat's plain VAD turn).
    """

    def __init__(self, *, sample_rate: int | None = None,
                 params: TurnAnalyzerParams | None = None,
                 smart_turn_model_path: str | os.PathLike[str] | None = None,
                 backend: str = DEFAULT_VAD, **vad_options: Any) -> None:
        if backend not in VAD_BACKENDS:
            raise ValueError(f"unknown VAD backend {backend!r}; expected one of {VAD_BACKENDS}")
        if sample_rate is not None:
            check_sample_rate(sample_rate)
        super().__init__(sample_rate=sample_rate)
        self._params = params or TurnAnalyzerParams()
        self._vad_options = vad_options
        self._options = self._options_for(self._params)  # validate now
        self._backend = backend
        self._model = shared_turn_model(smart_turn_model_path)
        if self._model is None:
            warnings.warn("turnengine TurnAnalyzer: the Smart Turn model is not installed "
                          "(pip install 'turnengine[smart-turn]'); turns end when the VAD stops",
                          stacklevel=2)
        shared_backend(backend, 16000)  # read the VAD weights now
        self._tap: TurnTap | None = None
        self._pending: TurnDecision | None = None  # ended, not yet cleared by the strategy

    def _options_for(self, params: TurnAnalyzerParams) -> Any:
        return turn_options(max_endpointing_delay=params.stop_secs,
                            min_endpointing_delay=params.min_endpointing_delay,
                            unlikely_threshold=params.unlikely_threshold,
                            eot_prediction_interval=params.eot_prediction_interval,
                            endpointing_start=params.endpointing_start, **self._vad_options)

    # -- BaseTurnAnalyzer ----------------------------------------------------------------------
    @property
    def params(self) -> TurnAnalyzerParams:
        """The analyzer's parameters (Pipecat broadcasts them in ``SpeechControlParamsFrame``)."""
        return self._params

    @property
    def speech_triggered(self) -> bool:
        """True while a turn is open: speech since the last turn end."""
        return self._tap is not None and self._tap.speech_since_decision

    @property
    def is_fallback(self) -> bool:
        """True when the model is missing (turns end at the VAD's stop)."""
        return self._model is None

    @property
    def engine(self) -> Any:
        """The :class:`~turnengine.TurnEngine` behind the analyzer (None before audio)."""
        return None if self._tap is None else self._tap.engine

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the input rate (Pipecat calls it at the pipeline's start).

        Raises
        ------
        TypeError, ValueError
            A rate turnengine does not take.
        """
        check_sample_rate(self._init_sample_rate or sample_rate)
        if self._tap is not None and (self._init_sample_rate or sample_rate) != self.sample_rate:
            self._close_tap()
        super().set_sample_rate(sample_rate)

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        """Feed one frame (int16 mono PCM bytes); ``COMPLETE`` on the frame where the turn ends.

        ``is_speech`` (the pipeline VAD's state) is not used: the engine's own VAD decides.
        """
        del is_speech
        if self._model is None:
            return EndOfTurnState.INCOMPLETE
        if self._tap is None:
            self._tap = TurnTap(self.sample_rate or 16000, self._model, self._options,
                                self._backend)
        decisions = self._tap.push(buffer)
        if self._tap.speech_since_decision:  # the user spoke again: an old decision is stale
            self._pending = None
            return EndOfTurnState.INCOMPLETE
        if decisions:
            self._pending = decisions[-1]
            return EndOfTurnState.COMPLETE
        return EndOfTurnState.INCOMPLETE

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        """``COMPLETE`` (with Pipecat's ``TurnMetricsData``) if the turn ended in this pause.

        No work is done here: the engine decides while the audio comes in.
        """
        if self._model is None:
            return EndOfTurnState.COMPLETE, None
        decision = self._pending
        if decision is None:
            return EndOfTurnState.INCOMPLETE, None
        lag_ms = 0.0 if self._tap is None else 1e3 * max(
            0.0, self._tap.stream_time - decision.stream_time)
        p = 1.0 if decision.probability is None else float(decision.probability)
        return EndOfTurnState.COMPLETE, TurnMetricsData(
            processor=type(self).__name__, is_complete=True, probability=p,
            e2e_processing_time_ms=lag_ms)

    def clear(self) -> None:
        """The turn ended (here or by another strategy): forget the decision.  (Pipecat's turn
        controller ignores a second stop, and a stop while its VAD hears the user: the turn then
        ends at the VAD's stop, whose ``analyze_end_of_turn`` still reports the decision.)"""
        self._pending = None

    async def cleanup(self) -> None:
        """Stop the engine's worker thread; the analyzer stays usable (a new engine on the next
        frame), as Pipecat's strategies may clean up and re-apply it."""
        await super().cleanup()
        self._close_tap()

    def _close_tap(self) -> None:
        if self._tap is not None:
            self._tap.close()
        self._tap = None
        self._pending = None


__all__ = ["TurnAnalyzer", "TurnAnalyzerParams"]
