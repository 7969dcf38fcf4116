"""Engine events -> scorer inputs (:func:`segments_from_events`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...events import Event, UserStateChangedEvent
from .segments import PredSegment, number

__all__ = ["EngineOutput", "agent_from_events", "segments_from_events"]


@dataclass(frozen=True)
class EngineOutput:
    """Scorer inputs extracted from an event stream by `segments_from_events`.

    Attributes
    ----------
    speech_segments : list of (float, float or None)
        Back-dated (``audio_time``) speaking intervals.
    decision_segments : list of (float, float or None)
        Decision-time (``stream_time``) speaking intervals.
    turn_completions : list of float
        ``stream_time`` of each ``user_turn_completed``.
    """

    speech_segments: list[PredSegment]
    decision_segments: list[PredSegment]
    turn_completions: list[float]


def _fields(ev: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``(type, stream_time, audio_time, old_state, new_state)`` of an event, of its JSON-line
    dict or of an object with the same attribute names (None where it has no such field)."""
    if isinstance(ev, UserStateChangedEvent):
        return ev.type, ev.stream_time, ev.audio_time, ev.old_state, ev.new_state
    if isinstance(ev, Event):
        return ev.type, ev.stream_time, None, None, None
    return (_field(ev, "type"), _field(ev, "stream_time"), _field(ev, "audio_time"),
            _field(ev, "old_state"), _field(ev, "new_state"))


def _field(event: Any, name: str) -> Any:
    if isinstance(event, Mapping):
        return event.get(name)
    return getattr(event, name, None)


def _state(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def segments_from_events(events: Iterable[Any]) -> EngineOutput:
    """Turn engine events (or their JSON-line dicts) into scorer inputs.

    A user speaking interval opens on ``user_state_changed`` with ``new_state == "speaking"``
    and closes on the next ``user_state_changed`` whose ``old_state`` is ``"speaking"`` (to
    ``listening`` or ``away``). Its back-dated bounds are the events' ``audio_time`` and its
    decision bounds their ``stream_time`` (SPEC section 10). An interval still open after the
    last event gets the end ``None``. Other event types are ignored.

    Parameters
    ----------
    events : iterable of Mapping or object
        Events in emission order, as dicts (``to_dict()`` / a JSON line) or objects with the
        same attribute names; states may be strings or enums with string values.

    Returns
    -------
    EngineOutput

    Raises
    ------
    ValueError
        If a ``user_state_changed`` into or out of ``speaking`` lacks ``audio_time`` or
        ``stream_time``.
    """
    back: list[PredSegment] = []
    dec: list[PredSegment] = []
    turns: list[float] = []
    open_at: tuple[float, float] | None = None
    for i, ev in enumerate(events):
        kind, stream_time, audio_time, old_state, new_state = _fields(ev)
        if kind == "user_turn_completed":
            turns.append(number(stream_time, f"events[{i}].stream_time"))
            continue
        if kind != "user_state_changed":
            continue
        old, new = _state(old_state), _state(new_state)
        if (new == "speaking") == (old == "speaking"):
            continue
        audio_t = number(audio_time, f"events[{i}].audio_time")
        stream_t = number(stream_time, f"events[{i}].stream_time")
        if new == "speaking":
            open_at = (audio_t, stream_t)
        elif open_at is not None:
            back.append((open_at[0], audio_t))
            dec.append((open_at[1], stream_t))
            open_at = None
    if open_at is not None:
        back.append((open_at[0], None))
        dec.append((open_at[1], None))
    return EngineOutput(back, dec, turns)



def agent_from_events(events: Iterable[Any]) -> tuple[list[float], list[PredSegment]]:
    """The echo scorer's inputs (:mod:`.echo`): ``stream_time`` of every ``agent_interrupted``,
    and the decision-time intervals in which the agent was ``speaking`` (from
    ``agent_state_changed``; ``None`` as the end of one still open after the last event).

    Raises
    ------
    ValueError
        If one of those events lacks a finite ``stream_time``.
    """
    interruptions: list[float] = []
    speaking: list[PredSegment] = []
    open_at: float | None = None
    for i, ev in enumerate(events):
        kind = _field(ev, "type")
        if kind == "agent_interrupted":
            interruptions.append(number(_field(ev, "stream_time"), f"events[{i}].stream_time"))
        if kind != "agent_state_changed":
            continue
        t = number(_field(ev, "stream_time"), f"events[{i}].stream_time")
        old, new = _state(_field(ev, "old_state")), _state(_field(ev, "new_state"))
        if new == "speaking" and old != "speaking":
            open_at = t
        elif old == "speaking" and new != "speaking" and open_at is not None:
            speaking.append((open_at, t))
            open_at = None
    if open_at is not None:
        speaking.append((open_at, None))
    return interruptions, speaking
