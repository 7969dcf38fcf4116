"""Callbacks and scheduled actions that raise ``KeyboardInterrupt``, ``SystemExit`` or another
``BaseException`` that is not an ``Exception``.

An ``Exception`` from a callback is logged and the engine goes on (SPEC 10; the emitter and the
scheduler do that).  A ``BaseException`` must reach the host, but not from the middle of the
engine's bookkeeping: the rest of the event's subscribers, the rest of the session's reaction
to a kernel code and the rest of the window's codes would be lost while the kernels have
already moved on.  So the subscriptions and actions the host gives the engine are wrapped: such
an exception is *held* (the first one; later ones are dropped) and the engine raises it at the
next safe point: after the VAD window whose events raised it (``push_audio``; the driver keeps
the rest of the chunk for the next call), or at the end of the host call or ``advance``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Guarded:
    """A host callback (or scheduled action) whose non-``Exception`` raises are held.

    Calls through to ``callback``; an ``Exception`` propagates (the emitter or the scheduler
    logs it), anything else goes to :attr:`CallbackGuard.held`.
    """

    __slots__ = ("callback", "_guard", "_once_of")

    def __init__(self, callback: Callable[[Any], Any], guard: CallbackGuard,
                 once_of: str | None) -> None:
        self.callback = callback
        self._guard = guard
        self._once_of = once_of  # the event name of a once() subscription

    def __call__(self, payload: Any) -> Any:
        if self._once_of is not None:
            self._guard.forget(self._once_of, self)
        try:
            return self.callback(payload)
        except Exception:
            raise
        except BaseException as exc:
            if self._guard.held is None:
                self._guard.held = exc
            return None

    def __repr__(self) -> str:
        return repr(self.callback)


class CallbackGuard:
    """The held exception of one engine and the wrappers of its subscriptions."""

    def __init__(self) -> None:
        #: The first ``BaseException`` a guarded callback raised and nobody re-raised yet.
        self.held: BaseException | None = None
        self._subs: dict[tuple[str, int], list[Guarded]] = {}

    def subscription(self, name: str, callback: Callable[[Any], Any], once: bool) -> Guarded:
        """The wrapper to subscribe in place of ``callback`` (kept for :meth:`unsubscribe`)."""
        guarded = Guarded(callback, self, name if once else None)
        self._subs.setdefault((name, id(callback)), []).append(guarded)
        return guarded

    def unsubscribe(self, name: str, callback: Callable[[Any], Any]) -> list[Guarded]:
        """The wrappers of ``callback`` on ``name`` (forgotten here; the caller removes them from
        the emitter)."""
        return [g for g in self._subs.pop((name, id(callback)), []) if g.callback is callback]

    def forget(self, name: str, guarded: Guarded) -> None:
        """A ``once`` subscription ran: drop its wrapper (memory stays flat)."""
        key = (name, id(guarded.callback))
        rest = [g for g in self._subs.get(key, []) if g is not guarded]
        if rest:
            self._subs[key] = rest
        else:
            self._subs.pop(key, None)

    def action(self, action: Callable[[Any], Any]) -> Guarded:
        """The wrapper to schedule in place of ``action``."""
        return Guarded(action, self, None)

    def take(self) -> BaseException | None:
        """The held exception (now no longer held), or None."""
        exc, self.held = self.held, None
        return exc
