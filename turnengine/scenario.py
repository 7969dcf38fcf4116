"""Scenario replay: play the host's side of a call against recorded user audio.

A scenario file (JSON) says what the agent did and what the user's STT said::

    {
      "agent": [{"start_s": 4.0, "end_s": 9.5, "text": "Let me tell you about...",
                 "allow_interruptions": true}],
      "transcripts": [{"t_s": 6.1, "text": "wait", "is_final": false},
                      {"t_s": 7.0, "text": "wait stop", "is_final": true, "confidence": 0.9}],
      "options": {"min_interruption_duration": 0.4}
    }

:class:`ScenarioPlayer` behaves like a real host: it starts and stops each agent speech at its
times, pauses it on ``agent_interrupted``, resumes the rest of it on
``agent_false_interruption(resumed=True)``, and stops it (``interrupted=True``) when the user's
turn commits; transcripts are pushed at their times.  Every action runs through
:meth:`TurnEngine.schedule` or an event callback, so it lands on the same engine-clock sample
however the audio is chunked, and the same file always replays to the same events.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import TurnEngine
from .events import Event
from .host.playback import AgentPlayback
from .options import TurnEngineOptions

#: How deep a scenario's JSON may nest (the format needs 3 levels: object, list, object).
MAX_DEPTH = 16


class ScenarioError(ValueError):
    """A scenario file or dict that does not match the format."""


@dataclass(frozen=True)
class AgentSpeech:
    """One agent utterance: played from ``start_s`` to ``end_s`` (seconds of audio)."""

    start_s: float
    end_s: float
    text: str = ""
    allow_interruptions: bool | None = None


@dataclass(frozen=True)
class TranscriptLine:
    """One STT result pushed at ``t_s`` (seconds of audio)."""

    t_s: float
    text: str
    is_final: bool = True
    confidence: float | None = None
    language: str | None = None
    speaker_id: str | None = None


@dataclass(frozen=True)
class Scenario:
    """What the host does during a replay (see the module docstring for the JSON format)."""

    agent: tuple[AgentSpeech, ...] = ()
    transcripts: tuple[TranscriptLine, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Scenario:
        """Validate and build a scenario.

        Raises
        ------
        ScenarioError
            Naming ``source``, the entry and what was expected.
        """
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: expected a JSON object with 'agent', 'transcripts' "
                                f"and 'options', got {type(data).__name__}")
        _check_depth(data, source)
        unknown = set(data) - {"agent", "transcripts", "options"}
        if unknown:
            raise ScenarioError(f"{source}: unknown key(s) {sorted(unknown)}; expected 'agent', "
                                "'transcripts', 'options'")
        agent = tuple(_agent(item, f"{source}: agent[{i}]")
                      for i, item in enumerate(_list(data, "agent", source)))
        transcripts = tuple(_transcript(item, f"{source}: transcripts[{i}]")
                            for i, item in enumerate(_list(data, "transcripts", source)))
        options = data.get("options", {})
        if not isinstance(options, dict):
            raise ScenarioError(f"{source}: 'options' must be an object, got "
                                f"{type(options).__name__}")
        try:
            TurnEngineOptions(**options)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{source}: options: {exc}") from None
        ordered = sorted(agent, key=lambda a: a.start_s)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start_s < a.end_s:
                raise ScenarioError(f"{source}: agent speeches overlap ({a.start_s}-{a.end_s} s "
                                    f"and {b.start_s}-{b.end_s} s)")
        return cls(tuple(ordered), tuple(sorted(transcripts, key=lambda t: t.t_s)), options)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read a scenario JSON file, or the ``scenario`` object of a label file that has one
        (``../shared/audio/echo/NAME.json``).

        Raises
        ------
        FileNotFoundError
            The file does not exist.
        OSError
            It cannot be read (``PermissionError``, ...).
        ScenarioError
            Not UTF-8 JSON, nested deeper than :data:`MAX_DEPTH`, or not the scenario format.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no such scenario file: {path}")
        if path.is_dir():
            raise ScenarioError(f"{path} is a directory, not a scenario file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: not valid JSON ({exc})") from None
        except RecursionError:
            raise ScenarioError(f"{path}: JSON nested too deeply (a scenario nests "
                                f"{MAX_DEPTH} levels at most)") from None
        if (isinstance(data, dict) and isinstance(data.get("scenario"), dict)
                and "agent" not in data):  # a label file with its call's scenario (echo sets)
            return cls.from_dict(data["scenario"], f"{path}: scenario")
        return cls.from_dict(data, str(path))


def _check_depth(data: Any, source: str) -> None:
    """Refuse values nested deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{source}: nested more than {MAX_DEPTH} levels deep; a "
                                "scenario is an object of lists of objects")
        children = (value.values() if isinstance(value, dict)
                    else value if isinstance(value, list) else ())
        stack.extend((child, depth + 1) for child in children)


