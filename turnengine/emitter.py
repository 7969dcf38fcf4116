"""Synchronous event subscription: ``on`` / ``off`` / ``once`` (LiveKit's ``EventEmitter`` shape).

A callback that raises an ``Exception`` is logged and does not stop the engine or the other
callbacks (SPEC 10).  Anything else (``KeyboardInterrupt``) propagates from here; the engine
subscribes its host's callbacks wrapped so that it is held until a safe point instead
(:mod:`turnengine._core.guard`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("turnengine")

Callback = Callable[[Any], Any]


class EventEmitter:
    """Named-event callbacks.

    Parameters
    ----------
    names : iterable of str
        The event names that may be subscribed to; anything else is a ``ValueError`` so that a
        typo never silently subscribes to nothing.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._names = frozenset(names)
        self._callbacks: dict[str, list[tuple[Callback, bool]]] = {}

    @property
    def names(self) -> frozenset[str]:
        return self._names

    def _check(self, name: str) -> None:
        if name not in self._names:
            raise ValueError(f"unknown event {name!r}; expected one of {sorted(self._names)}")

    def on(self, name: str, callback: Callback | None = None) -> Any:
        """Subscribe ``callback`` to ``name``; usable as a decorator when ``callback`` is omitted.

        Raises
        ------
        ValueError
            If ``name`` is not an event of this engine.
        TypeError
            If ``callback`` is not callable.
        """
        self._check(name)
        if callback is None:
            def decorator(fn: Callback) -> Callback:
                self.on(name, fn)
                return fn
            return decorator
        if not callable(callback):
            raise TypeError(f"expected a callable, got {type(callback).__name__}")
        self._callbacks.setdefault(name, []).append((callback, False))
        return callback

    def once(self, name: str, callback: Callback) -> Callback:
        """Subscribe ``callback`` for the next ``name`` event only."""
        self._check(name)
        if not callable(callback):
            raise TypeError(f"expected a callable, got {type(callback).__name__}")
        self._callbacks.setdefault(name, []).append((callback, True))
        return callback

    def off(self, name: str, callback: Callback) -> None:
        """Remove ``callback`` from ``name`` (no error if it was not subscribed)."""
        self._check(name)
        subs = self._callbacks.get(name, [])
        self._callbacks[name] = [(cb, once) for cb, once in subs if cb is not callback]

    def has(self, name: str) -> bool:
        """True when ``name`` has at least one subscriber."""
        return bool(self._callbacks.get(name))

    def emit(self, name: str, payload: Any) -> None:
        """Call every subscriber of ``name`` with ``payload``; log, never raise, on failure."""
        subs = self._callbacks.get(name)
        if not subs:
            return
        if any(once for _, once in subs):
            self._callbacks[name] = [(cb, once) for cb, once in subs if not once]
        for cb, _ in subs:
            try:
                cb(payload)
            except Exception:
                logger.exception("callback %r for %r raised; the engine continues", cb, name)
