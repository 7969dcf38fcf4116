"""The session layer: kernel codes and host calls become LiveKit-style events.

:class:`Session` holds what only the session knows (the published user and agent states, the
turn in progress, its transcripts, the agent's speech for the chat history, the end-of-turn
decision of the current pause) and reads the timing state from the timers kernel.  Events go
out through the bus; host calls arrive already validated by the facade.
"""

from __future__ import annotations

import numpy as np

from .._kernels.codes import AgentState, EventCode
from ..endpointing import Decision, EndOfTurn
from ..events import (
    AgentFalseInterruptionEvent,
    AgentInterruptedEvent,
    AgentStateChangedEvent,
    EagerEndOfTurnEvent,
    MetricsCollectedEvent,
    TurnResumedEvent,
    UserBackchannelEvent,
    UserStateChangedEvent,
    VADEventType,
)
from ..metrics import STTMetrics
from ..options import TurnEngineOptions, seconds_to_samples
from ..stt_gate import SttGate
from .bus import EventBus
from .clock import SampleClock
from .history import AudioHistory
from .pipeline import Fired, Pipeline
from .turns import Turn, TurnEmitter, TurnText
from .vad_report import VadReporting


def agent_state_name(state: int) -> str:
    return AgentState(state).name.lower()


class Session:
    """Events, turns and transcripts of one stream (see the module notes)."""

    def __init__(self, pipeline: Pipeline, bus: EventBus, clock: SampleClock,
                 options: TurnEngineOptions, eot: EndOfTurn, turns: TurnEmitter,
                 vad_report: VadReporting, history: AudioHistory) -> None:
        self.pipeline = pipeline
        self._timers = pipeline.timers
        self.bus = bus
        self._clock = clock
        self.options = options
        self.eot = eot
        self.turns = turns
        self._vad_report = vad_report
        self._history = history
        self.gate: SttGate | None = None
        # Published states: what the last state-change event said.
        self.user_state = "listening"
        self.agent_state = "listening"
        # The user's turn in progress.
        self.turn_start: int | None = None
        self.text = TurnText()
        self.transcripts_fed = False
        self.after_backchannel = False
        self.feat_pos = 0                   # clock sample up to which the turn audio was fed
        self.eot_seen: list[tuple[float, float]] = []  # (stream_time, P) answers this turn
        self.eager_sent = False             # eager_end_of_turn emitted for the current pause
        self.agent_spoke_since_end = False  # dynamic endpointing: pauses exclude agent turns
        self.last_utt_special = False       # the last utterance interrupted or backchannelled
        # The agent's speech in progress (for the chat history).
        self.agent_speech_start: int | None = None
        self.agent_speech_interrupted = False

    @property
    def utterance_start(self) -> int:
        """Onset (clock sample) of the user's latest utterance, -1 before any (the kernel's)."""
        return int(self._timers.speech_start)

    @property
    def last_end(self) -> int:
        """Back-dated end of the user's latest utterance, -1 before any (the kernel's)."""
        return int(self._timers.last_speaking)

    def enable_stt_gate(self) -> None:
        ring = self._history.enable(self.pipeline.now)
        self.gate = SttGate(ring, seconds_to_samples(self.options.prefix_padding_duration,
                                                     self._clock.model_rate))

    # -- kernel codes -----------------------------------------------------------------------------
    def run_fired(self, fired: Fired) -> None:
        for code, t, aux in fired:
            self.dispatch(code, t, aux)

    def dispatch(self, code: int, t: int, aux: int) -> None:
        """One ``(code, sample, aux)`` triple from the timers kernel."""
        if code == EventCode.START_OF_SPEECH:
            self._on_start(t, aux)
        elif code == EventCode.END_OF_SPEECH:
            self._on_end(t, aux)
        elif code == EventCode.EOT_PREDICT:
            decision = self.eot.request()
            if decision is not None:
                self.apply_eot(decision)
        elif code == EventCode.EOT_RESUMED:
            self._on_resumed(t)
        elif code == EventCode.AGENT_INTERRUPTED:
            self._on_interrupted(t, aux)
        elif code == EventCode.AGENT_FALSE_INTERRUPTION:
            self._on_false_interruption(t, aux)
        elif code == EventCode.USER_BACKCHANNEL:
            self._on_backchannel(t, aux)
        elif code == EventCode.USER_TURN_COMPLETED:
            self.complete_voice_turn(t, aux, "stt" if self.options.turn_detection == "stt"
                                     else "")
        elif code == EventCode.USER_AWAY:
            self.set_user_state("away", t, aux)
        else:  # pragma: no cover - the kernels emit only the codes above
            raise AssertionError(f"unknown kernel event code {code}")

    def _on_start(self, t: int, onset: int) -> None:
        sr = self._clock.model_rate
        if (self.last_end >= 0 and not self.agent_spoke_since_end
                and not self.last_utt_special and self.agent_state != "speaking"):
            new_min = self.eot.observe_pause((onset - self.last_end) / sr)
            if new_min is not None:
                self._timers.set_endpoint_delay(seconds_to_samples(new_min, sr))
        self.last_utt_special = False
        self._on_resumed(t)
        if self.turn_start is None:
            self.turn_start = onset
            if self.eot.uses_model:
                # As Pipecat's Smart Turn: the turn audio starts prefix_padding_duration
                # (0.5 s, its pre_speech_ms) before the speech onset.
                pad = seconds_to_samples(self.options.prefix_padding_duration, sr)
                self.eot.start_turn(self._history.between(onset - pad, t))
                self.feat_pos = t
        self.text.utterance_first = len(self.text.finals)
        self.text.interim_words = 0
        self.after_backchannel = False
        self.set_user_state("speaking", t, onset)
        if self.gate is not None:
            self.gate.start(onset, self.stt_muted())
        self._vad_report.boundary(VADEventType.START_OF_SPEECH, t, onset, self.utterance_start)

    def _on_resumed(self, t: int) -> None:
        """The user went on: the pause's decision is void (and an eager turn resumed)."""
        self.eot.decision = None
        if self.eager_sent:
            self.eager_sent = False
            self.bus.emit(TurnResumedEvent(stream_time=self._clock.seconds(t),
                                           created_at=self._clock.epoch(t)))

    def _on_end(self, t: int, end: int) -> None:
        self.agent_spoke_since_end = False
        self.set_user_state("listening", t, end)
        if self.gate is not None:
            self._emit_stt_metrics(t, self.gate.end(t, self.stt_muted()))
        self._vad_report.boundary(VADEventType.END_OF_SPEECH, t, end, self.utterance_start)

    def _on_interrupted(self, t: int, speech_start: int) -> None:
        self.agent_speech_interrupted = True
        self.last_utt_special = True
        self.bus.emit(AgentInterruptedEvent(stream_time=self._clock.seconds(t),
                                             created_at=self._clock.epoch(t),
                                             speech_duration=self._clock.seconds(t - speech_start)))
        self.set_agent_state_event("listening", t)

    def _on_false_interruption(self, t: int, aux: int) -> None:
        resumed = aux > 0  # aux = 1 + the agent state resumed to, or 0
        self.bus.emit(AgentFalseInterruptionEvent(stream_time=self._clock.seconds(t),
                                                   created_at=self._clock.epoch(t),
                                                   resumed=resumed))
        self.turn_start = None  # the speech was not a turn (nor are the model's answers on it)
        self.eot_seen = []
        self.eager_sent = False
        if resumed:
            self.agent_speech_interrupted = False
            self.set_agent_state_event(agent_state_name(aux - 1), t)

    def _on_backchannel(self, t: int, onset: int) -> None:
        self.last_utt_special = True
        if self.turn_start == onset:
            self.turn_start = None
        words = self.text.take_utterance()
        self.after_backchannel = True
        self.bus.emit(UserBackchannelEvent(
            stream_time=self._clock.seconds(t), created_at=self._clock.epoch(t),
            duration=self._clock.seconds(self.last_end - onset), transcript=words))

    # -- published states -------------------------------------------------------------------------
    def set_user_state(self, new: str, t: int, boundary: int) -> None:
        old = self.user_state
        if new == old:
            return
        self.user_state = new
        self.bus.emit(UserStateChangedEvent(
            stream_time=self._clock.seconds(t), created_at=self._clock.epoch(boundary),
            old_state=old, new_state=new, audio_time=self._clock.seconds(boundary)))

    def set_agent_state_event(self, new: str, t: int) -> None:
        old = self.agent_state
        if new == old:
            return
        self.agent_state = new
        self.bus.emit(AgentStateChangedEvent(stream_time=self._clock.seconds(t),
                                              created_at=self._clock.epoch(t), old_state=old,
                                              new_state=new))

    # -- STT gate ---------------------------------------------------------------------------------
    def _emit_stt_metrics(self, t: int, forwarded: int) -> None:
        created = self._clock.epoch(t)
        self.bus.emit(MetricsCollectedEvent(
            stream_time=self._clock.seconds(t), created_at=created,
            metrics=STTMetrics(label="turnengine.stt_gate", request_id=f"segment_{t}",
                               timestamp=created, duration=0.0,
                               audio_duration=self._clock.seconds(forwarded))))

    def stt_muted(self) -> bool:
        """The STT gate passes silence while the agent speaks uninterruptibly (SPEC 8)."""
        return (self.options.discard_audio_if_uninterruptible and self.agent_state == "speaking"
                and not self._timers.speech_interruptible)

    # -- end of turn ------------------------------------------------------------------------------
    def feed_turn_audio(self, samples: np.ndarray, start: int) -> None:
        """Give the end-of-turn model the turn's audio in ``samples`` (clock samples
        ``start ..``) not fed yet."""
        if self.turn_start is None:
            return
        a = max(self.feat_pos - start, 0)
        b = samples.shape[0]
        if b > a:
            self.eot.feed(samples[a:b])
        self.feat_pos = start + b

    def apply_eot(self, decision: Decision) -> None:
        if not self._timers.awaiting_model:
            return  # the pause it answered for is over (the user spoke again, or a commit)
        self.eot.decision = decision
        p, now = decision.probability, self.pipeline.now
        if p is not None:
            self.eot_seen.append((self._clock.seconds(now), p))
            eager = self.options.eager_eot_threshold
            if eager is not None and p >= eager and not self.eager_sent:
                self.eager_sent = True
                self.bus.emit(EagerEndOfTurnEvent(
                    stream_time=self._clock.seconds(now), created_at=self._clock.epoch(now),
                    eot_probability=p, transcript=self.text.transcript))
        self.run_fired(self._timers.model_answer(
            seconds_to_samples(decision.delay, self._clock.model_rate)))

    def poll_eot(self) -> None:
        decision = self.eot.poll()
        if decision is not None:
            self.apply_eot(decision)

    def complete_voice_turn(self, t: int, last_speaking: int, reason: str) -> None:
        """Commit the voice turn in progress; ``reason`` "" means "as the pause's end-of-turn
        decision says"."""
        eot = self.eot
        decision = eot.decision if eot.decision is not None else eot.fixed_decision()
        eot.decision = None
        text = self.text
        turn = Turn(t=t, started=self.turn_start, last_speaking=last_speaking,
                    transcript=text.transcript, confidence=text.confidence,
                    last_final_sample=text.last_final_sample, reason=reason or decision.reason,
                    source="voice", decision=decision, probabilities=tuple(self.eot_seen))
        # The turn is over before anyone hears of it: a callback that commits again (or pushes a
        # transcript) starts from an empty turn, never this one a second time.
        self.turn_start = None
        text.clear()
        self.eot_seen = []
        self.eager_sent = False
        self.turns.emit(turn)
