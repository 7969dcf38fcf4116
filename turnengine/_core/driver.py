"""Steps the pipeline and hands each step's codes to the session, in time order.

Per chunk: the VAD and hysteresis run over every ready window at once; the timers kernel then
stops after each window that emits, so callbacks (and the host calls they make) run with the
clock exactly at that window's end, and scheduled host actions run at the end of the first
window that reaches their time.  ``VADMetrics`` fall on fixed window boundaries, so the events
do not depend on how the audio was chunked.
"""

from __future__ import annotations

import numpy as np

from ..options import seconds_to_samples
from .history import AudioHistory
from .pipeline import Pipeline
from .scheduler import Scheduler
from .session import Session
from .vad_report import INFERENCE_DONE, VadReporting
from .window_log import WindowLogRecorder


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
    """

    def __init__(self, pipeline: Pipeline, session: Session, scheduler: Scheduler,
                 vad_report: VadReporting, history: AudioHistory,
                 window_log: WindowLogRecorder | None, host: object) -> None:
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
        if self._eot_on or self._heap:
            self.between_steps()
        if n_win:
            inference = self._bus.has(INFERENCE_DONE)  # asked once per chunk
            n_h, measured = self._pipe.classify(n_win, given)
            self._run(n_win, n_h, measured if given is None else infer_s, inference)

    def resume(self, n_win: int, n_h: int, infer_s: float, start: int,
               first: tuple[int, int, int]) -> None:
        """Go on with a :meth:`plain` chunk whose hysteresis and first timers step a group ran
        for many streams at once from clock sample ``start`` (``first``: what that step
        returned)."""
        self._run(n_win, n_h, infer_s, False, first, start)

    def _step_limit(self, w: int, n_win: int, start: int) -> int:
        limit = n_win - w
        due = self._scheduler.next_sample
        if due is not None:
            w_size = self._pipe.window_size
            limit = min(limit, max(1, -(-(due - (start + w * w_size)) // w_size)))
        if self._history.enabled:
            limit = min(limit, self._history.max_step_windows)  # never outrun the history
        return limit

    def _run(self, n_win: int, n_h: int, infer_s: float, inference: bool,
             first: tuple[int, int, int] | None = None, start: int | None = None) -> None:
        pipe, vad, w_size = self._pipe, self._vad, self._pipe.window_size
        if start is None:
            start = pipe.now
        if self._log is not None:
            self._log.append(start, pipe.probs[:n_win], pipe.smoothed[:n_win], pipe.flags[:n_win],
                             pipe.runs[:n_win])
        per_window_s = infer_s / n_win
        g0 = vad.n_windows  # windows before this chunk
        step, heap, gate = pipe.timers.step, self._heap, self._session.gate
        w = jh = 0
        while w < n_win:
            if first is not None:  # plain: the step a group made is what step() would give
                (n_t, used, used_h), first = first, None
            else:
                limit = (self._step_limit(w, n_win, start) if heap or self._history.ring
                         is not None else n_win - w)
                n_t, used, used_h = step(w, limit, jh, n_h, start + w * w_size)
            g_end = g0 + w + used
            # (a callback may turn the audio history on mid-chunk: asked every step)
            extras = inference or self._eot_on or self._history.ring is not None
            if n_t or extras or heap or g_end >= vad.next_boundary:
                pipe.stepped(w + used)  # callbacks may run: stream_time counts this step
            if extras:
                self._step_audio(w, used, start, per_window_s, inference)
            if n_t or g_end >= vad.next_boundary:
                self._metrics_and_codes(g0, w + used, n_t, start, per_window_s)
            else:
                vad.account(g_end, per_window_s)
            w += used
            jh += used_h
            if self._eot_on or heap:
                self.between_steps()
            if gate is not None:
                gate.flush(pipe.now, self._session.stt_muted())

    def _step_audio(self, w: int, used: int, start: int, per_window_s: float,
                    inference: bool) -> None:
        """The step's audio to the history (before its events ask for it), the VAD's
        ``inference_done`` events and the end-of-turn model."""
        pipe, w_size = self._pipe, self._pipe.window_size
        samples = pipe.windows(w + used)
        step_audio = samples[w * w_size:]
        self._history.record(step_audio, start + w * w_size)
        if inference:
            self._vad.inference_done(samples, pipe.flags, pipe.smoothed, pipe.runs, w, used,
                                     start, per_window_s)
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
        """Move the clock ``seconds`` with no audio; deadlines and actions fire on time."""
        pipe, sched = self._pipe, self._scheduler
        target = pipe.now + seconds_to_samples(seconds, pipe.model_rate)
        if self._eot_on:
            self._session.poll_eot()
        sched.run_due(pipe.now, self._host)
        while True:
            due = sched.next_sample
            if due is None or due > target:
                break
            self._session.run_fired(pipe.advance(due - pipe.now))
            sched.run_due(pipe.now, self._host)
        self._session.run_fired(pipe.advance(target - pipe.now))
        sched.run_due(pipe.now, self._host)
