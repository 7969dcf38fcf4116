"""Session events, with LiveKit Agents' names and fields (``livekit/agents/voice/events.py``).

Every event is a frozen dataclass with a ``type`` literal, a ``stream_time`` (the decision time in
seconds of audio on the engine clock, so latency is measurable) and a ``created_at`` (epoch
seconds: ``started_at + stream_time``, back-dated for ``user_state_changed``; SPEC 4).
``to_dict()`` gives the JSON line of SPEC 10.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

UserStateName = Literal["listening", "speaking", "away"]
AgentStateName = Literal["initializing", "listening", "thinking", "speaking"]
USER_STATES: tuple[str, ...] = ("listening", "speaking", "away")
AGENT_STATES: tuple[str, ...] = ("initializing", "listening", "thinking", "speaking")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return None  # audio is never serialised; see VADEvent.to_dict
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]  # as JSON reads it back
    return value


@dataclass(frozen=True)
class Event:
    """Base of every session event."""

    stream_time: float
    created_at: float

    type: str = field(init=False, default="event")

    def to_dict(self) -> dict[str, Any]:
        """The JSON line: ``type``, ``stream_time``, ``created_at``, then the event's fields."""
        out: dict[str, Any] = {"type": self.type, "stream_time": round(self.stream_time, 6),
                               "created_at": self.created_at}
        for f in dataclasses.fields(self):
            if f.name in out:
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


@dataclass(frozen=True)
class UserStateChangedEvent(Event):
    """``user_state_changed``: listening/speaking/away (SPEC 4).

    ``audio_time`` is the back-dated boundary in seconds of audio: when the speech really
    started (decision - speech_duration) or stopped (decision - silence_duration), or the away
    deadline.
    """

    old_state: str = "listening"
    new_state: str = "listening"
    audio_time: float = 0.0
    type: Literal["user_state_changed"] = field(init=False, default="user_state_changed")


@dataclass(frozen=True)
class AgentStateChangedEvent(Event):
    """``agent_state_changed``: set by the host, or by the engine on interruption (SPEC 4, 6)."""

    old_state: str = "listening"
    new_state: str = "listening"
    type: Literal["agent_state_changed"] = field(init=False, default="agent_state_changed")


@dataclass(frozen=True)
class UserTurnCompletedEvent(Event):
    """``user_turn_completed``: the user's turn ended (SPEC 5).

    Times ``started_speaking_at``/``stopped_speaking_at`` are epoch seconds (back-dated);
    ``end_of_utterance_delay`` = commit time - last_speaking_time and ``transcription_delay`` =
    last final transcript time - last_speaking_time (floored at 0), in seconds of audio.
    ``reason`` says what decided: ``"no_model"`` (fixed delay), ``"model_likely"`` /
    ``"model_unlikely"`` (the end-of-turn model's answer; ``eot_probability`` is it),
    ``"fallback"`` (the model failed or is missing), ``"stt"``, ``"manual"`` (the model's answer
    for the pause it was committed in, if any), ``"text"`` (typed input: no delay, no model).
    ``eot_probabilities`` holds every answer the end-of-turn model gave during the turn, as
    ``(stream_time, probability)`` pairs in time order (empty without a model).
    """

    transcript: str = ""
    transcript_confidence: float | None = None
    started_speaking_at: float | None = None
    stopped_speaking_at: float | None = None
    end_of_utterance_delay: float = 0.0
    transcription_delay: float = 0.0
    eot_probability: float | None = None
    endpointing_delay: float = 0.0
    reason: str = "no_model"
    speech_id: str = ""
    eot_probabilities: tuple[tuple[float, float], ...] = ()
    type: Literal["user_turn_completed"] = field(init=False, default="user_turn_completed")


@dataclass(frozen=True)
class EagerEndOfTurnEvent(Event):
    """``eager_end_of_turn``: the end-of-turn model's probability reached
    ``eager_eot_threshold`` during a pause (Deepgram Flux's ``EagerEndOfTurn``).

    A host may start generating its reply now; ``turn_resumed`` follows if the user speaks again
    before the turn commits, ``user_turn_completed`` confirms it.  ``eot_probability`` is the
    answer that reached the threshold; ``transcript`` the turn's final transcripts so far.
    """

    eot_probability: float = 0.0
    transcript: str = ""
    type: Literal["eager_end_of_turn"] = field(init=False, default="eager_end_of_turn")


