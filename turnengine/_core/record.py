"""What a session leaves behind: the event history, usage and chat history, and its report.

Memory is bounded for sessions of any length: the report keeps the most recent
``max_events`` session events and as many chat items (older ones are dropped and counted),
while its totals stay exact (``event_counts``: every event of each type; ``usage``: every metric;
``duration``).  ``metrics_collected`` events are summed into ``usage`` and never kept (the
report's ``events`` leave them out anyway).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from ..events import ConversationItemAddedEvent, Event, MetricsCollectedEvent
from ..metrics import UsageCollector
from ..report import ChatMessage, SessionReport

#: Default cap on the report's events and on its chat items (``TurnEngine(max_report_events=)``).
DEFAULT_MAX_REPORT_EVENTS = 5000


def check_max_events(value: object) -> int | None:
    """``max_report_events`` as given: an int >= 1, or None (keep everything).

    Raises
    ------
    TypeError
        Not an int (bool refused) nor None.
    ValueError
        Less than 1.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_report_events expects an int or None, got {value!r}")
    if value < 1:
        raise ValueError(f"max_report_events must be >= 1 (or None), got {value}")
    return value


class SessionRecord:
    """Collects the session events, the usage summary and the chat history of one session.

    Parameters
    ----------
    max_events : int or None
        Most recent session events (``metrics_collected`` aside) and, separately, most recent
        chat items kept for the report; None keeps every one (memory then grows with the
        session, about 0.3 kB per event).

    Notes
    -----
    Events are kept as they were emitted (frozen dataclasses) and turned into dicts only when
    a report is built; a ``conversation_item_added`` event, whose ``ChatMessage`` a subscriber
    could change, is turned into its dict at once.
    """

    def __init__(self, max_events: int | None = DEFAULT_MAX_REPORT_EVENTS) -> None:
        self.max_events = check_max_events(max_events)
        self.history: deque[Event | dict[str, Any]] = deque(maxlen=self.max_events)
        self.chat: deque[ChatMessage] = deque(maxlen=self.max_events)
        self._chat_known: deque[float] = deque(maxlen=self.max_events)  # (aligned with chat)
        self.usage = UsageCollector()
        #: Every session event emitted so far, by type (``metrics_collected`` included).
        self.event_counts: dict[str, int] = {}
        self.events_dropped = 0
        self.chat_items_dropped = 0

    def record(self, event: Event) -> None:
        """Count and keep one session event (the bus calls this before any subscriber runs)."""
        kind = event.type
        self.event_counts[kind] = self.event_counts.get(kind, 0) + 1
        if isinstance(event, MetricsCollectedEvent):
            self.usage.collect(event.metrics)
            return
        if len(self.history) == self.max_events:
            self.events_dropped += 1
        self.history.append(event.to_dict() if isinstance(event, ConversationItemAddedEvent)
                            else event)

    def add_chat(self, item: ChatMessage, known_at: float = 0.0) -> None:
        """Keep one chat item (the oldest goes once ``max_events`` are kept); ``known_at`` (s of
        audio) is when the engine learnt what it says: an agent message at its speech's start,
        a user message at its turn's commit."""
        if len(self.chat) == self.max_events:
            self.chat_items_dropped += 1
        self.chat.append(item)
        self._chat_known.append(known_at)

    def report(self, options: dict[str, Any], started_at: float,
               duration: float) -> SessionReport:
        """The :class:`~turnengine.report.SessionReport` as of now (chat in time order: by
        ``created_at``, then by when the engine learnt of each item, an agent message cut at
        its start by the user's speech first; then in the order they were added)."""
        items, known = list(self.chat), list(self._chat_known)
        order = sorted(range(len(items)), key=lambda i: (items[i].created_at, known[i]))
        chat = [items[i] for i in order]  # (sorted is stable: ties keep the order added)
        return SessionReport(options=options, events=[e if isinstance(e, dict) else e.to_dict()
                                     for e in self.history],
                             chat_history=chat,
                             started_at=started_at, duration=duration, timestamp=time.time(),
                             usage=self.usage.get_summary().to_dict(),
                             event_counts=dict(self.event_counts),
                             history={"max_events": self.max_events,
                                      "events_dropped": self.events_dropped,
                                      "chat_items_dropped": self.chat_items_dropped})
