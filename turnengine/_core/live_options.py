"""Options changed during a call: ``TurnEngine.update_options`` (LiveKit
``AgentSession.update_options``, Pipecat ``set_params``).

:class:`LiveOptions` validates the changes as the constructor does, hands the new values to
every part that holds one (the hysteresis and timers kernels, the end-of-turn decisions, the
audio history, the STT gate, the session and the VAD reporting), then emits
``options_updated`` and keeps the history of changes for the report.

When they apply: at the engine clock as it stands (the end of the last complete VAD window),
so from the next window on, never mid-window.  Called from a callback in the middle of a chunk,
the windows after the current one are decided again by the hysteresis with the new options
(the driver's ``reclassify``), so the result does not depend on how the audio was chunked.

Pending decisions follow the options in force: a changed delay or timeout moves the pending
deadline it governs to that deadline's anchor plus the new value (the endpointing delay from the
end of speech, the false-interruption timeout from the end of the interrupting speech, the away
timeout from when user and agent both became listening, the AEC warm-up from the agent's first
speech); a deadline that has then passed fires at the next window (at once during ``advance``).
A delay the end-of-turn model's answer already chose stays until its next answer.
"""

from __future__ import annotations

from typing import Any

from .._kernels.codes import TurnDetection
from ..events import OptionsUpdatedEvent
from ..options import TurnEngineOptions, seconds_to_samples, seconds_to_windows
from .bus import EventBus
from .clock import SampleClock
from .driver import Driver
from .history import AudioHistory
from .pipeline import Pipeline
from .playout_api import capped_warmup
from .session import Session
from .vad_report import VadReporting

#: Constructor arguments that are not options: they shape what the engine was built with
#: (rates, kernels, models, buffers) and cannot change during a call.
FIXED_ARGUMENTS: tuple[str, ...] = (
    "sample_rate", "vad", "turn_detector", "model_path", "stt_gate", "keep_window_log",
    "eot_executor", "eot_model", "audio_stall_watchdog", "options")
_HYSTERESIS = frozenset(("activation_threshold", "deactivation_threshold", "min_speech_duration",
                         "min_silence_duration", "smoothing_alpha", "min_volume"))
_ENDPOINTING = frozenset(("min_endpointing_delay", "max_endpointing_delay", "endpointing_mode"))
_HISTORY = frozenset(("prefix_padding_duration", "max_buffered_speech", "min_silence_duration"))


def _off(seconds: float | None, rate: int) -> int:
    return -1 if seconds is None else seconds_to_samples(seconds, rate)


