"""``engine.events()``: one bounded asyncio queue per iterator, released when it is dropped.

Overflow policy: **drop the oldest**.  The producer is the audio path (``push_audio`` on the
host's audio thread or loop), which must never block on, or fail because of, a consumer that
stopped reading; the newest events (the user's and agent's current state) are the ones a late
consumer needs.  Each dropped event is counted (:attr:`EventStream.dropped`) and the first drop
of an iterator logs a warning.  The end-of-stream marker is never dropped.  Events pushed from
another thread wait in the loop's callback queue until the loop runs; at most ``max_queue`` of
them are in flight (more are dropped, the newest this time, and counted), so a loop that stopped
running does not hold an ever-growing backlog either.

The bus holds each iterator by weak reference only, so an iterator that is dropped unread (or
never started) is freed with its queue; ``aclose()`` (or breaking out of ``async for`` and
letting it go) unsubscribes at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..events import Event

logger = logging.getLogger("turnengine")

#: Default bound of each ``events()`` queue (about 15 minutes of events at one VADMetrics a
#: second plus the state changes; a few hundred kB).
DEFAULT_MAX_QUEUE = 1000

END = object()  # end-of-stream marker


def check_max_queue(value: object) -> int:
    """``max_queue`` as an int >= 1.

    Raises
    ------
    TypeError
        Not an int (bool refused).
    ValueError
        Less than 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_queue expects an int, got {value!r}")
    if value < 1:
        raise ValueError(f"max_queue must be >= 1, got {value}")
    return value


class EventStream:
    """Async iterator over one engine's session events (``engine.events()``).

    Parameters
    ----------
    loop : asyncio.AbstractEventLoop
        The consumer's loop; events from other threads are handed over with
        ``call_soon_threadsafe``.
    max_queue : int
        Events held for the consumer at most (see the module notes for the overflow policy).

    Attributes
    ----------
    max_queue : int
    done : bool
        True once the iterator ended (engine closed, or ``aclose()``).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_queue: int) -> None:
        self._loop = loop
        self.max_queue = max_queue
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_queue + 1)  # + the end
        # Each counter is written by one thread only (the producer's, or the loop's).
        self._sent = 0           # handed to the loop with call_soon_threadsafe
        self._received = 0       # of those, run on the loop
        self._dropped_here = 0   # dropped by the producer: the loop is not taking them
        self._dropped_loop = 0   # dropped from a full queue (oldest first)
        self.done = False

    @property
    def dropped(self) -> int:
        """Events dropped because the consumer did not keep up: the oldest from a full queue,
        or the newest while ``max_queue`` events wait for a loop that is not running."""
        return self._dropped_here + self._dropped_loop

    # -- producer side (the bus) ------------------------------------------------------------------
    def post(self, item: Any) -> None:
        """Hand one event (or the end marker) to the consumer's loop, from any thread."""
        loop = self._loop
        try:
            if loop.is_closed():
                return
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._put(item)
            elif item is not END and self._sent - self._received >= self.max_queue:
                self._dropped_here += 1  # a loop that runs no callbacks: bounded here too
            else:
                self._sent += 1
                loop.call_soon_threadsafe(self._handed, item)
        except RuntimeError:  # the consumer's loop has shut down
            pass

    def _handed(self, item: Any) -> None:
        self._received += 1
        self._put(item)

    def _put(self, item: Any) -> None:
        queue = self._queue
        if self.done:
            return
        if item is END:
            if queue.full():
                queue.get_nowait()
                self._dropped_loop += 1
            queue.put_nowait(item)
            return
        if queue.qsize() >= self.max_queue:
            queue.get_nowait()  # drop the oldest
            self._dropped_loop += 1
            if self._dropped_loop == 1:
                logger.warning("an engine.events() iterator is not keeping up: its queue of %d "
                               "events is full, dropping the oldest (see EventStream.dropped)",
                               self.max_queue)
        queue.put_nowait(item)

    # -- consumer side ----------------------------------------------------------------------------
    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self.done and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is END or self.done:
            self.done = True
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stop the iteration and drop the queued events (the bus forgets this iterator at its
        next event).  A reader waiting in another task ends its loop."""
        self.done = True
        queue = self._queue
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(END)  # wakes a reader waiting in another task

    def qsize(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize()