def _list(data: dict[str, Any], key: str, source: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{source}: '{key}' must be a list, got {type(value).__name__}")
    return value


def _time(item: dict[str, Any], key: str, where: str) -> float:
    if key not in item:
        raise ScenarioError(f"{where}: missing '{key}'")
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value < 0:
        raise ScenarioError(f"{where}: '{key}' must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _agent(item: Any, where: str) -> AgentSpeech:
    if not isinstance(item, dict):
        raise ScenarioError(f"{where}: expected an object, got {type(item).__name__}")
    start, end = _time(item, "start_s", where), _time(item, "end_s", where)
    if end <= start:
        raise ScenarioError(f"{where}: end_s ({end}) must be after start_s ({start})")
    text = item.get("text", "")
    allow = item.get("allow_interruptions")
    if not isinstance(text, str) or (allow is not None and not isinstance(allow, bool)):
        raise ScenarioError(f"{where}: 'text' must be a string and 'allow_interruptions' a "
                            "boolean")
    return AgentSpeech(start, end, text, allow)


def _transcript(item: Any, where: str) -> TranscriptLine:
    if not isinstance(item, dict):
        raise ScenarioError(f"{where}: expected an object, got {type(item).__name__}")
    t = _time(item, "t_s", where)
    text, is_final = item.get("text"), item.get("is_final", True)
    if not isinstance(text, str) or not isinstance(is_final, bool):
        raise ScenarioError(f"{where}: 'text' must be a string and 'is_final' a boolean")
    conf = item.get("confidence")
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, (int, float))
                             or not 0 <= conf <= 1):
        raise ScenarioError(f"{where}: 'confidence' must be in [0, 1], got {conf!r}")
    language, speaker = item.get("language"), item.get("speaker_id")
    if not all(v is None or isinstance(v, str) for v in (language, speaker)):
        raise ScenarioError(f"{where}: 'language' and 'speaker_id' must be strings")
    return TranscriptLine(t, text, is_final, None if conf is None else float(conf), language,
                          speaker)


class ScenarioPlayer:
    """Plays a :class:`Scenario`'s host side on an engine (attach before pushing audio).

    Agent speech goes through :class:`~turnengine.host.playback.AgentPlayback`; a paused
    speech keeps its labelled ``end_s`` for the time it has left.

    Parameters
    ----------
    engine : TurnEngine
        A fresh engine; the player schedules its actions and subscribes to
        ``agent_interrupted``, ``agent_false_interruption`` and ``user_turn_completed``.
    scenario : Scenario
    """

    def __init__(self, engine: TurnEngine, scenario: Scenario) -> None:
        self.engine = engine
        self.scenario = scenario
        self.playback = AgentPlayback(engine, resume_moves_end=False)
        for speech in scenario.agent:
            engine.schedule(speech.start_s, functools.partial(self._start_action, speech))
        for line in scenario.transcripts:
            engine.schedule(line.t_s, functools.partial(self._transcript_action, line))
        engine.on("agent_interrupted", self.playback.on_interrupted)
        engine.on("agent_false_interruption", self.playback.on_false_interruption)
        engine.on("user_turn_completed", self._on_turn)

    def _start_action(self, speech: AgentSpeech, engine: TurnEngine) -> None:
        self.playback.start(speech.text, speech.end_s,
                            allow_interruptions=speech.allow_interruptions)

    @staticmethod
    def _transcript_action(line: TranscriptLine, engine: TurnEngine) -> None:
        engine.push_transcript(line.text, line.is_final, line.confidence, line.language,
                               line.speaker_id)

    def _on_turn(self, ev: Event) -> None:
        if self.playback.text is not None:
            self.playback.stop(interrupted=True)
