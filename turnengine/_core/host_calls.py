"""What the host tells the engine: the agent's state and speech, transcripts, typed input,
commits.  Inputs arrive validated by the facade; events go out through the session's bus and
take effect at the engine clock as it stands (the end of the last complete VAD window)."""

from __future__ import annotations

from .._kernels.codes import AgentState
from ..endpointing import Decision
from ..events import AgentInterruptedEvent, UserInputTranscribedEvent
from ..report import ChatMessage
from .clock import SampleClock
from .session import Session
from .turns import Turn


class HostCalls:
    """Host calls on one :class:`~turnengine._core.session.Session`."""

    def __init__(self, session: Session, clock: SampleClock) -> None:
        self._s = session
        self._timers = session.pipeline.timers
        self._pipe = session.pipeline
        self._clock = clock

    def set_agent_state(self, state: str, interruptible: bool) -> None:
        s = self._s
        now = self._pipe.now
        if state == "speaking" and s.agent_state != "speaking":
            s.agent_speech_start = now
            s.agent_speech_interrupted = False
            s.agent_spoke_since_end = True
        s.set_agent_state_event(state, now)
        s.run_fired(self._pipe.set_agent_state(AgentState[state.upper()], interruptible))

    def agent_stopped_speaking(self, text: str | None, interrupted: bool) -> None:
        s = self._s
        now = self._pipe.now
        if text is not None:
            start = s.agent_speech_start if s.agent_speech_start is not None else now
            s.turns.add_chat_item(ChatMessage(
                id=f"agent_{s.turns.chat_seq + 1}", role="assistant", content=[text],
                created_at=self._clock.epoch(start),
                interrupted=interrupted or s.agent_speech_interrupted), now, start)
        s.agent_speech_start = None
        s.agent_speech_interrupted = False
        self.set_agent_state("listening", s.options.allow_interruptions)

    def push_transcript(self, text: str, is_final: bool, confidence: float | None,
                        language: str | None, speaker_id: str | None) -> None:
        s = self._s
        now = self._pipe.now
        if not s.transcripts_fed:
            s.transcripts_fed = True
            self._timers.transcripts_fed()
        final = is_final and bool(text.strip())
        # The transcript is taken in before anyone hears of it, so a callback that commits the
        # turn commits it with this transcript, and one that pushes another transcript adds it
        # after this one.  A late final of a backchannel is reported, not a turn.
        joins = final and not (s.after_backchannel and s.user_state != "speaking")
        if joins:
            s.text.finals.append((text.strip(), None if confidence is None else float(confidence)))
            s.text.last_final_sample = now
            s.text.interim_words = 0
        elif not is_final:
            s.text.interim_words = len(text.split())
        s.bus.emit(UserInputTranscribedEvent(
            stream_time=self._clock.seconds(now), created_at=self._clock.epoch(now),
            transcript=text, is_final=is_final, language=language, speaker_id=speaker_id,
            confidence=confidence))
        if final and self._timers.user_back():
            s.set_user_state("listening", now, now)
        if joins:
            s.run_fired(self._timers.final_transcript())
        if s.user_state == "speaking":
            s.run_fired(self._timers.set_words(s.text.utterance_words()))

    def push_text_input(self, text: str) -> None:
        s = self._s
        now = self._pipe.now
        if (s.agent_state == "speaking" and s.options.allow_interruptions
                and self._timers.speech_interruptible):
            s.agent_speech_interrupted = True
            s.bus.emit(AgentInterruptedEvent(stream_time=self._clock.seconds(now),
                                              created_at=self._clock.epoch(now),
                                              speech_duration=0.0))
            s.set_agent_state_event("listening", now)
            s.run_fired(self._pipe.set_agent_state(AgentState.LISTENING, True))
        self._timers.settle_interruption()  # a committed turn makes any interruption real
        # A turn of its own: the voice turn in progress keeps its transcript and start.
        s.turns.emit(Turn(t=now, started=now, last_speaking=now, transcript=text.strip(),
                          confidence=None, last_final_sample=-1, reason="text", source="text",
                          decision=Decision(0.0, "text", None)))

    def commit_user_turn(self) -> None:
        s = self._s
        # The user still speaking: their utterance ends here (state, segment), so the turn
        # never reports a stop before its start nor completes while the user is "speaking".
        # The host commits it: a turn, never a backchannel (speech under the agent's).
        s.run_fired(self._timers.end_for_commit())
        had_turn = self._timers.turn_open or s.turn_start is not None or bool(s.text.finals)
        if not self._timers.model_answered:
            s.eot.decision = None  # no answer for this pause: the user spoke since
        last = int(self._timers.commit())
        if had_turn:
            s.complete_voice_turn(self._pipe.now, last, "manual")