@dataclass(frozen=True)
class TurnResumedEvent(Event):
    """``turn_resumed``: the user spoke again after ``eager_end_of_turn`` and before the turn
    committed (Deepgram Flux's ``TurnResumed``): drop the reply started eagerly."""

    type: Literal["turn_resumed"] = field(init=False, default="turn_resumed")


@dataclass(frozen=True)
class AgentInterruptedEvent(Event):
    """``agent_interrupted`` (turnengine; LiveKit does this internally): pause or stop speaking.

    ``speech_duration`` is the user speech that interrupted, in seconds (short pauses included).
    """

    speech_duration: float = 0.0
    type: Literal["agent_interrupted"] = field(init=False, default="agent_interrupted")


@dataclass(frozen=True)
class AgentFalseInterruptionEvent(Event):
    """``agent_false_interruption``: the interrupting speech got no transcript in
    ``false_interruption_timeout`` and committed no turn (LiveKit's event).  With ``resumed``,
    the engine moved the agent back to the state it had; the host may resume its speech."""

    resumed: bool = False
    type: Literal["agent_false_interruption"] = field(init=False,
                                                       default="agent_false_interruption")


@dataclass(frozen=True)
class ConversationItemAddedEvent(Event):
    """``conversation_item_added``: a chat message joined the history (LiveKit's event)."""

    item: Any = None
    type: Literal["conversation_item_added"] = field(init=False,
                                                      default="conversation_item_added")


@dataclass(frozen=True)
class UserBackchannelEvent(Event):
    """``user_backchannel``: user speech during agent speech that did not interrupt (SPEC 6)."""

    duration: float = 0.0
    transcript: str = ""
    type: Literal["user_backchannel"] = field(init=False, default="user_backchannel")


@dataclass(frozen=True)
class UserInputTranscribedEvent(Event):
    """``user_input_transcribed``: a transcript the host pushed (LiveKit field names)."""

    transcript: str = ""
    is_final: bool = False
    language: str | None = None
    speaker_id: str | None = None
    confidence: float | None = None
    type: Literal["user_input_transcribed"] = field(init=False, default="user_input_transcribed")


@dataclass(frozen=True)
class MetricsCollectedEvent(Event):
    """``metrics_collected``: one metrics object (``VADMetrics``, ``EOUMetrics``, ...)."""

    metrics: Any = None
    type: Literal["metrics_collected"] = field(init=False, default="metrics_collected")


@dataclass(frozen=True)
class OptionsUpdatedEvent(Event):
    """``options_updated`` (turnengine): ``update_options`` changed options; they decide from
    the next VAD window on (``stream_time`` is the clock where they took effect).

    ``changes`` maps each changed option to its new value and ``previous`` to the value it
    replaced (read-only mappings; plain dicts in ``to_dict()``).
    """

    changes: Mapping[str, Any] = field(default_factory=dict)
    previous: Mapping[str, Any] = field(default_factory=dict)
    type: Literal["options_updated"] = field(init=False, default="options_updated")

    def __post_init__(self) -> None:  # (frozen: a subscriber cannot rewrite the report)
        object.__setattr__(self, "changes", MappingProxyType(dict(self.changes)))
        object.__setattr__(self, "previous", MappingProxyType(dict(self.previous)))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["changes"], out["previous"] = dict(self.changes), dict(self.previous)
        return out


class VADEventType(str, Enum):
    """LiveKit ``VADEventType`` values."""

    START_OF_SPEECH = "start_of_speech"
    INFERENCE_DONE = "inference_done"
    END_OF_SPEECH = "end_of_speech"


@dataclass(frozen=True)
class VADEvent:
    """A frame-VAD event with LiveKit's ``VADEvent`` fields (SPEC 3.3).

    ``timestamp``, ``speech_duration``, ``silence_duration`` and ``inference_duration`` are
    seconds; ``samples_index`` counts model-rate samples.  ``frames`` holds the audio as a float32
    array of shape ``(n_samples,)`` at the model rate: the padded onset for START_OF_SPEECH, the
    whole utterance (with prefix padding, capped at ``max_buffered_speech``) for END_OF_SPEECH,
    the window for INFERENCE_DONE.
    """

    type: VADEventType
    samples_index: int
    timestamp: float
    speech_duration: float
    silence_duration: float
    probability: float = 0.0
    inference_duration: float = 0.0
    speaking: bool = False
    raw_accumulated_speech: float = 0.0
    raw_accumulated_silence: float = 0.0
    frames: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out["frames"] = 0 if self.frames is None else int(self.frames.shape[0])
        return out
