"""turnengine.host.playback: the agent-speech playback shared by scenario replay and the mic's
simulated agent, driven by hand on a recording stand-in for the engine."""

from __future__ import annotations

from typing import Any

import pytest

from turnengine.events import AgentFalseInterruptionEvent, AgentInterruptedEvent
from turnengine.host.playback import AgentPlayback


class Clock:
    """What AgentPlayback uses of a TurnEngine: schedule() and the two agent calls."""

    def __init__(self) -> None:
        self.now = 0.0
        self.actions: list[tuple[float, int, Any]] = []
        self.calls: list[tuple[Any, ...]] = []

    def schedule(self, seconds: float, action: Any) -> None:
        self.actions.append((seconds, len(self.actions), action))

    def agent_started_speaking(self, *, allow_interruptions: bool | None = None) -> list[Any]:
        self.calls.append(("start", self.now, allow_interruptions))
        return []

    def agent_stopped_speaking(self, text: str | None = None, *,
                               interrupted: bool = False) -> list[Any]:
        self.calls.append(("stop", self.now, text, interrupted))
        return []

    def run_until(self, t: float) -> None:
        while True:
            due = sorted(a for a in self.actions if a[0] <= t)
            if not due:
                break
            self.actions.remove(due[0])
            self.now = max(self.now, due[0][0])
            due[0][2](self)
        self.now = t


def _interrupt_twice(resume_moves_end: bool) -> list[tuple[Any, ...]]:
    """Speech 0-10 s; paused at 2, resumed at 3, paused at 5, resumed at 6."""
    clock = Clock()
    playback = AgentPlayback(clock, resume_moves_end=resume_moves_end)  # type: ignore[arg-type]
    playback.start("hello", 10.0, allow_interruptions=True)
    for t, event in ((2.0, AgentInterruptedEvent(2.0, 0.0)),
                     (3.0, AgentFalseInterruptionEvent(3.0, 0.0, resumed=True)),
                     (5.0, AgentInterruptedEvent(5.0, 0.0)),
                     (6.0, AgentFalseInterruptionEvent(6.0, 0.0, resumed=True))):
        clock.run_until(t)
        if isinstance(event, AgentInterruptedEvent):
            playback.on_interrupted(event)
        else:
            playback.on_false_interruption(event)
    clock.run_until(30.0)
    return clock.calls


@pytest.mark.parametrize(("resume_moves_end", "end"), [(True, 12.0), (False, 11.0)])
def test_pause_and_resume_play_the_time_that_was_left(resume_moves_end: bool, end: float):
    # 8 s left at the first pause: resumed at 3, the speech ends at 11. At the second pause the
    # time left is measured from the moved end (11 - 5 = 6 s: ends at 12) or from the end the
    # speech started with (10 - 5 = 5 s: ends at 11, the scenario player's rule).
    calls = _interrupt_twice(resume_moves_end)
    assert calls == [("start", 0.0, True), ("stop", end, "hello", False)]


def test_a_new_start_stops_the_speech_in_progress_and_its_scheduled_stop():
    clock = Clock()
    playback = AgentPlayback(clock)  # type: ignore[arg-type]
    playback.start("one", 5.0)
    clock.run_until(2.0)
    playback.start("two", 4.0)
    clock.run_until(10.0)
    assert clock.calls == [("start", 0.0, None), ("stop", 2.0, "one", True),
                           ("start", 2.0, None), ("stop", 4.0, "two", False)]
    assert playback.text is None and not playback.playing


def test_new_plan_invalidates_scheduled_stops():
    clock = Clock()
    playback = AgentPlayback(clock)  # type: ignore[arg-type]
    playback.start("one", 5.0)
    token = playback.new_plan()
    assert playback.is_current(token)
    clock.run_until(10.0)
    assert clock.calls == [("start", 0.0, None)] and playback.text == "one"
    playback.stop(interrupted=True)
    assert not playback.is_current(token)
    assert clock.calls[-1] == ("stop", 10.0, "one", True)
