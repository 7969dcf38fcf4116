"""The end of a call: :meth:`flush` settles the last utterance and its turn, and
:meth:`wait_for_model` waits for the end-of-turn model's answer in flight; mixed into
:class:`~turnengine.TurnEngine`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..events import Event
from .threads import locked

if TYPE_CHECKING:
    from ..options import TurnEngineOptions
    from .driver import Driver
    from .pipeline import Pipeline
    from .session import Session


class EndOfCallAPI:
    """``flush`` and ``wait_for_model`` of :class:`~turnengine.TurnEngine`."""

    _driver: Driver
    _pipe: Pipeline
    _session: Session
    _lock: Any

    if TYPE_CHECKING:  # provided by TurnEngine
        @property
        def options(self) -> TurnEngineOptions: ...
        sample_rate: int
        @property
        def user_state(self) -> str: ...
        @property
        def decision_pending(self) -> bool: ...
        def push_audio(self, chunk: Any) -> list[Event]: ...
        def advance(self, seconds: float) -> list[Event]: ...
        def _check_open(self) -> None: ...
        def _check_not_in_callback(self, call: str) -> None: ...
        def _finish_interrupted(self, out: list[Event]) -> None: ...

    def wait_for_model(self, timeout: float | None = None) -> bool:
        """Block until the end-of-turn model has answered the question in flight (worker
        thread); the answer takes effect at the next :meth:`push_audio` or :meth:`advance`.

        Live hosts never need this (answers are picked up by the next push); it is for the end
        of a file or call, before letting the clock run out with :meth:`advance`.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; None waits as long as it takes.

        Returns
        -------
        bool
            True when no answer is outstanding any more, False on timeout.
        """
        return self._session.eot.wait(timeout)

    @locked
    def flush(self, model_timeout: float = 30.0) -> list[Event]:
        """The call ended: settle the last utterance and its turn as if silence had followed.

        Pushes digital silence (whole windows) until the VAD has ended the user's speech, then
        lets open decisions (the endpointing delay, a model's answer, a false-interruption
        timeout) resolve on the clock, as ``turnengine run`` does at the end of a file.  Call it
        before :meth:`close` to keep the last turn.

        Parameters
        ----------
        model_timeout : float
            Seconds to wait for an end-of-turn model answer in flight (worker thread).

        Returns
        -------
        list of Event

        Raises
        ------
        ValueError, RuntimeError
            A closed engine; a call from inside one of this engine's callbacks or actions.
        """
        self._check_open()
        self._check_not_in_callback("flush")
        o, out = self.options, list[Event]()
        if self._driver.interrupted is not None:
            self._finish_interrupted(out)
        silence = np.zeros(self.sample_rate // 4, np.float32)  # 0.25 s at the input rate
        for _ in range(int(4 * (o.min_silence_duration + o.max_endpointing_delay)) + 4):
            if self.user_state != "speaking" and not self._pipe.hysteresis.speaking:
                break
            out += self.push_audio(silence)
        longest = max(o.max_endpointing_delay, o.false_interruption_timeout or 0.0)
        for _ in range(8):
            if not self.wait_for_model(model_timeout) or not self.decision_pending:
                break
            out += self.advance(longest)
        return out
