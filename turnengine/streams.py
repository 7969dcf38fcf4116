"""Many streams in one object (SPEC 10): N sessions, one kernel call per step for all.

:class:`TurnEngineGroup` holds one :class:`~turnengine.TurnEngine` per stream (each with its own
kernels' state, events and report) on the same pipeline as a lone engine, and steps them
together (:mod:`turnengine._core.batch`): one intake call, one batched Silero call per window
step with the GIL released, one hysteresis and one timers call; Python runs only for the
streams where something happens.  A stream's events are exactly those of a lone ``TurnEngine``
fed the same audio (the batched network is bitwise equal to the single-stream one).  Two groups
on two threads run on two cores.  Calls arrive on a server at any time: streams join
(:meth:`TurnEngineGroup.add_stream`) and leave (:meth:`TurnEngineGroup.remove_stream`) between
pushes, and a closed stream is skipped while the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import _kernels
from ._core.batch import BatchedSlot, GroupBatch
from ._core.record import DEFAULT_MAX_REPORT_EVENTS
from ._core.threads import all_locked
from .audio import as_frames, model_rate_for
from .engine import EngineClosedError, TurnEngine
from .eot import load_smart_turn
from .events import Event
from .options import TurnEngineOptions
from .report import SessionReport
from .vad import DEFAULT_VAD, SileroNativeVAD, VADBackend, load_vad


class TurnEngineGroup:
    """N turn-detection sessions pushed together; the Silero network is batched across them.

    Parameters
    ----------
    n_streams : int
        Number of sessions (>= 1).
    sample_rate : int
        Rate of every stream's audio (SPEC 2 rates).
    vad : str
        ``"silero"`` (batched native kernel) or any other backend name (then each stream runs
        its own backend, unbatched).
    turn_detector, model_path, eot_executor, max_report_events, options, **kwargs
        As :class:`~turnengine.TurnEngine`, the same for every stream; the end-of-turn model is
        loaded once and shared by all streams.

    Raises
    ------
    ValueError, TypeError
        ``n_streams < 1`` and everything :class:`TurnEngine` raises.

    Notes
    -----
    Every stream's kernels step before any stream's callbacks run (one kernel call per step for
    all streams), so a host call that a callback of stream ``j`` makes on another stream ``i``
    takes effect at ``i``'s clock after this push's windows.

    Threads: each push holds the lock of every stream (taken in stream order), so host calls on
    ``group[i]`` from another thread (an asyncio loop) are safe and wait for the push;
    :meth:`add_stream` and :meth:`remove_stream` wait for a push in progress.

    Examples
    --------
    >>> group = TurnEngineGroup(200, sample_rate=16000)  # doctest: +SKIP
    >>> per_stream_events = group.push_audio(frames)  # frames: int16 (200, 320)  # doctest: +SKIP
    >>> group[17].agent_started_speaking()  # host calls go to one stream  # doctest: +SKIP
    """

    def __init__(self, n_streams: int, sample_rate: int = 16000, vad: str = DEFAULT_VAD,
                 turn_detector: str | None = None, *, model_path: str | None = None,
                 eot_executor: str = "thread",
                 max_report_events: int | None = DEFAULT_MAX_REPORT_EVENTS,
                 options: TurnEngineOptions | None = None, **kwargs: Any) -> None:
        if isinstance(n_streams, bool) or not isinstance(n_streams, int) or n_streams < 1:
            raise ValueError(f"n_streams must be an int >= 1, got {n_streams!r}")
        options = (options or TurnEngineOptions()).replace(**kwargs)
        model_rate = model_rate_for(sample_rate)
        backend = load_vad(vad, model_rate, model_path)
        self._backend = backend
        self._batch: Any = None
        self._batch_module: Any = None
        if isinstance(backend, SileroNativeVAD):
            self._batch_module = _kernels.load(
                "vad_silero", reference=not type(backend.model).__module__.endswith("vad_silero"))
            self._batch = self._batch_module.SileroBatch(backend.model, n_streams)
        self.window_size = int(backend.window_size)
        self.sample_rate = sample_rate
        self.model_rate = model_rate
        # Loaded once for every stream; when missing, each engine warns and falls back.
        eot_model = load_smart_turn(warn=False) if turn_detector == "smart-turn" else None
        self._engine_args: dict[str, Any] = dict(
            sample_rate=sample_rate, turn_detector=turn_detector, options=options,
            eot_executor=eot_executor, eot_model=eot_model, max_report_events=max_report_events)
        self._lock = threading.RLock()
        self.engines: list[TurnEngine] = [self._new_engine(i) for i in range(n_streams)]
        self._group = GroupBatch([e._stream_parts() for e in self.engines], self._batch,
                                 self.window_size)

    def _new_engine(self, row: int) -> TurnEngine:
        backend = self._backend
        stream_vad: VADBackend = (
            BatchedSlot(self._batch, row, backend.name, self.model_rate, self.window_size,
                        backend)
            if self._batch is not None else backend.fresh())
        return TurnEngine(vad=stream_vad, **self._engine_args)

    @property
    def batched(self) -> bool:
        """True when the VAD network runs batched across streams (native Silero)."""
        return self._batch is not None

    def __len__(self) -> int:
        return len(self.engines)

    def __getitem__(self, i: int) -> TurnEngine:
        return self.engines[i]

    def __iter__(self) -> Iterator[TurnEngine]:
        return iter(self.engines)

    def push_audio(self, chunks: np.ndarray | Sequence[Any]) -> list[list[Event]]:
        """Push one chunk per stream; return each stream's events.

        Parameters
        ----------
        chunks : numpy.ndarray of shape (n_streams, n_samples), or a sequence of n_streams chunks
            int16/float32 rows (one mono chunk per stream), or per-stream chunks of any length
            and of any form :meth:`TurnEngine.push_audio` accepts; ``None`` skips a stream.

        Returns
        -------
        list of list of Event
            ``events[i]`` are stream ``i``'s events, in time order.

        A stream closed with ``group[i].close()`` is skipped: its chunk is ignored and its
        list is empty; the others go on.

        Raises
        ------
        TypeError, ValueError
            A chunk count other than ``n_streams``, or any stream's bad chunk (checked for every
            stream before any is processed, so the group state is unchanged);
            ``EngineClosedError`` when every stream is closed.
        """
        with self._lock, all_locked(self.engines):
            return self._push(chunks)

    def _push(self, chunks: np.ndarray | Sequence[Any]) -> list[list[Event]]:
        n = len(self.engines)
        frames: list[Any]
        if isinstance(chunks, np.ndarray):
            if chunks.ndim != 2 or chunks.shape[0] != n:
                raise ValueError(f"expected an array of shape ({n}, n_samples), got "
                                 f"{chunks.shape}")
            # Checked once for the whole array (as as_frames would per row); rows are views.
            if chunks.dtype != np.int16 and chunks.dtype != np.float32:
                raise TypeError(f"expected int16 or float32 samples, got {chunks.dtype} array "
                                f"of shape {chunks.shape}")
            if chunks.dtype != np.int16 or chunks.shape[1] == 0:
                as_frames(chunks.reshape(-1))
            chunks = np.ascontiguousarray(chunks)
            frames = list(chunks) if chunks.dtype != np.int16 else []
        else:
            if len(chunks) != n:
                raise ValueError(f"expected {n} chunks (one per stream), got {len(chunks)}")
            frames = [None if row is None else as_frames(row) for row in chunks]
        closed = [engine._closed for engine in self.engines]
        if any(closed):  # a closed stream is skipped: its chunk is ignored, its list empty
            if all(closed):
                raise EngineClosedError("every stream of the group is closed")
            rows = frames or list(np.asarray(chunks))
            frames = [None if c else row for row, c in zip(rows, closed, strict=True)]
        self._group.skip = np.array(closed, bool) if any(closed) else None
        n_win = self._group.intake(frames or np.asarray(chunks))
        per_window_s = (self._group.infer(n_win)
                        if self._batch is not None and n_win.any() else None)
        out: list[list[Event]] = [[] for _ in range(n)]
        self._group.decide(n_win, per_window_s, out)
        return out

    def advance(self, seconds: float) -> list[list[Event]]:
        """:meth:`TurnEngine.advance` on every stream."""
        with self._lock:
            return [engine.advance(seconds) for engine in self.engines]

    def close(self) -> list[SessionReport]:
        """Close every stream; return their session reports."""
        with self._lock:
            return [engine.close() for engine in self.engines]

    # -- membership -------------------------------------------------------------------------------
    def add_stream(self) -> TurnEngine:
        """Start one more session (a new call joins): a fresh stream at index ``len(group)``.

        Its clock starts at 0 and its ``started_at`` now; the other streams go on untouched (their
        network state, buffered samples and events are those they would have had anyway).
        From the next :meth:`push_audio` on, pass one more chunk (or row).

        Returns
        -------
        TurnEngine
            The new stream's engine (also ``group[len(group) - 1]``).
        """
        with self._lock, all_locked(self.engines):
            rows: list[int | None] = [*range(len(self.engines)), None]
            self._rebatch(rows)
            engine = self._new_engine(len(self.engines))
            self._regroup([*self.engines, engine], rows)
            return engine

    def remove_stream(self, stream: int | TurnEngine) -> SessionReport:
        """End one session (a call left): close it and take it out of the group.

        Later streams move down one index, so pass one chunk fewer from the next push on.

        Parameters
        ----------
        stream : int or TurnEngine
            Its index, or its engine (``group[i]``).

        Returns
        -------
        SessionReport
            The stream's report (its ``close()``; shutdown callbacks run if it was still open).

        Raises
        ------
        IndexError
            No stream at that index.
        ValueError
            An engine that is not one of the group's, or the group's last stream (close the
            group instead).
        """
        with self._lock, all_locked(self.engines):
            if isinstance(stream, TurnEngine):
                if not any(e is stream for e in self.engines):
                    raise ValueError("that engine is not a stream of this group")
                index = next(i for i, e in enumerate(self.engines) if e is stream)
            else:
                index = range(len(self.engines))[stream]  # (IndexError, negatives as lists)
            if len(self.engines) == 1:
                raise ValueError("cannot remove the last stream of a group; close() the group")
            report = self.engines[index].close()
            rows: list[int | None] = [i for i in range(len(self.engines)) if i != index]
            self._rebatch(rows)
            self._regroup([e for i, e in enumerate(self.engines) if i != index], rows)
            return report

    def _rebatch(self, rows: list[int | None]) -> None:
        """A batched network for the streams ``rows`` (old indices, None for a new stream),
        each kept stream's LSTM state and context carried over."""
        old = self._batch
        if old is None:
            return
        self._batch = self._batch_module.SileroBatch(old.model, len(rows))
        for j, i in enumerate(rows):
            if i is None:
                continue
            self._batch.set_state(j, *old.get_state(i))
            slot = self.engines[i].vad
            assert isinstance(slot, BatchedSlot)
            slot.batch, slot.stream = self._batch, j

    def _regroup(self, engines: list[TurnEngine], rows: list[int | None]) -> None:
        self._group = self._group.regroup([e._stream_parts() for e in engines], rows,
                                          self._batch)
        self.engines = engines
