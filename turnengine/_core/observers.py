"""What the host observes of :class:`~turnengine.TurnEngine` besides returned events:
``on``/``once``/``off`` and shutdown callbacks (the window log: :mod:`.window_log`).

Subscriptions go to the event bus wrapped by the engine's
:class:`~turnengine._core.guard.CallbackGuard` (what a callback raises beyond ``Exception`` is
held and re-raised at a safe point)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..events import VADEventType
from ..report import SessionReport
from .threads import locked

if TYPE_CHECKING:
    from .bus import EventBus
    from .driver import Driver
    from .guard import CallbackGuard
    from .history import AudioHistory
    from .pipeline import Pipeline

logger = logging.getLogger("turnengine")

_AUDIO_VAD_EVENTS = (VADEventType.START_OF_SPEECH.value, VADEventType.END_OF_SPEECH.value)


class ObserversAPI:
    """Public subscriptions and shutdown callbacks; mixed into
    :class:`~turnengine.TurnEngine`."""

    _bus: EventBus
    _driver: Driver
    _guard: CallbackGuard
    _history: AudioHistory
    _pipe: Pipeline
    _shutdown_callbacks: list[Callable[[SessionReport], Any]]
    _shutdown_tasks: list[asyncio.Future[Any]]
    _lock: Any

    @locked
    def on(self, name: str, callback: Callable[[Any], Any] | None = None) -> Any:
        """Subscribe to a session event or VAD event (see the class notes); decorator form
        allowed.  Returns ``callback``.

        Raises
        ------
        ValueError
            If ``name`` is not an event of the engine.
        TypeError
            If ``callback`` is not callable.
        """
        if callback is None:
            self._bus.on(name)  # (checks the name now)

            def decorator(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
                return self.on(name, fn)
            return decorator
        return self._subscribe(name, callback, once=False)

    @locked
    def once(self, name: str, callback: Callable[[Any], Any]) -> Any:
        """Subscribe ``callback`` to the next ``name`` event only."""
        return self._subscribe(name, callback, once=True)

    def _subscribe(self, name: str, callback: Callable[[Any], Any], once: bool) -> Any:
        self._bus.on(name)  # (checks the name before anything changes)
        if not callable(callback):
            raise TypeError(f"expected a callable, got {type(callback).__name__}")
        if name in _AUDIO_VAD_EVENTS:
            self._history.enable(self._pipe.now)
        self._driver.touched = True
        guarded = self._guard.subscription(name, callback, once)
        if once:
            self._bus.once(name, guarded)
        else:
            self._bus.on(name, guarded)
        return callback

    @locked
    def off(self, name: str, callback: Callable[[Any], Any]) -> None:
        """Unsubscribe ``callback`` from ``name`` (every time it was subscribed)."""
        self._bus.off(name, callback)
        for guarded in self._guard.unsubscribe(name, callback):
            self._bus.off(name, guarded)
        self._driver.touched = True

    @locked
    def add_shutdown_callback(self, callback: Callable[[SessionReport], Any]) -> None:
        """Call ``callback(report)`` once when the engine closes.

        Raises
        ------
        TypeError
            If ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(f"expected a callable, got {type(callback).__name__}")
        self._shutdown_callbacks.append(callback)

    def _call_shutdown_callbacks(self, report: SessionReport,
                                 running: asyncio.AbstractEventLoop | None) -> None:
        for cb in self._shutdown_callbacks:
            try:
                result = cb(report)
                if inspect.isawaitable(result):
                    if running is not None:
                        self._shutdown_tasks.append(asyncio.ensure_future(result))
                    else:
                        asyncio.run(_awaited(result))
            except Exception:
                logger.exception("shutdown callback %r raised", cb)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
