"""Steps the pipeline and hands each step's codes to the session, in time order.

Per chunk: the VAD and hysteresis run over every ready window at once; the timers kernel then
stops after each window that emits and at each ``VADMetrics`` boundary (after every window
while someone subscribes to ``inference_done``, whose events follow their window's decisions),
so callbacks (and the host calls they make) run with the clock exactly at their event's window,
with the session as that window left it, and the events a call returns stay in time order;
scheduled host actions run at the end of the first window that reaches their time.
``VADMetrics`` fall on fixed window boundaries, so the events do not depend on how the audio
was chunked.

Two things can happen between the steps of a chunk, both at a window boundary:

- a callback changed the hysteresis options (``update_options``): the windows after the
  boundary were already classified with the old ones, so the hysteresis decides them again
  from its state after the boundary (:meth:`Pipeline.reclassify`);
- a callback raised a ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``,
  held by the engine's :class:`~turnengine._core.guard.CallbackGuard`): the driver stops there
  and raises it.  The windows up to the boundary are done; the rest of the chunk (classified,
  not yet stepped through the timers) is kept as :attr:`Driver.interrupted` and finished by the
  engine's next ``push_audio``/``advance``/``flush`` before anything else, so no window is
  processed twice or skipped.
"""

from __future__ import annotations

import numpy as np

from ..options import seconds_to_samples
from .guard import CallbackGuard
from .history import AudioHistory
from .pipeline import Pipeline
from .scheduler import Scheduler
from .session import Session
from .vad_report import INFERENCE_DONE, VadReporting
from .window_log import WindowLogRecorder


class Chunk:
    """Where the driver is in one chunk's windows (kept when a callback's exception stops it).

    ``w``/``jh``: windows and hysteresis events the timers went through; ``logged``: windows
    copied to the window log; ``g0``: the VAD windows counted before the chunk."""

    __slots__ = ("n_win", "n_h", "start", "g0", "per_window_s", "inference", "w", "jh",
                 "logged")

    def __init__(self, n_win: int, n_h: int, start: int, g0: int, per_window_s: float,
                 inference: bool) -> None:
        self.n_win, self.n_h, self.start, self.g0 = n_win, n_h, start, g0
        self.per_window_s, self.inference = per_window_s, inference
        self.w = self.jh = self.logged = 0


