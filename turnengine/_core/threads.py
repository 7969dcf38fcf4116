"""Thread rule of a :class:`~turnengine.TurnEngine`: one engine is safe to use from several
threads.

Every public call that reads or changes the session (audio, the clock, host calls,
subscriptions, ``events()``, the window log, ``close``) runs under the engine's re-entrant
lock, so calls from different threads run one after another, each whole: no audio is lost or
processed twice, and a call racing ``close()`` either runs entirely before the report is built
(its events are in the report) or raises ``EngineClosedError`` having changed nothing.  The lock
is re-entrant, so host calls made from a callback on the calling thread go through; a callback
must not *wait* for another thread that calls the same engine (that thread waits for the lock).

Read-only properties (``stream_time``, ``user_state`` ...) take no lock: they read one value
and may be a step behind a call running on another thread.

A :class:`~turnengine.TurnEngineGroup` takes the lock of every stream it steps, in stream order,
for each ``push_audio``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _Lockable(Protocol):
    _lock: Any


def locked(method: F) -> F:
    """Run ``method`` holding ``self._lock`` (a ``threading.RLock``)."""

    @functools.wraps(method)
    def under_lock(self: _Lockable, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return under_lock  # type: ignore[return-value]


@contextmanager
def all_locked(owners: Sequence[_Lockable]) -> Iterator[None]:
    """Hold the locks of ``owners``, taken in their order (one fixed order: no deadlock between
    two callers that both follow it)."""
    with ExitStack() as stack:
        for owner in owners:
            stack.enter_context(owner._lock)
        yield
