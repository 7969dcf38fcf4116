"""``SessionReport`` with LiveKit's fields (``livekit/agents/voice/report.py``), SPEC 9."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChatMessage:
    """One chat-history item (LiveKit ``ChatMessage`` fields, plus ``source`` for user items).

    ``created_at`` is epoch seconds; ``source`` is ``"voice"`` or ``"text"`` for user items and
    None for the agent.
    """

    id: str
    role: str
    content: list[str]
    created_at: float
    interrupted: bool = False
    transcript_confidence: float | None = None
    source: str | None = None
    type: str = "message"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "role": self.role,
                               "content": list(self.content), "interrupted": self.interrupted,
                               "created_at": self.created_at}
        if self.transcript_confidence is not None:
            out["transcript_confidence"] = self.transcript_confidence
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass
class SessionReport:
    """What happened in one session.

    ``events`` are the session events' dicts without ``metrics_collected``; ``options`` holds every
    engine option; ``duration`` is seconds of audio on the engine clock; ``started_at`` and
    ``timestamp`` are epoch seconds.

    Memory stays bounded in sessions of any length: ``events`` and ``chat_history`` hold the
    most recent ``history["max_events"]`` items each (``TurnEngine(max_report_events=...)``,
    default 5000; None keeps all); ``history["events_dropped"]`` and
    ``history["chat_items_dropped"]`` count what fell out.  The totals are exact whatever the
    cap: ``event_counts`` (every session event emitted, by type, ``metrics_collected``
    included), ``usage`` (every metric summed) and ``duration``.
    """

    options: dict[str, Any]
    events: list[dict[str, Any]]
    chat_history: list[ChatMessage]
    started_at: float
    duration: float
    timestamp: float
    job_id: str = ""
    room_id: str = ""
    room: str = ""
    audio_recording_path: str | None = None
    audio_recording_started_at: float | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    event_counts: dict[str, int] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every SPEC 9 key."""
        return {
            "job_id": self.job_id,
            "room_id": self.room_id,
            "room": self.room,
            "options": dict(self.options),
            "events": [e for e in self.events if e.get("type") != "metrics_collected"],
            "chat_history": {"items": [m.to_dict() for m in self.chat_history]},
            "audio_recording_path": self.audio_recording_path,
            "audio_recording_started_at": self.audio_recording_started_at,
            "duration": self.duration,
            "started_at": self.started_at,
            "timestamp": self.timestamp,
            "usage": dict(self.usage),
            "event_counts": dict(self.event_counts),
            "history": dict(self.history),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)
