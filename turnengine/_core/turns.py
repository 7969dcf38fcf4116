"""A committed user turn: ``user_turn_completed``, its ``EOUMetrics`` and the chat item.

The transcript of the turn in progress (its final transcripts) lives in :class:`TurnText`; a
committed turn is emitted by :meth:`TurnEmitter.emit` from the values the caller gathered, so a
typed turn never touches the voice turn in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..endpointing import Decision
from ..events import ConversationItemAddedEvent, MetricsCollectedEvent, UserTurnCompletedEvent
from ..metrics import EOUMetrics
from ..report import ChatMessage
from .bus import EventBus
from .clock import SampleClock
from .record import SessionRecord


@dataclass
class TurnText:
    """Final transcripts of the turn in progress.

    Attributes
    ----------
    finals : list of (str, float or None)
        Text and confidence of each final transcript, in order.
    utterance_first : int
        Index in ``finals`` where the current utterance begins.
    last_final_sample : int
        Clock sample of the last final transcript; -1 when none.
    interim_words : int
        Words of the latest interim transcript of the current utterance.
    """

    finals: list[tuple[str, float | None]] = field(default_factory=list)
    utterance_first: int = 0
    last_final_sample: int = -1
    interim_words: int = 0

    @property
    def transcript(self) -> str:
        return " ".join(text for text, _ in self.finals).strip()

    @property
    def confidence(self) -> float | None:
        """Mean confidence over the finals that have one (LiveKit's ``transcript_confidence``)."""
        confs = [c for _, c in self.finals if c is not None]
        return float(np.mean(confs)) if confs else None

    def utterance_words(self) -> int:
        """Words of the current utterance: its finals plus the latest interim."""
        finals = sum(len(t.split()) for t, _ in self.finals[self.utterance_first:])
        return finals + self.interim_words

    def take_utterance(self) -> str:
        """Remove the current utterance's finals (a backchannel's); return their text."""
        words = self.finals[self.utterance_first:]
        del self.finals[self.utterance_first:]
        return " ".join(text for text, _ in words)

    def clear(self) -> None:
        self.finals = []
        self.utterance_first = 0
        self.last_final_sample = -1


@dataclass(frozen=True)
class Turn:
    """What a committed turn reports (clock samples; -1 or None where unknown)."""

    t: int
    started: int | None
    last_speaking: int
    transcript: str
    confidence: float | None
    last_final_sample: int
    reason: str
    source: str
    decision: Decision
    probabilities: tuple[tuple[float, float], ...] = ()  # the model's (stream_time, P) answers


class TurnEmitter:
    """Numbers committed turns and emits their three events.

    Parameters
    ----------
    bus : EventBus
    clock : SampleClock
    record : SessionRecord
        Receives the chat item.
    """

    def __init__(self, bus: EventBus, clock: SampleClock, record: SessionRecord) -> None:
        self._bus = bus
        self._clock = clock
        self._record = record
        self.count = 0
        self.chat_seq = 0

    def add_chat_item(self, item: ChatMessage, t: int, known_at: int | None = None) -> None:
        """Append ``item`` to the chat history and emit ``conversation_item_added`` at ``t``
        (``known_at``: when the engine learnt of what the item says, ``t`` by default)."""
        self._bus.emit(self._chat_item(item, t, t if known_at is None else known_at))

    def _chat_item(self, item: ChatMessage, t: int, known_at: int) -> ConversationItemAddedEvent:
        self.chat_seq += 1
        self._record.add_chat(item, self._clock.seconds(known_at))
        return ConversationItemAddedEvent(stream_time=self._clock.seconds(t),
                                          created_at=self._clock.epoch(t), item=item)

    def emit(self, turn: Turn) -> None:
        """``user_turn_completed``, ``metrics_collected`` (``EOUMetrics``) and the chat item.

        ``end_of_utterance_delay`` is the decision time minus the end of speech;
        ``transcription_delay`` the last final transcript minus the end of speech, 0 when the
        transcript came first (LiveKit's ``max(..., 0)``, ``voice/audio_recognition.py``).
        """
        clock = self._clock
        self.count += 1
        speech_id = f"turn_{self.count}"
        eou_delay = clock.seconds(turn.t - turn.last_speaking) if turn.last_speaking >= 0 else 0.0
        if turn.last_final_sample >= 0 and turn.last_speaking >= 0:
            transcription_delay = clock.seconds(max(0, turn.last_final_sample
                                                    - turn.last_speaking))
        else:
            transcription_delay = 0.0
        created = clock.epoch(turn.t)
        started_at = clock.epoch(turn.started) if turn.started is not None else None
        turn_event = UserTurnCompletedEvent(
            stream_time=clock.seconds(turn.t), created_at=created, transcript=turn.transcript,
            transcript_confidence=turn.confidence, started_speaking_at=started_at,
            stopped_speaking_at=(clock.epoch(turn.last_speaking) if turn.last_speaking >= 0
                                 else None),
            end_of_utterance_delay=eou_delay, transcription_delay=transcription_delay,
            eot_probability=turn.decision.probability, endpointing_delay=turn.decision.delay,
            reason=turn.reason, speech_id=speech_id, eot_probabilities=turn.probabilities)
        metrics = MetricsCollectedEvent(
            stream_time=clock.seconds(turn.t), created_at=created,
            metrics=EOUMetrics(timestamp=created, end_of_utterance_delay=eou_delay,
                               transcription_delay=transcription_delay,
                               on_user_turn_completed_delay=0.0, speech_id=speech_id))
        item = self._chat_item(ChatMessage(
            id=speech_id, role="user", content=[turn.transcript],
            created_at=started_at if started_at is not None else created,
            transcript_confidence=turn.confidence, source=turn.source), turn.t, turn.t)
        # One happening: a host call from a callback of any of the three comes after all three.
        self._bus.emit_all((turn_event, metrics, item))
