"""What a session leaves behind: the event history, usage and chat history, and its report."""

from __future__ import annotations

import time
from typing import Any

from ..events import ConversationItemAddedEvent, Event, MetricsCollectedEvent
from ..metrics import UsageCollector
from ..report import ChatMessage, SessionReport


class SessionRecord:
    """Collects every session event, the usage summary and the chat history.

    Events are kept as they were emitted (frozen dataclasses) and turned into dicts only when
    a report is built; a ``conversation_item_added`` event, whose ``ChatMessage`` a subscriber
    could change, is turned into its dict at once."""

    def __init__(self) -> None:
        self.history: list[Event | dict[str, Any]] = []
        self.chat: list[ChatMessage] = []
        self.usage = UsageCollector()

    def record(self, event: Event) -> None:
        """Keep one session event (the bus calls this before any subscriber runs)."""
        self.history.append(event.to_dict() if isinstance(event, ConversationItemAddedEvent)
                            else event)
        if isinstance(event, MetricsCollectedEvent):
            self.usage.collect(event.metrics)

    def report(self, options: dict[str, Any], started_at: float,
               duration: float) -> SessionReport:
        """The :class:`~turnengine.report.SessionReport` as of now (chat in time order)."""
        chat = sorted(self.chat, key=lambda m: m.created_at)  # stable: ties keep their order
        return SessionReport(options=options, events=[e if isinstance(e, dict) else e.to_dict()
                                     for e in self.history],
                             chat_history=chat,
                             started_at=started_at, duration=duration, timestamp=time.time(),
                             usage=self.usage.get_summary().to_dict())
