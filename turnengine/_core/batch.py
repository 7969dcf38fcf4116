"""Many streams stepped together: the arrays and kernel calls behind ``TurnEngineGroup``.

Per group push, whatever the number of streams: one intake call (int16 rows), one batched
Silero call per window step, one hysteresis and one timers call.  Only the streams where
something happens (a kernel code, a ``VADMetrics`` boundary, or a stream that needs more than
the kernels: an end-of-turn model, audio history, scheduled actions, a window log, VAD-event
subscribers) go on through their own driver in Python.  Each stream's events are exactly those
of a lone :class:`~turnengine.TurnEngine` fed the same audio.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _kernels
from ..vad import VADBackend
from .driver import Driver
from .pipeline import Pipeline
from .vad_report import VadReporting


class BatchedSlot(VADBackend):
    """One stream's view of a ``SileroBatch``: the group evaluates all slots together; this
    backend runs the same network state for its stream alone (``process_stream``)."""

    def __init__(self, batch: Any, stream: int, name: str, sample_rate_hz: int,
                 window_size: int, lone: VADBackend) -> None:
        self.batch = batch
        self.stream = stream
        self.name = name
        self.sample_rate_hz = sample_rate_hz
        self.window_size = window_size
        self._lone = lone

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        self.batch.process_stream(self.stream, samples, probs_out)

    def reset(self) -> None:
        self.batch.reset(self.stream)

    def fresh(self) -> VADBackend:
        return self._lone.fresh()


class StreamParts:
    """What the group drives of one stream: its pipeline, driver, VAD reporting, and the
    bus's list of event lists being collected (the stream's events of a push go to its list)."""

    def __init__(self, pipeline: Pipeline, driver: Driver, vad_report: VadReporting,
                 collecting: list[list[Any]]) -> None:
        self.pipeline = pipeline
        self.driver = driver
        self.vad_report = vad_report
        self.collecting = collecting


class GroupBatch:
    """Shared arrays and the one-call-per-step path for ``n`` streams (see the module notes).

    Parameters
    ----------
    parts : sequence of StreamParts
    batch : SileroBatch or None
        The batched network; None runs each stream's own backend.
    window_size : int
    """

    def __init__(self, parts: Sequence[StreamParts], batch: Any, window_size: int) -> None:
        self.parts = list(parts)
        self.batch = batch
        self.w = window_size
        n = len(self.parts)
        self._pcm = _kernels.load("pcm")
        self._hyst_mod = _kernels.load("hysteresis")
        self._timers_mod = _kernels.load("timers")
        self._drivers = [p.driver for p in self.parts]
        self.skip: np.ndarray | None = None  # closed streams, set by the group for one push
        self._plain = np.zeros(n, bool)
        self._all_plain = False
        self._intakes = [p.pipeline.intake_kernel for p in self.parts]
        self._hysts = [p.pipeline.hysteresis for p in self.parts]
        self._timers = [p.pipeline.timers for p in self.parts]
        self.pending = np.zeros(n, np.int64)
        self.consumed = np.zeros(n, np.int64)
        i64 = [np.zeros(n, np.int64) for _ in range(7)]
        self._starts, self._n_h, self._n_t, self._used, self._used_h, self._fast, self._win = i64
        # VADMetrics bookkeeping of plain streams, handed to their VadReporting when they need
        # Python (deferred windows and inference seconds), and where their next boundary is.
        self._defer_win = np.zeros(n, np.int64)
        self._defer_s = np.zeros(n, np.float64)
        self._total = np.array([p.vad_report.n_windows for p in self.parts], np.int64)
        self._next = np.array([p.vad_report.next_boundary for p in self.parts], np.int64)
        self._windows = np.zeros((n, 0), np.float32)  # the batch's input and output, reused
        self._probs_out = np.zeros((n, 0), np.float32)
        self._size(64, 4 * window_size)

    def _size(self, n_windows: int, n_samples: int) -> None:
        n = len(self.parts)
        old = getattr(self, "buf", None)
        self.buf = np.zeros((n, n_samples), np.float32)
        if old is not None:
            self.buf[:, :old.shape[1]] = old
        self.probs = np.zeros((n, n_windows), np.float32)
        for i, p in enumerate(self.parts):
            p.pipeline.attach(self.buf[i], self.probs[i], self.pending, self.consumed, i)

    def regroup(self, parts: Sequence[StreamParts], rows: Sequence[int | None],
                batch: Any) -> GroupBatch:
        """The same machinery for another set of streams (``TurnEngineGroup.add_stream`` /
        ``remove_stream``): ``rows[j]`` is new stream ``j``'s row here, None for a new stream.
        Each kept stream's buffered samples (less than a window) and deferred ``VADMetrics``
        windows carry over, so its events are those it would have had without the change."""
        for k in range(len(self.parts)):
            self._sync(k)
        new = GroupBatch(parts, batch, self.w)
        rests = [0 if i is None else int(self.pending[i] - self.consumed[i]) for i in rows]
        if max(rests, default=0) > new.buf.shape[1]:
            new._size(new.probs.shape[1], 2 * max(rests))
        for j, i in enumerate(rows):
            parts[j].driver.touched = True  # (is it plain? asked again at the next push)
            if i is not None and rests[j]:
                start = int(self.consumed[i])
                new.buf[j, :rests[j]] = self.buf[i, start:start + rests[j]]
                new.pending[j] = rests[j]
        return new

    # -- intake ------------------------------------------------------------------------------------
    def intake(self, frames: np.ndarray | list[np.ndarray | None]) -> np.ndarray:
        """Each stream's chunk into its row; returns the whole windows ready per stream."""
        keep = int(self.pending.max())  # (a bound: consumed samples are dropped first)
        if isinstance(frames, np.ndarray) and frames.dtype == np.int16:
            grow = int(self._intakes[0].max_output(frames.shape[1]))
            if keep + grow > self.buf.shape[1]:
                self._size(self.probs.shape[1], 2 * (keep + grow))
            self._pcm.intake_many(self._intakes, frames, self.buf, self.pending, self.consumed)
        else:
            self._intake_rows(list(frames), keep)
        self.consumed[:] = 0
        n_win = self.pending // self.w
        most = int(n_win.max())
        if most > self.probs.shape[1]:
            self._size(2 * most, self.buf.shape[1])
        return n_win

    def _intake_rows(self, frames: list[np.ndarray | None], keep: int) -> None:
        grow = max((int(it.max_output(f.shape[0]))
                    for it, f in zip(self._intakes, frames, strict=True) if f is not None),
                   default=0)
        if keep + grow > self.buf.shape[1]:
            self._size(self.probs.shape[1], 2 * (keep + grow))
        for i, f in enumerate(frames):
            drop, n_keep = int(self.consumed[i]), int(self.pending[i] - self.consumed[i])
            row = self.buf[i]
            if drop and n_keep:
                row[:n_keep] = row[drop:drop + n_keep].copy()
            self.pending[i] = n_keep
            self.consumed[i] = 0  # (row by row: a row that fails leaves the others whole)
            if f is not None:
                self.pending[i] += int(self._intakes[i].process(f, row[n_keep:]))

    # -- VAD ---------------------------------------------------------------------------------------
    def infer(self, n_win: np.ndarray) -> float:
        """The batched network over every ready window; returns seconds per window."""
        w, most = self.w, int(n_win.max())
        if self._windows.shape[1] != most * w:
            self._windows = np.zeros((len(self.parts), most * w), np.float32)
            self._probs_out = np.zeros((len(self.parts), most), np.float32)
        windows, probs = self._windows, self._probs_out
        np.copyto(windows, self.buf[:, :most * w])
        t0 = time.perf_counter()
        if (n_win == most).all():
            self.batch.process_many(windows, probs)
        else:
            column = np.zeros(len(self.parts), dtype=np.float32)
            for step in range(most):
                active = (n_win > step).astype(np.uint8)
                self.batch.process_batch(
                    np.ascontiguousarray(windows[:, step * w:(step + 1) * w]), column, active)
                probs[:, step] = column
        elapsed = time.perf_counter() - t0
        self.probs[:, :most] = probs
        return elapsed / max(1, int(n_win.sum()))

    # -- kernels and sessions ---------------------------------------------------------------------
    def decide(self, n_win: np.ndarray, per_window_s: float | None,
               out: list[list[Any]]) -> None:
        """Hysteresis and timers for every plain stream in one call each; then each stream
        where something happens (and each stream that is not plain) in Python."""
        plain = self._plain
        touched = [i for i, d in enumerate(self._drivers) if d.touched]
        for i in touched:
            plain[i] = self._drivers[i].plain()
            self._drivers[i].touched = False
        if touched:
            self._all_plain = bool(plain.all())
        if per_window_s is None and self._all_plain and not n_win.any():
            return  # no window anywhere and nothing else to run
        fast = self._fast
        np.multiply(n_win, plain, out=fast)
        busy: list[int] = []
        if per_window_s is not None and fast.any():
            self._timers_mod.clocks(self._timers, self._starts)
            self._hyst_mod.step_many(self._hysts, fast, self._starts, self._n_h)
            self._timers_mod.step_many(self._timers, fast, self._n_h, self._n_t, self._used,
                                       self._used_h)
            np.multiply(self._used, self.w, out=self.consumed)  # stepped so far (stream_time)
            self._total += fast
            quiet = (self._n_t == 0) & (self._used == fast) & (self._total < self._next)
            deferred = fast * quiet
            self._defer_win += deferred
            self._defer_s += deferred * per_window_s
            busy = np.flatnonzero(fast > deferred).tolist()
        else:
            fast[:] = 0
        # A callback's KeyboardInterrupt/SystemExit (held by its engine until that stream's
        # chunk is stepped to its end) waits until every other stream is done too: no stream's
        # windows are left half-processed or processed again by the next push.
        held: BaseException | None = None
        for i in busy:
            try:
                self._resume(i, int(n_win[i]), per_window_s or 0.0, out[i])
            except BaseException as exc:  # re-raised below, once every stream is stepped
                held = held or exc
        if not (self._all_plain and per_window_s is not None):  # else every stream was fast
            slow = (fast == 0) & ((n_win > 0) | ~plain)
            if self.skip is not None:
                slow &= ~self.skip
            for i in np.flatnonzero(slow).tolist():
                try:
                    self._slow(i, int(n_win[i]), per_window_s, out[i])
                except BaseException as exc:  # (as above)
                    held = held or exc
        np.multiply(n_win, self.w, out=self.consumed)
        if held is not None:
            raise held

    def _sync(self, i: int) -> VadReporting:
        vad = self.parts[i].vad_report
        if self._defer_win[i]:
            vad.add(int(self._defer_win[i]), float(self._defer_s[i]))
            self._defer_win[i] = 0
            self._defer_s[i] = 0.0
        return vad

    def _settled(self, i: int) -> None:
        vad = self.parts[i].vad_report
        self._total[i] = vad.n_windows
        self._next[i] = vad.next_boundary

    def _resume(self, i: int, k: int, per_window_s: float, out: list[Any]) -> None:
        self._sync(i)
        first = (int(self._n_t[i]), int(self._used[i]), int(self._used_h[i]))
        part = self.parts[i]
        part.collecting.append(out)  # (the bus's collect(), inlined: many calls per push)
        try:
            part.driver.resume(k, int(self._n_h[i]), per_window_s * k, int(self._starts[i]),
                               first)
        finally:
            part.collecting.pop()
        self._settled(i)

    def _slow(self, i: int, k: int, per_window_s: float | None, out: list[Any]) -> None:
        part = self.parts[i]
        if part.driver.idle(k):
            return
        self._sync(i)
        given = None if per_window_s is None else self.probs[i, :k]
        part.collecting.append(out)
        try:
            part.driver.decide(k, given, (per_window_s or 0.0) * k)
        finally:
            part.collecting.pop()
        self._settled(i)
        part.driver.touched = True  # its scheduled actions may have run out
