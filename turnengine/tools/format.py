"""One readable line per session event: the timeline of ``turnengine run`` and of the mic."""

from __future__ import annotations

import dataclasses

from ..events import (
    AgentFalseInterruptionEvent,
    AgentInterruptedEvent,
    AgentStateChangedEvent,
    ConversationItemAddedEvent,
    Event,
    MetricsCollectedEvent,
    UserBackchannelEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
    UserTurnCompletedEvent,
)

__all__ = ["format_event"]


def format_event(ev: Event) -> str:
    """One line for ``ev``: its time (s of audio), who (user, agent, chat, stt, metric) and what.

    Parameters
    ----------
    ev : Event
        A session event; a type without a line of its own prints its JSON fields.

    Returns
    -------
    str
        For example ``"   2.208s  TURN   completed: end_of_utterance_delay=0.576s ..."``.
    """
    t = f"{round(ev.stream_time, 6):8.3f}s"  # the JSON line's rounding, then 3 decimals
    if isinstance(ev, UserStateChangedEvent):
        return (f"{t}  user   {ev.old_state:>9} -> {ev.new_state:<9} "
                f"(at {ev.audio_time:.3f}s of audio)")
    if isinstance(ev, AgentStateChangedEvent):
        return f"{t}  agent  {ev.old_state:>9} -> {ev.new_state}"
    if isinstance(ev, UserTurnCompletedEvent):
        return _format_turn(t, ev)
    if isinstance(ev, AgentInterruptedEvent):
        return f"{t}  agent  interrupted after {ev.speech_duration:.3f}s of user speech"
    if isinstance(ev, AgentFalseInterruptionEvent):
        return f"{t}  agent  false interruption (resumed={ev.resumed})"
    if isinstance(ev, ConversationItemAddedEvent):
        item = ev.item
        flag = " (interrupted)" if item.interrupted else ""
        return f"{t}  chat   {item.role}{flag}: {' '.join(item.content)!r}"
    if isinstance(ev, UserInputTranscribedEvent):
        final = "final" if ev.is_final else "interim"
        return f"{t}  stt    {final}: {ev.transcript!r}"
    if isinstance(ev, UserBackchannelEvent):
        return f"{t}  user   backchannel ({ev.duration:.3f}s)"
    if isinstance(ev, MetricsCollectedEvent):
        return _format_metrics(t, ev)
    rest = {k: v for k, v in ev.to_dict().items()
            if k not in ("type", "stream_time", "created_at")}
    return f"{t}  {ev.type} {rest}"


def _format_turn(t: str, ev: UserTurnCompletedEvent) -> str:
    prob = ev.eot_probability
    return (f"{t}  TURN   completed: "
            f"end_of_utterance_delay={ev.end_of_utterance_delay:.3f}s "
            f"endpointing_delay={ev.endpointing_delay:.2f}s reason={ev.reason}"
            + (f" eot_probability={prob:.2f}" if prob is not None else "")
            + (f" transcript={ev.transcript!r}" if ev.transcript else ""))


def _format_metrics(t: str, ev: MetricsCollectedEvent) -> str:
    m = ev.metrics
    values = {f.name: getattr(m, f.name) for f in dataclasses.fields(m)}
    fields = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in values.items() if k not in ("type", "metadata", "timestamp"))
    return f"{t}  metric {m.type}: {fields}"
