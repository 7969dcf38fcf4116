"""Many streams in one object (SPEC 10): N sessions, one batched VAD network step.

:class:`TurnEngineGroup` holds one :class:`~turnengine.TurnEngine` per stream (each with its own
intake, hysteresis, timers, events and report) and, with the native ``silero`` backend, one
``SileroBatch`` kernel that evaluates the network once per window step for every stream that
has a window, with the GIL released.  A stream's events are exactly those of a lone
``TurnEngine`` fed the same audio (the batched kernel is bitwise equal to the single-stream one).
Two groups on two threads run on two cores.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import _kernels
from .audio import as_frames, check_sample_rate
from .engine import TurnEngine
from .events import Event
from .options import TurnEngineOptions
from .vad import DEFAULT_VAD, SileroNativeVAD, VADBackend, load_vad


class _BatchedSlot(VADBackend):
    """Stands in for the VAD of one engine of a group: the group computes its probabilities."""

    def __init__(self, name: str, sample_rate_hz: int, window_size: int) -> None:
        self.name = name
        self.sample_rate_hz = sample_rate_hz
        self.window_size = window_size

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        raise RuntimeError("this engine belongs to a TurnEngineGroup: push audio through the "
                           "group")

    def reset(self) -> None:  # the group resets the batch slot
        pass

    def fresh(self) -> _BatchedSlot:
        return _BatchedSlot(self.name, self.sample_rate_hz, self.window_size)


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
    turn_detector, model_path, eot_executor, options, **kwargs
        As :class:`~turnengine.TurnEngine`, the same for every stream; the end-of-turn model is
        loaded once and shared by all streams.

    Raises
    ------
    ValueError, TypeError
        ``n_streams < 1`` and everything :class:`TurnEngine` raises.

    Examples
    --------
    >>> group = TurnEngineGroup(200, sample_rate=16000)  # doctest: +SKIP
    >>> per_stream_events = group.push_audio(frames)  # frames: int16 (200, 320)  # doctest: +SKIP
    >>> group[17].agent_started_speaking()  # host calls go to one stream  # doctest: +SKIP
    """

    def __init__(self, n_streams: int, sample_rate: int = 16000, vad: str = DEFAULT_VAD,
                 turn_detector: str | None = None, *, model_path: str | None = None,
                 eot_executor: str = "thread", options: TurnEngineOptions | None = None,
                 **kwargs: Any) -> None:
        if isinstance(n_streams, bool) or not isinstance(n_streams, int) or n_streams < 1:
            raise ValueError(f"n_streams must be an int >= 1, got {n_streams!r}")
        options = (options or TurnEngineOptions()).replace(**kwargs)
        model_rate = 8000 if check_sample_rate(sample_rate) == 8000 else 16000
        backend = load_vad(vad, model_rate, model_path)
        self._batch: Any = None
        if isinstance(backend, SileroNativeVAD):
            module = _kernels.load("vad_silero",
                                   reference=not type(backend.model).__module__.endswith(
                                       "vad_silero"))
            self._batch = module.SileroBatch(backend.model, n_streams)
        self.window_size = backend.window_size
        eot_model = None
        if turn_detector == "smart-turn":
            from .eot import ModelUnavailableError, SmartTurnModel

            try:
                eot_model = SmartTurnModel.load()
            except ModelUnavailableError:
                eot_model = None  # each engine warns and falls back to the fixed delay
        self.engines: list[TurnEngine] = []
        for _ in range(n_streams):
            stream_vad: VADBackend = (_BatchedSlot(backend.name, model_rate, backend.window_size)
                                      if self._batch is not None else backend.fresh())
            self.engines.append(TurnEngine(sample_rate=sample_rate, vad=stream_vad,
                                           turn_detector=turn_detector, options=options,
                                           eot_executor=eot_executor, eot_model=eot_model))
        self.sample_rate = sample_rate
        self.model_rate = model_rate
        self._windows = np.zeros((n_streams, 0), dtype=np.float32)
        self._probs = np.zeros((n_streams, 0), dtype=np.float32)

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

        Raises
        ------
        TypeError, ValueError
            A chunk count other than ``n_streams``, or any stream's bad chunk (checked for every
            stream before any is processed, so the group state is unchanged).
        """
        n = len(self.engines)
        frames: list[Any]
        if isinstance(chunks, np.ndarray):
            if chunks.ndim != 2 or chunks.shape[0] != n:
                raise ValueError(f"expected an array of shape ({n}, n_samples), got "
                                 f"{chunks.shape}")
            # Checked once for the whole array (as as_frames would per row); rows are views.
            as_frames(chunks[:1].reshape(-1))
            if chunks.dtype == np.float32:
                as_frames(chunks.reshape(-1))
            chunks = np.ascontiguousarray(chunks)
            frames = list(chunks)
        else:
            if len(chunks) != n:
                raise ValueError(f"expected {n} chunks (one per stream), got {len(chunks)}")
            frames = [None if row is None else as_frames(row) for row in chunks]
        for engine in self.engines:
            engine._check_open()
        n_win = np.zeros(n, dtype=np.int64)
        for i, (engine, f) in enumerate(zip(self.engines, frames, strict=True)):
            if f is not None:
                n_win[i] = engine._pipe.intake(f)
        per_window_s = 0.0
        probs = None
        if self._batch is not None and n_win.any():
            probs, per_window_s = self._infer(n_win)
        out = []
        for i, engine in enumerate(self.engines):
            k = int(n_win[i])
            if probs is None:
                out.append(engine._decide(k) if frames[i] is not None else [])
            else:
                out.append(engine._decide(k, probs[i, :k], per_window_s * k))
        return out

    def _infer(self, n_win: np.ndarray) -> tuple[np.ndarray, float]:
        w = self.window_size
        most = int(n_win.max())
        n = len(self.engines)
        if self._windows.shape[1] < most * w:
            self._windows = np.zeros((n, most * w), dtype=np.float32)
            self._probs = np.zeros((n, most), dtype=np.float32)
        windows, probs = self._windows[:, :most * w], self._probs[:, :most]
        for i, engine in enumerate(self.engines):
            k = int(n_win[i])
            if k:
                windows[i, :k * w] = engine._pipe.windows(k)
        t0 = time.perf_counter()
        if (n_win == most).all():
            self._batch.process_many(np.ascontiguousarray(windows), probs)
        else:
            column = np.zeros(n, dtype=np.float32)
            for step in range(most):
                active = (n_win > step).astype(np.uint8)
                self._batch.process_batch(
                    np.ascontiguousarray(windows[:, step * w:(step + 1) * w]), column, active)
                probs[:, step] = column
        elapsed = time.perf_counter() - t0
        return probs, elapsed / max(1, int(n_win.sum()))

    def advance(self, seconds: float) -> list[list[Event]]:
        """:meth:`TurnEngine.advance` on every stream."""
        return [engine.advance(seconds) for engine in self.engines]

    def close(self) -> list[Any]:
        """Close every stream; return their session reports."""
        return [engine.close() for engine in self.engines]