class Driver:
    """The per-chunk loop of one engine (see the module notes).

    Parameters
    ----------
    pipeline, session, scheduler, vad_report, history
        The engine's parts.
    window_log : WindowLogRecorder, optional
        Kept when the engine was built with ``keep_window_log=True``.
    host : object
        What scheduled actions receive (the public engine).
    guard : CallbackGuard
        Holds what the host's callbacks raise beyond ``Exception``.
    """

    def __init__(self, pipeline: Pipeline, session: Session, scheduler: Scheduler,
                 vad_report: VadReporting, history: AudioHistory,
                 window_log: WindowLogRecorder | None, host: object,
                 guard: CallbackGuard) -> None:
        self._pipe = pipeline
        self._session = session
        self._scheduler = scheduler
        self._vad = vad_report
        self._history = history
        self._log = window_log
        self._host = host
        self._eot_on = session.eot.uses_model
        self._bus = session.bus
        self._static_plain = not (self._eot_on or window_log is not None
                                  or pipeline.min_volume > 0)
        self.touched = True  # set by the facade when :meth:`plain` may have changed
        self._heap = scheduler.heap
        self._guard = guard
        #: The chunk a callback's exception stopped, until :meth:`finish_interrupted`.
        self.interrupted: Chunk | None = None

    def options_changed(self) -> None:
        """Options changed (``min_volume`` decides whether a chunk is :meth:`plain`)."""
        self._static_plain = not (self._eot_on or self._log is not None
                                  or self._pipe.min_volume > 0)
        self.touched = True

    def idle(self, n_win: int) -> bool:
        """True when a push that completed ``n_win`` windows cannot cause anything."""
        return not n_win and not self._heap and not self._eot_on

    def between_steps(self) -> None:
        """Pick up a model answer and run due actions (before and after each step)."""
        if self._eot_on:
            self._session.poll_eot()
        if self._heap:
            self._scheduler.run_due(self._pipe.now, self._host)

    def plain(self) -> bool:
        """True when a chunk needs nothing but the kernels until they emit: no end-of-turn
        model, audio history, scheduled action, window log, ``inference_done`` subscriber or
        ``min_volume`` gate (what a group may step in one kernel call for many streams)."""
        return (self._static_plain and self._history.ring is None and not self._heap
                and not self._bus.has(INFERENCE_DONE))

    def decide(self, n_win: int, given: np.ndarray | None = None, infer_s: float = 0.0) -> None:
        """Run the ``n_win`` ready windows through the kernels and the session (the caller
        drops them from the buffer afterwards).

        ``given`` are probabilities a batched VAD already computed (``infer_s`` their time)."""
        grouped = self._pipe.grouped
        if self._eot_on or self._heap:
            self.between_steps()
            if not grouped and self._guard.held is not None:
                if n_win:  # heard, none stepped: kept whole for the next push/advance/flush
                    n_h, measured = self._pipe.classify(n_win, given)
                    self.interrupted = Chunk(n_win, n_h, self._pipe.now, self._vad.n_windows,
                                             (measured if given is None else infer_s) / n_win,
                                             self._bus.has(INFERENCE_DONE))
                    self._pipe.stepped(0)
                self._raise_held()
        if n_win:
            inference = self._bus.has(INFERENCE_DONE)  # asked once per chunk
            n_h, measured = self._pipe.classify(n_win, given)
            per_window_s = (measured if given is None else infer_s) / n_win
            self._run(Chunk(n_win, n_h, self._pipe.now, self._vad.n_windows, per_window_s,
                            inference))
        if grouped:  # (a group steps every stream's chunk to its end first)
            self._raise_held()

    def resume(self, n_win: int, n_h: int, infer_s: float, start: int,
               first: tuple[int, int, int]) -> None:
        """Go on with a :meth:`plain` chunk whose hysteresis and first timers step a group ran
        for many streams at once from clock sample ``start`` (``first``: what that step
        returned)."""
        self._run(Chunk(n_win, n_h, start, self._vad.n_windows, infer_s / n_win, False), first)
        self._raise_held()

    def finish_interrupted(self) -> int:
        """Finish the chunk a callback's exception stopped (see the module notes); returns its
        window count, for the caller to drop from the buffer (0 when there was none; a group
        steps its streams' chunks to their end before raising)."""
        c = self.interrupted
        if c is None or self._pipe.grouped:
            return 0
        self._run(c)
        return c.n_win

    def _raise_held(self) -> None:
        exc = self._guard.take()
        if exc is not None:
            raise exc

    def _step_limit(self, w: int, n_win: int, start: int, inference: bool, g: int) -> int:
        """Windows the next timers step may take from window ``w`` (global index ``g``): every
        callback runs with the clock at its own event, so a host call it makes lands in time
        order.  One window with ``inference_done`` subscribers; else up to the next VADMetrics
        boundary, the first scheduled action, what the audio history holds."""
        if inference:
            return 1
        limit = min(n_win - w, self._vad.next_boundary - g)
        due = self._scheduler.next_sample
        if due is not None:
            w_size = self._pipe.window_size
            limit = min(limit, max(1, -(-(due - (start + w * w_size)) // w_size)))
        if self._history.enabled:
            limit = min(limit, self._history.max_step_windows)  # never outrun the history
        return limit

    def _run(self, c: Chunk, first: tuple[int, int, int] | None = None) -> None:
        """Step chunk ``c`` from where it is to its end; on any exception the windows stepped
        so far count as done and ``c`` is kept in :attr:`interrupted`."""
        self.interrupted = c
        try:
            self._steps(c, first)
        except BaseException:
            self._pipe.stepped(c.w)  # stream_time: the rest stays buffered
            raise
        self.interrupted = None

    def _steps(self, c: Chunk, first: tuple[int, int, int] | None) -> None:
        pipe, vad, w_size = self._pipe, self._vad, self._pipe.window_size
        step, heap, gate, start = pipe.timers.step, self._heap, self._session.gate, c.start
        grouped = pipe.grouped
        while c.w < c.n_win:
            if pipe.hysteresis_stale and first is None and c.w:  # options changed mid-chunk
                c.n_h = c.jh + pipe.reclassify(c.w, c.n_win, c.jh, start)
            w = c.w
            if first is not None:  # plain: the step a group made is what step() would give
                (n_t, used, used_h), first = first, None
            else:
                limit = c.n_win - w
                if (heap or c.inference or self._history.ring is not None
                        or c.g0 + c.n_win > vad.next_boundary):
                    limit = self._step_limit(w, c.n_win, start, c.inference, c.g0 + w)
                n_t, used, used_h = step(w, limit, c.jh, c.n_h, start + w * w_size)
            c.w, c.jh = w + used, c.jh + used_h  # through the timers: never again
            g_end = c.g0 + c.w
            if self._log is not None:
                self._log.append(start + c.logged * w_size, pipe.probs[c.logged:c.w],
                                 pipe.smoothed[c.logged:c.w], pipe.flags[c.logged:c.w],
                                 pipe.runs[c.logged:c.w])
                c.logged = c.w
            # (a callback may turn the audio history on mid-chunk: asked every step)
            extras = c.inference or self._eot_on or self._history.ring is not None
            if n_t or extras or heap or g_end >= vad.next_boundary:
                pipe.stepped(c.w)  # callbacks may run: stream_time counts this step
            if extras:
                self._step_audio(w, used, start)
            if n_t or g_end >= vad.next_boundary:
                self._metrics_and_codes(c.g0, c.w, n_t, start, c.per_window_s)
            else:
                vad.account(g_end, c.per_window_s)
            if c.inference:  # after the window's decisions: the session agrees with the kernels
                self._vad.inference_done(pipe.windows(c.w), pipe.flags, pipe.smoothed,
                                         pipe.runs, w, used, start, c.per_window_s)
            if self._eot_on or heap:
                self.between_steps()
            if gate is not None:
                gate.flush(pipe.now, self._session.stt_muted())
            if self._guard.held is not None and not grouped:
                self._raise_held()

    def _step_audio(self, w: int, used: int, start: int) -> None:
        """The step's audio to the history (before its events ask for it) and to the
        end-of-turn model."""
        pipe, w_size = self._pipe, self._pipe.window_size
        step_audio = pipe.windows(w + used)[w * w_size:]
        self._history.record(step_audio, start + w * w_size)
        if self._eot_on:
            self._session.feed_turn_audio(step_audio, start + w * w_size)

    def _metrics_and_codes(self, g0: int, w_end: int, n_t: int, start: int,
                           per_window_s: float) -> None:
        """VADMetrics due up to window ``w_end`` of the chunk and the step's codes, in order:
        a metrics boundary on the emitting window itself comes after that window's codes."""
        vad, w_size = self._vad, self._pipe.window_size
        g_end = g0 + w_end
        m = vad.next_boundary
        while m <= g_end and not (n_t and m == g_end):
            vad.account(m, per_window_s)
            vad.emit_metrics(start + (m - g0) * w_size)
            m += vad.every
        if n_t:
            self._session.run_fired(self._pipe.codes(n_t))
        if m == g_end and n_t:
            vad.account(m, per_window_s)
            vad.emit_metrics(start + (m - g0) * w_size)
        vad.account(g_end, per_window_s)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` with no audio; deadlines and actions fire on time.

        The clock stops at every scheduled action and every pending deadline on the way, so
        the callbacks of what fires there (and the host calls they make) run with the clock
        at that deadline, not at the end of the advance."""
        pipe, sched = self._pipe, self._scheduler
        target = pipe.now + seconds_to_samples(seconds, pipe.model_rate)
        if self._eot_on:
            self._session.poll_eot()
        sched.run_due(pipe.now, self._host)
        while True:
            stop = self._next_stop(target)
            if stop is None:
                break
            self._session.run_fired(pipe.advance(stop - pipe.now))
            sched.run_due(pipe.now, self._host)
        self._session.run_fired(pipe.advance(target - pipe.now))
        sched.run_due(pipe.now, self._host)

    def _next_stop(self, target: int) -> int | None:
        """The first scheduled action or kernel deadline after the clock and by ``target``."""
        t, now = self._pipe.timers, self._pipe.now
        stops = [d for d in (self._scheduler.next_sample, t.endpoint_deadline, t.away_deadline,
                             t.false_interruption_deadline) if d is not None and now < d <= target]
        return min(stops) if stops else None
