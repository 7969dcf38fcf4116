"""Agent-speech playback on an engine: the one implementation behind scenario replay and the
microphone's simulated agent.

A host plays one agent speech at a time.  :class:`AgentPlayback` starts it
(``agent_started_speaking``), stops it at its scheduled end (``agent_stopped_speaking``),
pauses it on ``agent_interrupted`` and resumes the rest of it on
``agent_false_interruption(resumed=True)``.
Every action runs through :meth:`TurnEngine.schedule` or an event callback, so it lands on the
engine clock, at the same sample however the audio is chunked.

The owner decides *when* to speak (a scenario's timetable, a simulated agent's replies) and
subscribes :meth:`AgentPlayback.on_interrupted` and :meth:`AgentPlayback.on_false_interruption`
to the engine itself, so that it controls the order of its callbacks.
"""

from __future__ import annotations

from ..engine import TurnEngine
from ..events import AgentFalseInterruptionEvent, Event


class AgentPlayback:
    """One agent speech at a time, on the engine clock.

    Parameters
    ----------
    engine : TurnEngine
        The engine the speech is played on.
    resume_moves_end : bool
        After a resume, measure the time left of a later pause from the moved end of the
        speech (True; the simulated agent) or from the end it was started with (False; the
        scenario player, whose speeches keep their labelled end).

    Attributes
    ----------
    text : str or None
        The speech being played or paused; None when the agent is silent.
    playing : bool
        True while it plays, False while it is paused (or there is none).
    """

    def __init__(self, engine: TurnEngine, *, resume_moves_end: bool = True) -> None:
        self.engine = engine
        self.text: str | None = None
        self.playing = False
        self._resume_moves_end = resume_moves_end
        self._end_at = 0.0      # scheduled end of the speech (s of audio)
        self._remaining = 0.0   # seconds left of a paused speech
        self._token = 0         # invalidates scheduled actions of an earlier plan

    def new_plan(self) -> int:
        """Invalidate every action scheduled so far (stops and the owner's own) and return the
        token of the new plan; see :meth:`is_current`."""
        self._token += 1
        return self._token

    def is_current(self, token: int) -> bool:
        """Whether no plan was made since ``token`` (:meth:`new_plan`)."""
        return token == self._token

    def start(self, text: str, end_s: float, *,
              allow_interruptions: bool | None = None) -> None:
        """Start speaking ``text`` now, until ``end_s`` (s of audio on the engine clock).

        A speech still playing or paused is stopped first (``interrupted=True``).
        """
        if self.text is not None:
            self.stop(interrupted=True)
        self.text, self.playing, self._end_at = text, True, end_s
        self.engine.agent_started_speaking(allow_interruptions=allow_interruptions)
        self._schedule_stop(end_s)

    def stop(self, *, interrupted: bool) -> None:
        """Stop the speech now (``agent_stopped_speaking``); nothing when there is none."""
        text, self.text, self.playing = self.text, None, False
        self.new_plan()
        if text is None:
            return
        self.engine.agent_stopped_speaking(text, interrupted=interrupted)

    def on_interrupted(self, ev: Event) -> None:
        """``agent_interrupted`` callback: pause the speech and keep the time it had left."""
        if self.text is not None and self.playing:
            self.playing = False
            self._remaining = max(0.0, self._end_at - ev.stream_time)
            self.new_plan()

    def on_false_interruption(self, ev: Event) -> None:
        """``agent_false_interruption`` callback: resume a paused speech for the time it had
        left when the engine says ``resumed``."""
        assert isinstance(ev, AgentFalseInterruptionEvent)
        if ev.resumed and self.text is not None and not self.playing:
            self.playing = True
            end = ev.stream_time + self._remaining
            if self._resume_moves_end:
                self._end_at = end
            self._schedule_stop(end)

    def _schedule_stop(self, at_s: float) -> None:
        token = self.new_plan()
        self.engine.schedule(at_s, lambda engine: self._finish(token))

    def _finish(self, token: int) -> None:
        if self.is_current(token) and self.text is not None and self.playing:
            self.stop(interrupted=False)
