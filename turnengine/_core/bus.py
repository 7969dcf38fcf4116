"""One event bus per engine: callbacks, ``once``, asyncio queues and the lists calls return.

Every session event goes through :meth:`EventBus.emit`, which, in this order, appends it to
the event list of every engine call in progress (so a host call made inside a callback reports
its events to its own caller *and* to the ``push_audio``/``advance`` that ran the callback),
hands it to the session record, calls the subscribers, and posts it to every ``events()``
iterator; the events of one turn (:meth:`EventBus.emit_all`) all reach the lists and the record
before any subscriber runs, so what a subscriber's host call raises comes after the whole turn.
VAD events (``start_of_speech``, ``inference_done``, ``end_of_speech``) are for subscribers only
(:meth:`EventBus.notify`), as in LiveKit's ``VADStream``.

``events()`` iterators are :class:`~turnengine._core.event_stream.EventStream` objects with a
bounded queue (drop-oldest, counted); the bus holds them by weak reference, so an iterator that
is dropped unread is freed with its queue.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..emitter import Callback, EventEmitter
from ..events import Event
from .event_stream import END, EventStream


class EventBus:
    """Named-event delivery for one engine.

    Parameters
    ----------
    names : iterable of str
        Event names that may be subscribed to.
    record : callable
        Called with each session event before any subscriber sees it (the session record).
    """

    def __init__(self, names: Iterable[str], record: Callable[[Event], None]) -> None:
        self._emitter = EventEmitter(names)
        self._record = record
        #: The event lists of the calls in progress, innermost last (see :meth:`collect`).
        self.collecting: list[list[Event]] = []
        self.has = self._emitter.has  # (bound once: asked per chunk on the hot path)
        # Weak references to the events() iterators; replaced, never mutated (under the
        # engine's lock), so a snapshot is always safe to iterate.
        self._streams: tuple[weakref.ref[EventStream], ...] = ()

    # -- subscription -----------------------------------------------------------------------------
    def on(self, name: str, callback: Callback | None = None) -> Any:
        return self._emitter.on(name, callback)

    def once(self, name: str, callback: Callback) -> Any:
        return self._emitter.once(name, callback)

    def off(self, name: str, callback: Callback) -> None:
        self._emitter.off(name, callback)

    # -- delivery ---------------------------------------------------------------------------------
    @contextmanager
    def collect(self) -> Iterator[list[Event]]:
        """The list of events raised while the ``with`` block runs (nested blocks included).

        Hot paths append to and pop :attr:`collecting` themselves, in a ``try``/``finally``."""
        out: list[Event] = []
        self.collecting.append(out)
        try:
            yield out
        finally:
            self.collecting.pop()

    def emit(self, event: Event) -> None:
        """Deliver one session event (see the module notes for the order)."""
        for out in self.collecting:
            out.append(event)
        self._record(event)
        self._emitter.emit(event.type, event)
        if self._streams:
            self._post(event)

    def emit_all(self, events: tuple[Event, ...]) -> None:
        """Deliver the events of one happening (a turn, its ``EOUMetrics``, its chat item): the
        call lists and the record get every one before any subscriber runs."""
        for event in events:
            for out in self.collecting:
                out.append(event)
            self._record(event)
        for event in events:
            self._emitter.emit(event.type, event)
            if self._streams:
                self._post(event)

    def notify(self, name: str, payload: Any) -> None:
        """Call the subscribers of ``name`` only (VAD events)."""
        self._emitter.emit(name, payload)

    # -- asyncio ----------------------------------------------------------------------------------
    def stream(self, closed: bool, max_queue: int) -> EventStream:
        """An async iterator over every event from now on; ends at :meth:`end_streams`.

        Must be called from a running event loop; ``closed`` ends it at once.
        """
        stream = EventStream(asyncio.get_running_loop(), max_queue)
        if closed:
            stream.post(END)
        else:
            self._streams = (*(weakref.ref(s) for s in self._live()), weakref.ref(stream))
        return stream

    def end_streams(self) -> None:
        """End every ``events()`` iterator (the engine closed)."""
        for stream in self._live():
            stream.post(END)
        self._streams = ()

    @property
    def n_streams(self) -> int:
        """``events()`` iterators still subscribed (not dropped, closed or ended)."""
        return len(self._live())

    def _live(self) -> list[EventStream]:
        return [s for s in (ref() for ref in self._streams) if s is not None and not s.done]

    def _post(self, item: Any) -> None:
        live = self._live()
        if len(live) != len(self._streams):
            self._streams = tuple(weakref.ref(s) for s in live)
        for stream in live:
            stream.post(item)
