"""``TurnEngine``: one user's audio in, LiveKit-style session events out (SPEC 4-10).

This module is the facade: public methods, their validation, and delegation to the parts in
:mod:`turnengine._core`, which data flows through one way::

    push_audio -> pipeline (intake -> VAD -> hysteresis -> timers) -> codes
               -> driver -> session (events, turns, transcripts) -> bus (callbacks, queues)

Every time is a sample count on the engine clock (model-rate samples consumed, plus
``advance``), so a recorded session replays to the same events however it is chunked.  Host
calls (agent state, transcripts, commits) take effect at the clock as it stands when they are
made: the end of the last complete VAD window pushed so far.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._core.batch import StreamParts
from ._core.bus import EventBus
from ._core.clock import SampleClock
from ._core.driver import Driver
from ._core.end_of_call import EndOfCallAPI
from ._core.event_stream import DEFAULT_MAX_QUEUE, EventStream, check_max_queue
from ._core.guard import CallbackGuard
from ._core.history import AudioHistory
from ._core.host_api import HostCallsAPI
from ._core.host_calls import HostCalls
from ._core.live_options import LiveOptions
from ._core.observers import ObserversAPI
from ._core.pipeline import Pipeline
from ._core.playout_api import PlayoutAPI
from ._core.record import DEFAULT_MAX_REPORT_EVENTS, SessionRecord
from ._core.scheduler import Scheduler
from ._core.session import Session
from ._core.threads import locked
from ._core.turns import TurnEmitter
from ._core.vad_report import VadReporting
from ._core.validate import check_options as _check_options
from ._core.validate import check_seconds as _check_seconds
from ._core.window_log import WindowLog, WindowLogAPI, WindowLogRecorder, window_log_length
from .audio import as_frames, check_sample_rate, model_rate_for
from .echo import DEFAULT_ECHO_CANCELLER, ECHO_CANCELLERS
from .endpointing import EndOfTurn
from .events import USER_STATES, Event, VADEventType
from .options import TurnEngineOptions, seconds_to_samples
from .report import SessionReport
from .vad import DEFAULT_VAD, VADBackend

logger = logging.getLogger("turnengine")

SESSION_EVENTS: tuple[str, ...] = (
    "user_state_changed",
    "agent_state_changed",
    "user_turn_completed",
    "eager_end_of_turn",
    "turn_resumed",
    "agent_interrupted",
    "agent_false_interruption",
    "user_backchannel",
    "user_input_transcribed",
    "conversation_item_added",
    "metrics_collected",
    "options_updated",
)
VAD_EVENTS: tuple[str, ...] = tuple(t.value for t in VADEventType)
_INT16 = np.dtype(np.int16)
#: The furthest the engine clock may go (int64 samples, with headroom for deadlines after it).
_MAX_CLOCK = 2**63 - 2**61


class EngineClosedError(ValueError):
    """Raised when audio or host calls reach an engine after ``close()``."""


class TurnEngine(ObserversAPI, HostCallsAPI, WindowLogAPI, EndOfCallAPI, PlayoutAPI):
    """Real-time turn detection for one user stream.

    Parameters
    ----------
    sample_rate : int
        Rate of the pushed audio in Hz: 8000 or 16000 natively; 24000, 32000, 44100 or 48000 are
        resampled to 16000 by the intake kernel.
    vad : str or VADBackend
        ``"silero"`` (default: Silero VAD v5 in turnengine's own kernel, weights read from the
        packaged ``silero_vad.onnx``; falls back to onnxruntime with a warning),
        ``"silero-onnx"`` (the same model on onnxruntime, the reference) or ``"energy"``
        (model-free); or a backend object at the model rate.
    turn_detector : {None, "smart-turn"}
        End-of-turn model (SPEC 5). None: the fixed ``min_endpointing_delay`` (or the dynamic
        one). ``"smart-turn"``: Pipecat's Smart Turn v3.2 audio model (extra
        ``turnengine[smart-turn]``), run speculatively once silence reaches 0.2 s; the turn
        waits ``max_endpointing_delay`` when P(complete) < ``unlikely_threshold``. Without the
        extra the engine warns and uses the fixed delay (``reason="fallback"``).
    model_path : str, optional
        A ``silero_vad.onnx`` to use instead of the packaged one.
    stt_gate : bool
        Keep the audio a streaming STT should receive (SPEC 8): read it with
        :meth:`stt_audio`; ``STTMetrics`` are reported per speech segment.
    keep_window_log : bool or int
        Keep the windows' probabilities and flags for :meth:`window_log`, as ``turnengine
        plot`` does: in a ring of the last 65,536 windows (True; 35 min of Silero windows,
        2.2 MB when full) or of the number given.
    max_report_events : int or None
        The report keeps the most recent this many events, and as many chat items (default
        5000; its totals stay exact, see :class:`~turnengine.report.SessionReport`); None
        keeps all (memory then grows with the session).
    eot_executor : {"thread", "inline"}
        Where end-of-turn predictions run: a worker thread (default; ``push_audio`` never waits
        for the model, its answer is applied at the next ``push_audio``/``advance``) or inline
        (replays: the answer lands at the prediction's own window, so a file always gives the
        same events).
    eot_model : SmartTurnModel, optional
        A loaded model to share between engines (each otherwise loads its own).
    audio_stall_watchdog : bool
        Wall-clock mode (SPEC 2): remember when audio last arrived, so that
        :meth:`check_audio_stall` can close a speaking state after ``audio_stall_timeout``
        seconds without input. Off by default: everything else runs on the audio clock.
    echo_canceller : {"aec3"}
        The echo-canceller backend built by the first :meth:`push_playout` (docs/echo.md);
        unused without playout.
    options : TurnEngineOptions, optional
        All options at once; keyword ``**kwargs`` override single ones (SPEC names and defaults,
        see :class:`~turnengine.options.TurnEngineOptions`).

    Raises
    ------
    TypeError, ValueError
        Unsupported sample rate, unknown backend or detector, a bad option value (for example a
        negative delay).

    Notes
    -----
    Threads: one engine may be used from several threads (audio from an audio thread, host
    calls from an asyncio loop).  Each public call runs whole under the engine's re-entrant
    lock, so no audio is lost or doubled, and a call racing :meth:`close` either lands in the
    report or raises ``EngineClosedError``.  Callbacks run on the calling thread holding that
    lock: they may make host calls, but must not wait for another thread using this engine.

    Event names and semantics follow LiveKit Agents (``AgentSession``): ``user_state_changed``,
    ``agent_state_changed``, ``user_turn_completed``, ``metrics_collected`` (``VADMetrics``,
    ``EOUMetrics``); ``agent_interrupted`` and ``user_backchannel`` are turnengine's own.  VAD
    events (``start_of_speech``, ``inference_done``, ``end_of_speech``) carry LiveKit
    ``VADEvent`` fields; ``inference_done`` exists only while someone subscribes to it.

    A callback (or scheduled action) that raises an ``Exception`` is logged and the engine goes
    on.  One that raises anything else (``KeyboardInterrupt``, ``SystemExit``) gets it out of
    the engine call that ran it, but only once the engine is consistent: every subscriber of
    that event and the rest of the window's events run first, then ``push_audio`` raises it
    after that VAD window (the windows before it and the window itself are processed; the rest
    of the chunk, already heard by the VAD, is processed first thing by the next
    ``push_audio``, ``advance`` or ``flush``, its events in that call's list), a host call or
    ``advance`` at its end.  No window is processed twice or skipped; host calls made in
    between take effect at :attr:`decision_time`, where the engine stopped.

    Examples
    --------
    >>> engine = TurnEngine(sample_rate=16000)  # doctest: +SKIP
    >>> engine.on("user_turn_completed", lambda ev: print(ev.transcript))  # doctest: +SKIP
    >>> events = engine.push_audio(pcm_int16_chunk)  # doctest: +SKIP
    """

    def __init__(self, sample_rate: int = 16000, vad: str | VADBackend = DEFAULT_VAD,
                 turn_detector: str | None = None, *, model_path: str | None = None,
                 stt_gate: bool = False, keep_window_log: bool | int = False,
                 max_report_events: int | None = DEFAULT_MAX_REPORT_EVENTS,
                 eot_executor: str = "thread", eot_model: Any = None,
                 audio_stall_watchdog: bool = False,
                 echo_canceller: str = DEFAULT_ECHO_CANCELLER,
                 options: TurnEngineOptions | None = None, **kwargs: Any) -> None:
        rate = check_sample_rate(sample_rate)
        chosen = _check_options(turn_detector, options, kwargs)
        if echo_canceller not in ECHO_CANCELLERS:
            raise ValueError(f"unknown echo_canceller {echo_canceller!r}; expected one of "
                             f"{ECHO_CANCELLERS}")
        self._echo_name = echo_canceller
        self.sample_rate = rate
        self.turn_detector = turn_detector
        model_rate = model_rate_for(rate)
        eot = EndOfTurn(turn_detector, chosen, model_rate, eot_executor, eot_model)
        self._pipe = Pipeline(rate, vad, model_path, chosen, eot.predict_after_samples)
        self.model_rate = self._pipe.model_rate
        self.vad = self._pipe.vad
        self.started_at = time.time()
        self._closed = False
        self._shutdown_callbacks: list[Callable[[SessionReport], Any]] = []
        self._shutdown_tasks: list[asyncio.Future[Any]] = []
        self._lock = threading.RLock()
        self._build_session(chosen, eot, window_log_length(keep_window_log), max_report_events)
        if eot.uses_model:
            self._history.enable(self._pipe.now)
        if stt_gate:
            self._session.enable_stt_gate()
        self._stall_watchdog = bool(audio_stall_watchdog)
        self._last_audio_wall = time.monotonic()

    def _build_session(self, o: TurnEngineOptions, eot: EndOfTurn, log_length: int | None,
                       max_report_events: int | None) -> None:
        pipe = self._pipe
        self._clock = SampleClock(pipe.model_rate, self.started_at)
        self._record = SessionRecord(max_report_events)
        self._bus = EventBus(SESSION_EVENTS + VAD_EVENTS, self._record.record)
        self._history = AudioHistory(o, pipe.model_rate, pipe.window_size)
        self._vad_report = VadReporting(self._bus, self._clock, self._history, o,
                                        pipe.vad.name, pipe.window_size)
        self._session = Session(pipe, self._bus, self._clock, o, eot,
                                TurnEmitter(self._bus, self._clock, self._record),
                                self._vad_report, self._history)
        self._host = HostCalls(self._session, self._clock)
        self._scheduler = Scheduler()
        self._heap = self._scheduler.heap
        self._eot_on = eot.uses_model
        self._window_log = (WindowLogRecorder(pipe.model_rate, pipe.window_size, log_length)
                            if log_length else None)
        self._guard = CallbackGuard()
        self._driver = Driver(pipe, self._session, self._scheduler, self._vad_report,
                              self._history, self._window_log, self, self._guard)
        self._live = LiveOptions(o, self.turn_detector, pipe, self._driver, self._session,
                                 self._vad_report, self._history, self._bus, self._clock)

    def _stream_parts(self) -> StreamParts:
        """The parts a :class:`~turnengine.TurnEngineGroup` steps together with other streams."""
        return StreamParts(self._pipe, self._driver, self._vad_report, self._bus.collecting)

    # -- state ------------------------------------------------------------------------------------
    @property
    def stream_time(self) -> float:
        """Seconds of audio on the engine clock (model-rate samples consumed, plus ``advance``)."""
        return (self._pipe.now + self._pipe.buffered) / self.model_rate

    @property
    def decision_time(self) -> float:
        """Seconds on the engine clock where decisions and host calls take effect: the end of
        the last complete VAD window, plus ``advance``."""
        return self._pipe.now / self.model_rate

    @property
    def options(self) -> TurnEngineOptions:
        """The options in force (read-only: change them with :meth:`update_options`)."""
        return self._live.options

    @options.setter
    def options(self, value: object) -> None:
        raise AttributeError("TurnEngine.options is read-only: a new value would change the "
                             "report but not the kernels; call engine.update_options(**changes)")

    def update_options(self, **changes: Any) -> list[Event]:
        """Change options during the call (LiveKit ``AgentSession.update_options``, Pipecat
        ``set_params``), from the next VAD window on.

        Every option of :class:`~turnengine.options.TurnEngineOptions` may change, the
        endpointing mode and ``turn_detection`` included.  Pending decisions follow the new
        values: a changed delay or timeout moves the deadline it governs to its anchor (the end
        of speech; for ``user_away_timeout`` when both went quiet) plus the new value, firing
        at the next window when that has passed; a delay the end-of-turn model chose stays
        until its next answer.  Allowed inside callbacks and scheduled actions: the rest of the
        chunk is then decided with the new options (docs/options.md, "Changing options").

        Parameters
        ----------
        **changes
            Option names and new values, validated as the constructor does.

        Returns
        -------
        list of Event
            ``options_updated`` (``changes``, ``previous``; none when nothing changed), also
            in the report's events; the report's ``options`` end with the values in force and
            list every change under ``"updates"``.

        Raises
        ------
        TypeError
            Unknown option name, value of the wrong type.
        ValueError
            Bad value, a constructor argument (``vad``, ``turn_detector``, ``sample_rate``,
            ...) that cannot change during a call, or a closed engine.  Nothing changes then.
        """
        self._check_open()
        with self._bus.collect() as out:
            self._live.update(changes)
        self._raise_held()
        return out

    @property
    def user_state(self) -> str:
        """The user's state as the last ``user_state_changed`` announced it: ``"listening"``,
        ``"speaking"`` or ``"away"``."""
        return self._session.user_state

    @property
    def agent_state(self) -> str:
        """The agent's state as the last ``agent_state_changed`` announced it."""
        return self._session.agent_state

    @property
    def decision_pending(self) -> bool:
        """True while a timer decision is still open: an endpointing or false-interruption
        deadline is armed, or a turn waits for the end-of-turn model's answer."""
        t = self._pipe.timers
        return (t.endpoint_deadline >= 0 or t.false_interruption_deadline >= 0
                or bool(t.awaiting_model))

    @property
    def awaiting_model(self) -> bool:
        """True while a turn waits for the end-of-turn model's answer for the current pause."""
        return bool(self._pipe.timers.awaiting_model)

    @property
    def endpointing_delay(self) -> float:
        """The minimum endpointing delay in force (s): ``min_endpointing_delay``, or where
        ``endpointing_mode="dynamic"`` moved it."""
        return self._pipe.timers.endpoint_delay / self.model_rate

    @property
    def eot_model(self) -> Any:
        """The loaded end-of-turn model (shared by the engines of a group), or None."""
        return self._session.eot.model

    @property
    def next_action_time(self) -> float | None:
        """Clock time (s) of the earliest action given to :meth:`schedule` not yet run."""
        due = self._scheduler.next_sample
        return None if due is None else due / self.model_rate

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosedError("the engine is closed; create a new TurnEngine for a new "
                                    "session")

    def _check_not_in_callback(self, call: str) -> None:
        if self._bus.collecting:
            raise RuntimeError(
                f"{call}() was called from inside an event callback or scheduled action of the "
                "same engine, while the engine is still processing; it would move the clock "
                "under the step in progress. Host calls (agent state, transcripts, text input, "
                "commit_user_turn) are fine there; push audio and advance from your own loop.")

    # -- audio ------------------------------------------------------------------------------------
    @locked
    def push_audio(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> list[Event]:
        """Feed one chunk of PCM and return the session events it caused, in time order.

        Parameters
        ----------
        chunk : bytes, bytearray, memoryview or numpy.ndarray
            Mono int16 little-endian bytes, or an int16/float32 array of shape ``(n_samples,)``
            or ``(n_samples, n_channels)`` (down-mixed by averaging), at ``sample_rate``, of any
            length.

        Returns
        -------
        list of Event
            ``user_state_changed``, ``agent_interrupted``, ``agent_state_changed``,
            ``user_backchannel``, ``user_turn_completed`` and ``metrics_collected`` events,
            with those of host calls made by callbacks and scheduled actions while it ran.

        Raises
        ------
        TypeError
            Wrong container or dtype.
        ValueError
            Odd byte count, empty chunk, bad shape, NaN/inf or out-of-range floats, or a closed
            engine (``EngineClosedError``).  The engine state is unchanged after any error.
        RuntimeError
            Called from inside one of this engine's event callbacks or scheduled actions (the
            engine is mid-step; host calls are fine there, audio is pushed from the host's own
            loop).
        BaseException
            What a callback raised beyond ``Exception`` (``KeyboardInterrupt``), after the
            window whose events raised it; the rest of the chunk is kept (class notes).
        """
        self._check_open()
        if self._bus.collecting:
            self._check_not_in_callback("push_audio")
        if (type(chunk) is np.ndarray and chunk.dtype is _INT16 and chunk.ndim == 1
                and chunk.shape[0] and chunk.flags.c_contiguous):
            frames = chunk  # the common case: mono int16, nothing to check or convert
        else:
            frames = as_frames(chunk)
        pipe = self._pipe
        out: list[Event] = []
        if self._driver.interrupted is not None:
            self._finish_interrupted(out)
        n_win = pipe.intake(frames)
        if self._stall_watchdog:
            self._last_audio_wall = time.monotonic()
        if not n_win and not self._heap and not self._eot_on:
            return out  # a push that completed no window: nothing can happen
        collecting = self._bus.collecting  # (the bus's collect(), inlined: hot path)
        collecting.append(out)
        try:
            self._driver.decide(n_win)
        finally:
            collecting.pop()
        pipe.consume(n_win)
        return out

    def _finish_interrupted(self, out: list[Event]) -> None:
        """The rest of the chunk a callback's exception stopped, before anything else."""
        with self._bus.collect() as events:
            self._pipe.consume(self._driver.finish_interrupted())
        out += events

    def _raise_held(self) -> None:
        if not self._bus.collecting:
            exc = self._guard.take()
            if exc is not None:
                raise exc

    # -- scheduled host actions -------------------------------------------------------------------
    @locked
    def schedule(self, seconds: float, action: Callable[[TurnEngine], Any]) -> None:
        """Run ``action(engine)`` when the engine clock reaches ``seconds``.

        Parameters
        ----------
        seconds : float
            Absolute stream time in seconds (the clock of ``stream_time``: audio pushed plus
            :meth:`advance`, from the stream's start), not a delay from now.
        action : callable
            Called with the engine as its only argument; its return value is ignored.

        During audio it runs at the end of the first VAD window that reaches ``seconds``; during
        :meth:`advance`, at exactly ``seconds``; a time already passed runs at the next
        ``push_audio``/``advance``.  Host calls made by the action take effect at that clock
        and their events are returned by the ``push_audio``/``advance`` that ran it.  This is how
        a replayed scenario (agent speech, transcripts) lands at the same sample however the
        audio is chunked.

        Raises
        ------
        TypeError
            ``action`` not callable, ``seconds`` not a number.
        ValueError
            ``seconds`` negative or not finite.
        """
        if not callable(action):
            raise TypeError(f"expected a callable action, got {type(action).__name__}")
        at = seconds_to_samples(_check_seconds(seconds), self.model_rate)
        if at > _MAX_CLOCK:
            raise ValueError(f"schedule({seconds}) is past the engine clock's range "
                             f"({_MAX_CLOCK / self.model_rate:.3g} s, int64 samples)")
        self._scheduler.add(at, self._guard.action(action))
        self._driver.touched = True

    @locked
    def advance(self, seconds: float) -> list[Event]:
        """Move the engine clock forward with no audio (mute, network drop) so timers fire.

        Deadlines (endpointing, false interruption, user away) fire at their exact time.

        Parameters
        ----------
        seconds : float
            >= 0, finite.

        Raises
        ------
        TypeError
            ``seconds`` not a number.
        ValueError
            Negative or non-finite ``seconds``, a clock past 2**63 - 2**61 samples, or a closed
            engine.
        RuntimeError
            Called from inside one of this engine's event callbacks or scheduled actions.
        """
        self._check_open()
        self._check_not_in_callback("advance")
        seconds = _check_seconds(seconds)
        step = seconds_to_samples(seconds, self.model_rate)
        if self._pipe.now + step > _MAX_CLOCK:
            raise ValueError(f"advance({seconds}) would move the engine clock past "
                             f"{_MAX_CLOCK / self.model_rate:.3g} s (int64 samples)")
        with self._bus.collect() as out:
            if self._driver.interrupted is not None:
                self._pipe.consume(self._driver.finish_interrupted())
            self._driver.advance(seconds)
        self._raise_held()
        return out

    # -- asyncio ----------------------------------------------------------------------------------
    @locked
    def events(self, max_queue: int = DEFAULT_MAX_QUEUE) -> EventStream:
        """Async iterator over every session event from now on; ends when the engine closes.

        Must be called from a running event loop.  ``push_audio`` may run on another thread
        (events are handed over with ``call_soon_threadsafe``).

        Parameters
        ----------
        max_queue : int
            Events held for a consumer that does not keep up; beyond it the oldest are dropped
            (counted in the iterator's ``dropped``, a warning on the first), so audio never
            waits for a consumer.  A dropped or ``aclose()``-d iterator is released.

        Raises
        ------
        RuntimeError
            No running event loop.
        TypeError, ValueError
            ``max_queue`` not an int >= 1.

        Examples
        --------
        >>> async for ev in engine.events():  # doctest: +SKIP
        ...     if ev.type == "agent_interrupted":
        ...         await tts.pause()
        """
        return self._bus.stream(self._closed, check_max_queue(max_queue))

    # -- end of session ---------------------------------------------------------------------------
    def _report(self) -> SessionReport:
        return self._record.report(
            self.options.to_dict() | {"vad": self.vad.name, "turn_detector": self.turn_detector,
                                      "sample_rate": self.sample_rate,
                                      "updates": list(self._live.updates)},
            self.started_at, self.stream_time)

    @locked
    def close(self) -> SessionReport:
        """End the session: build the report, call each shutdown callback once, end streams.

        A callback may be a coroutine function: inside a running event loop it is scheduled as
        a task (await :meth:`aclose` instead to wait for it); otherwise it is run to completion
        with :func:`asyncio.run`.  A callback that raises is logged.  Calling ``close`` again
        returns a fresh report without calling the callbacks again.
        """
        report = self._report()
        if self._closed:
            return report
        self._closed = True
        self._session.eot.close()
        self._close_echo()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        self._call_shutdown_callbacks(report, running)
        self._bus.end_streams()
        return report

    async def aclose(self) -> SessionReport:
        """Async ``close``: awaits coroutine shutdown callbacks before returning the report."""
        report = self.close()
        tasks, self._shutdown_tasks = self._shutdown_tasks, []
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                logger.error("shutdown callback raised: %r", result)
        return report

    def __enter__(self) -> TurnEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"TurnEngine(sample_rate={self.sample_rate}, vad={self.vad.name!r}, "
                f"user_state={self.user_state!r}, agent_state={self.agent_state!r}, "
                f"stream_time={self.stream_time:.3f})")


__all__ = ["TurnEngine", "EngineClosedError", "WindowLog", "SESSION_EVENTS", "VAD_EVENTS",
           "USER_STATES"]