class LiveOptions:
    """The options of one engine, changed during the call (see the module notes).

    Parameters
    ----------
    options : TurnEngineOptions
        Those the engine was built with.
    turn_detector : str or None
        The engine's end-of-turn model (``eager_eot_threshold`` needs one).
    pipeline, driver, session, vad_report, history, bus, clock
        The engine's parts.
    """

    def __init__(self, options: TurnEngineOptions, turn_detector: str | None,
                 pipeline: Pipeline, driver: Driver, session: Session,
                 vad_report: VadReporting, history: AudioHistory, bus: EventBus,
                 clock: SampleClock) -> None:
        self.options = options
        self._detector = turn_detector
        self._pipe, self._driver, self._session = pipeline, driver, session
        self._vad_report, self._history = vad_report, history
        self._bus, self._clock = bus, clock
        #: Every change so far: ``{"stream_time": s, "changes": {name: new value}}``.
        self.updates: list[dict[str, Any]] = []

    def validated(self, changes: dict[str, Any]) -> TurnEngineOptions:
        """The options with ``changes`` applied; nothing changes anywhere.

        Raises
        ------
        TypeError
            Unknown option names, or a value of the wrong type.
        ValueError
            A constructor argument that cannot change during a call, a bad value, or
            ``eager_eot_threshold`` on an engine without an end-of-turn model.
        """
        fixed = sorted(set(changes) & set(FIXED_ARGUMENTS))
        if fixed:
            raise ValueError(f"{fixed} cannot change during a call (the engine was built "
                             "with them); create a new TurnEngine")
        unknown = sorted(set(changes) - set(TurnEngineOptions.option_names()))
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}; see "
                            "TurnEngineOptions.option_names()")
        new = self.options.replace(**changes)
        if new.eager_eot_threshold is not None and self._detector is None:
            raise ValueError("option eager_eot_threshold needs an end-of-turn model "
                             "(turn_detector='smart-turn'); got turn_detector=None")
        return new

    def update(self, changes: dict[str, Any]) -> TurnEngineOptions:
        """Validate and apply ``changes``; emit ``options_updated`` when a value changed.

        Returns the options now in force.  Raises as :meth:`validated` (nothing changes)."""
        new, old = self.validated(changes), self.options
        changed = [n for n in TurnEngineOptions.option_names()
                   if getattr(new, n) != getattr(old, n)]
        if not changed:
            return old
        self._apply(new, frozenset(changed))
        self.options = new
        now = self._pipe.now
        diff = {n: getattr(new, n) for n in changed}
        self.updates.append({"stream_time": self._clock.seconds(now), "changes": dict(diff)})
        self._bus.emit(OptionsUpdatedEvent(
            stream_time=self._clock.seconds(now), created_at=self._clock.epoch(now),
            changes=diff, previous={n: getattr(old, n) for n in changed}))
        return new

    def _apply(self, o: TurnEngineOptions, changed: frozenset[str]) -> None:
        pipe, session = self._pipe, self._session
        if changed & _HYSTERESIS:
            pipe.configure_hysteresis(o)
            self._driver.options_changed()
        self._apply_timers(o, changed)
        if changed & _HISTORY:
            self._history.resize(o)
            ring = self._history.ring
            if session.gate is not None and ring is not None:  # (the gate keeps it on)
                session.gate.rebind(ring, seconds_to_samples(o.prefix_padding_duration,
                                                             pipe.model_rate))
        session.options = o
        self._vad_report.options = o
        session.eot.options = o
        if changed & _ENDPOINTING:
            delay = session.eot.update_options(o)
            pipe.timers.set_endpoint_delay(seconds_to_samples(delay, pipe.model_rate))

    def _apply_timers(self, o: TurnEngineOptions, changed: frozenset[str]) -> None:
        t, sr = self._pipe.timers, self._pipe.model_rate
        predict_after = self._session.eot.predict_after_samples  # -1 without a model
        setters: dict[str, Any] = {
            "min_interruption_duration": lambda: t.set_min_interruption(
                seconds_to_samples(o.min_interruption_duration, sr)),
            "min_interruption_words": lambda: t.set_min_words(o.min_interruption_words),
            "allow_interruptions": lambda: t.set_allow_interruptions(o.allow_interruptions),
            "user_away_timeout": lambda: t.set_away_timeout(_off(o.user_away_timeout, sr)),
            "aec_warmup_duration": lambda: t.set_aec_warmup(capped_warmup(o, self._pipe)),
            "false_interruption_timeout": lambda: t.set_false_interruption_timeout(
                _off(o.false_interruption_timeout, sr)),
            "resume_false_interruption": lambda: t.set_resume_false_interruption(
                o.resume_false_interruption),
            "endpointing_start": lambda: t.set_from_silence(o.endpointing_start == "silence"),
            "eot_prediction_interval": lambda: t.set_predict_interval(
                _off(o.eot_prediction_interval, sr) if predict_after >= 0 else -1),
            "min_speech_duration": lambda: t.set_restart_windows(seconds_to_windows(
                o.min_speech_duration, self._pipe.window_size / sr)),
        }
        for name in TurnEngineOptions.option_names():  # (declaration order: deterministic)
            if name in changed and name in setters:
                setters[name]()
        if "turn_detection" in changed:
            mode = TurnDetection[o.turn_detection.upper()]
            t.set_turn_detection(int(mode), predict_after if mode is TurnDetection.VAD else -1)

