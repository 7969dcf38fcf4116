"""One event bus per engine: callbacks, ``once``, asyncio queues and the lists calls return.

Every session event goes through :meth:`EventBus.emit`, which, in this order, appends it to
the event list of every engine call in progress (so a host call made inside a callback reports
its events to its own caller *and* to the ``push_audio``/``advance`` that ran the callback),
hands it to the session record, calls the subscribers, and posts it to every ``events()``
iterator.  VAD events (``start_of_speech``, ``inference_done``, ``end_of_speech``) are for
subscribers only (:meth:`EventBus.notify`), as in LiveKit's ``VADStream``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..emitter import Callback, EventEmitter
from ..events import Event

_END = object()  # end-of-stream marker for events()


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
        # Replaced, never mutated, so push_audio on another thread iterates a stable snapshot.
        self._streams: tuple[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]], ...] = ()

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
        for loop, queue in self._streams:
            _post(loop, queue, event)

    def notify(self, name: str, payload: Any) -> None:
        """Call the subscribers of ``name`` only (VAD events)."""
        self._emitter.emit(name, payload)

    # -- asyncio ----------------------------------------------------------------------------------
    def stream(self, closed: bool) -> AsyncIterator[Event]:
        """An async iterator over every event from now on; ends at :meth:`end_streams`.

        Must be called from a running event loop; ``closed`` ends it at once.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        entry = (loop, queue)
        self._streams = (*self._streams, entry)
        if closed:
            queue.put_nowait(_END)

        async def stream() -> AsyncIterator[Event]:
            try:
                while True:
                    item = await queue.get()
                    if item is _END:
                        return
                    yield item
            finally:
                self._streams = tuple(e for e in self._streams if e is not entry)

        return stream()

    def end_streams(self) -> None:
        """End every ``events()`` iterator (the engine closed)."""
        for loop, queue in self._streams:
            _post(loop, queue, _END)


def _post(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], item: Any) -> None:
    try:
        if loop.is_closed():
            return
        running = None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            pass
        if running is loop:
            queue.put_nowait(item)
        else:
            loop.call_soon_threadsafe(queue.put_nowait, item)
    except RuntimeError:  # the consumer's loop has shut down
        pass
