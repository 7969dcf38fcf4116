"""The host side of a call, played on an engine: agent speech that starts, stops, pauses on an
interruption and resumes after a false one (:mod:`turnengine.host.playback`).

Used by scenario replay (:class:`turnengine.scenario.ScenarioPlayer`) and by the microphone's
simulated agent (:class:`turnengine.tools.mic.agent.SimulatedAgent`).
"""

from __future__ import annotations

from .playback import AgentPlayback

__all__ = ["AgentPlayback"]
