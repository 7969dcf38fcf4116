"""The simulated agent of ``turnengine mic --simulate-agent``: it answers each user turn with a
silent reply, so that interruptions can be tried without a real voice agent."""

from __future__ import annotations

from ...engine import TurnEngine
from ...events import Event, UserStateChangedEvent
from ...host.playback import AgentPlayback

__all__ = ["SimulatedAgent"]


class SimulatedAgent:
    """Plays the agent's side of the call on an engine, silently.

    After each ``user_turn_completed`` the agent is ``thinking`` for ``think_s``, then
    ``speaking`` for ``speech_s``.  It pauses on ``agent_interrupted``, resumes the rest of its
    speech on ``agent_false_interruption(resumed=True)``, stops (interrupted) when the user's
    next turn completes, and drops a reply it has not started when the user speaks again while
    it thinks.  The speech itself is played by
    :class:`~turnengine.host.playback.AgentPlayback`, as a replayed scenario's is; all actions
    go through :meth:`TurnEngine.schedule` and event callbacks, so they land on the engine clock.

    Parameters
    ----------
    engine : TurnEngine
    speech_s : float
        Seconds each reply lasts (> 0).
    think_s : float
        Seconds between the turn and the reply (>= 0).
    """

    def __init__(self, engine: TurnEngine, *, speech_s: float = 4.0, think_s: float = 0.4) -> None:
        if not speech_s > 0 or not think_s >= 0:
            raise ValueError(f"expected speech_s > 0 and think_s >= 0, got {speech_s}, {think_s}")
        self.engine = engine
        self.speech_s = float(speech_s)
        self.think_s = float(think_s)
        self.replies = 0
        self.replies_interrupted = 0
        # One token sequence for the replies and the playback's stops: a new plan of either
        # invalidates every action scheduled before it.
        self.playback = AgentPlayback(engine)
        engine.on("user_turn_completed", self._on_turn)
        engine.on("user_state_changed", self._on_user_state)
        engine.on("agent_interrupted", self.playback.on_interrupted)
        engine.on("agent_false_interruption", self.playback.on_false_interruption)

    def _on_turn(self, ev: Event) -> None:
        # React once every subscriber has seen the turn: a scheduled action at the turn's own
        # time runs right after the window's events, on the same sample.
        token, at = self.playback.new_plan(), ev.stream_time
        self.engine.schedule(at, lambda engine: self._reply(token, at))

    def _reply(self, token: int, at: float) -> None:
        if not self.playback.is_current(token):
            return
        if self.playback.text is not None:
            self.replies_interrupted += 1
            self.playback.stop(interrupted=True)
        self.engine.set_agent_state("thinking")
        token = self.playback.new_plan()
        self.engine.schedule(at + self.think_s, lambda engine: self._start(token))

    def _on_user_state(self, ev: Event) -> None:
        if (isinstance(ev, UserStateChangedEvent) and ev.new_state == "speaking"
                and self.engine.agent_state == "thinking"):
            self.playback.new_plan()  # the user goes on: drop the reply not yet started
            self.engine.set_agent_state("listening")

    def _start(self, token: int) -> None:
        if not self.playback.is_current(token):
            return
        self.replies += 1
        self.playback.start(f"(simulated reply {self.replies})",
                            self.engine.decision_time + self.speech_s)
