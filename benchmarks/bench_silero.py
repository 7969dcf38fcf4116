"""The native Silero kernel against onnxruntime, side by side in one run (STYLE.md point 19).

Every benchmark runs the same real recording (the conftest's ``clip``); the conftest divides each
round by ``extra_info["n_windows"]``, which here counts **stream-windows** (one 32 ms window of one
stream), so every row is microseconds per stream-window.

Groups
------
``silero1``
    One stream.  ``native_per_window``: ``SileroKernel.process`` called once per 512-sample window
    (the real-time path, Python call included); ``native_clip``: one call for the whole clip;
    ``reference_twin``: the numpy twin (a slice of the clip); ``onnx_batch1``: Silero's own
    ``OnnxWrapper`` loop on onnxruntime (conftest ``raw_onnx``); ``onnx_backend``: turnengine's
    ``silero-onnx`` backend (onnxruntime's inner session, no per-call feed checks).
``siloN``
    Many streams.  ``native_batched_{32,64}``: ``SileroBatch.process_batch`` once per window step;
    ``native_many_64``: ``process_many`` (all steps in one call); ``onnx_batched_32``:
    onnxruntime with batch 32, state (2, 32, 128).
``threads``
    Two stream groups of 32 on long-lived worker threads: one thread runs both (``threads_1``),
    then two threads run one each (``threads_2``); ``extra_info["scaling"]`` is the throughput
    ratio of the best rounds, ``scaling_p50`` of the median rounds.
``memory``
    ``rss_per_stream``: resident bytes per extra stream, in a fresh process (extra_info).

After the run ``conftest.py`` prints the table and writes ``benchmarks/results_silero.json``.
Run: ``python -m pytest benchmarks/bench_silero.py --benchmark-only``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from turnengine import _kernels
from turnengine.bench import rss_per_stream
from turnengine.vad import SileroNativeVAD, SileroOnnxVAD, read_silero_weights

RATE = 16000
WINDOW = 512
Clip = Any


@pytest.fixture(scope="module")
def native() -> Any:
    return _kernels.load("vad_silero", reference=False)


@pytest.fixture(scope="module")
def model(native: Any) -> Any:
    return SileroNativeVAD(RATE).model


@pytest.fixture(scope="module")
def clip_f32(clip: Clip) -> np.ndarray:
    return np.ascontiguousarray(clip.windows.reshape(-1))


def _streams(x: np.ndarray, n: int, n_windows: int) -> np.ndarray:
    """``n`` streams of ``n_windows`` windows: the clip at different offsets (wrapping)."""
    out = np.empty((n, n_windows * WINDOW), np.float32)
    total = x.shape[0]
    for s in range(n):
        idx = (np.arange(n_windows * WINDOW) + s * 7 * WINDOW) % total
        out[s] = x[idx]
    return out


def _info(benchmark: Any, clip: Clip, key: str, n_windows: int, **extra: Any) -> None:
    benchmark.extra_info.update(key=key, n_windows=n_windows, clip=clip.path.name,
                                clip_duration_s=round(clip.duration_s, 3), **extra)


# -- one stream --------------------------------------------------------------------------------
@pytest.mark.benchmark(group="silero1")
def test_native_per_window(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any,
                           model: Any, silero_probs: np.ndarray, bench_rounds: int) -> None:
    n = clip.n_windows
    probs = np.zeros(n, np.float32)
    windows = [clip_f32[i * WINDOW:(i + 1) * WINDOW] for i in range(n)]
    views = [probs[i:i + 1] for i in range(n)]

    def setup() -> Any:
        return (native.SileroKernel(model),), {}

    def run(kernel: Any) -> None:
        process = kernel.process
        for w, p in zip(windows, views, strict=True):
            process(w, p)

    _info(benchmark, clip, "native_per_window", n, simd=native.simd_level())
    benchmark.pedantic(run, setup=setup, rounds=4 * bench_rounds, warmup_rounds=1)
    assert np.abs(probs - silero_probs).max() <= 1e-4


@pytest.mark.benchmark(group="silero1")
def test_native_clip(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any, model: Any,
                     silero_probs: np.ndarray, bench_rounds: int) -> None:
    n = clip.n_windows
    probs = np.zeros(n, np.float32)

    def setup() -> Any:
        return (native.SileroKernel(model),), {}

    _info(benchmark, clip, "native_clip", n)
    benchmark.pedantic(lambda k: k.process(clip_f32, probs), setup=setup,
                       rounds=4 * bench_rounds, warmup_rounds=1)
    assert np.abs(probs - silero_probs).max() <= 1e-4


@pytest.mark.benchmark(group="silero1")
def test_reference_twin(benchmark: Any, clip: Clip, clip_f32: np.ndarray) -> None:
    ref = _kernels.load("vad_silero", reference=True)
    rm = ref.SileroModel(RATE, read_silero_weights(SileroNativeVAD(RATE).model_path, RATE))
    n = 64
    probs = np.zeros(n, np.float32)
    x = clip_f32[: n * WINDOW]

    def setup() -> Any:
        return (ref.SileroKernel(rm),), {}

    _info(benchmark, clip, "reference_twin", n)
    benchmark.pedantic(lambda k: k.process(x, probs), setup=setup, rounds=3, warmup_rounds=0)


@pytest.mark.benchmark(group="silero1")
def test_onnx_batch1(benchmark: Any, clip: Clip, ort_session: Any, raw_onnx: Any,
                     silero_probs: np.ndarray, bench_rounds: int) -> None:
    probs = np.zeros(clip.n_windows, np.float32)
    _info(benchmark, clip, "onnx_batch1", clip.n_windows)
    benchmark.pedantic(raw_onnx, args=(ort_session, clip.windows, probs), rounds=bench_rounds,
                       warmup_rounds=1)
    np.testing.assert_array_equal(probs, silero_probs)


@pytest.mark.benchmark(group="silero1")
def test_onnx_backend(benchmark: Any, clip: Clip, ort_session: Any, bench_rounds: int) -> None:
    backend = SileroOnnxVAD(RATE, _session=ort_session)
    probs = np.zeros(clip.n_windows, np.float32)
    x = np.ascontiguousarray(clip.windows.reshape(-1))

    def setup() -> Any:
        return (backend.fresh(),), {}

    _info(benchmark, clip, "onnx_backend", clip.n_windows)
    benchmark.pedantic(lambda b: b.process(x, probs), setup=setup, rounds=bench_rounds,
                       warmup_rounds=1)


# -- many streams ------------------------------------------------------------------------------
STEPS = 120  # window steps per round in the batched runs


def _native_batched(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any, model: Any,
                    n: int, bench_rounds: int) -> np.ndarray:
    audio = _streams(clip_f32, n, STEPS)
    windows = [np.ascontiguousarray(audio[:, i * WINDOW:(i + 1) * WINDOW]) for i in range(STEPS)]
    probs = np.zeros((STEPS, n), np.float32)
    rows = list(probs)

    def setup() -> Any:
        return (native.SileroBatch(model, n),), {}

    def run(batch: Any) -> None:
        step = batch.process_batch
        for w, p in zip(windows, rows, strict=True):
            step(w, p)

    _info(benchmark, clip, f"native_batched_{n}", n * STEPS, streams=n)
    benchmark.pedantic(run, setup=setup, rounds=2 * bench_rounds, warmup_rounds=1)
    return audio


@pytest.mark.benchmark(group="siloN")
def test_native_batched_32(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any,
                           model: Any, bench_rounds: int) -> None:
    _native_batched(benchmark, clip, clip_f32, native, model, 32, bench_rounds)


@pytest.mark.benchmark(group="siloN")
def test_native_batched_64(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any,
                           model: Any, bench_rounds: int) -> None:
    _native_batched(benchmark, clip, clip_f32, native, model, 64, bench_rounds)


@pytest.mark.benchmark(group="siloN")
def test_native_many_64(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any,
                        model: Any, bench_rounds: int) -> None:
    n = 64
    audio = _streams(clip_f32, n, STEPS)
    probs = np.zeros((n, STEPS), np.float32)

    def setup() -> Any:
        return (native.SileroBatch(model, n),), {}

    _info(benchmark, clip, "native_many_64", n * STEPS, streams=n)
    benchmark.pedantic(lambda b: b.process_many(audio, probs), setup=setup,
                       rounds=2 * bench_rounds, warmup_rounds=1)
    # the batch is bitwise the single-stream kernel
    alone = np.zeros(STEPS, np.float32)
    native.SileroKernel(model).process(np.ascontiguousarray(audio[5]), alone)
    np.testing.assert_array_equal(probs[5], alone)


@pytest.mark.benchmark(group="siloN")
def test_onnx_batched_32(benchmark: Any, clip: Clip, clip_f32: np.ndarray, ort_session: Any,
                         bench_rounds: int) -> None:
    n = 32
    audio = _streams(clip_f32, n, STEPS)
    sr = np.array(RATE, np.int64)
    run = ort_session.run

    def loop() -> None:
        inp = np.zeros((n, 64 + WINDOW), np.float32)
        state = np.zeros((2, n, 128), np.float32)
        for i in range(STEPS):
            inp[:, 64:] = audio[:, i * WINDOW:(i + 1) * WINDOW]
            _, state = run(None, {"input": inp, "state": state, "sr": sr})
            inp[:, :64] = inp[:, WINDOW:]

    _info(benchmark, clip, "onnx_batched_32", n * STEPS, streams=n)
    benchmark.pedantic(loop, rounds=bench_rounds, warmup_rounds=1)


# -- threads ---------------------------------------------------------------------------------
GROUP = 32


class _Workers:
    """Long-lived worker threads (as a server has): each round, worker i runs its share of the
    stream groups, one ``process_batch`` call per window step, and the round ends when all are
    done.  Created once, so thread start-up and exit stay out of the timed rounds."""

    def __init__(self, n_threads: int, batches: list[Any], groups: list[np.ndarray]) -> None:
        self.batches, self.groups = batches, groups
        self.share = [list(range(i, len(batches), n_threads)) for i in range(n_threads)]
        self.probs = [np.zeros((STEPS, GROUP), np.float32) for _ in batches]
        self.start = threading.Barrier(n_threads + 1)
        self.done = threading.Barrier(n_threads + 1)
        self.stop = False
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True)
                        for i in range(n_threads)]
        for t in self.threads:
            t.start()

    def _loop(self, i: int) -> None:
        while True:
            self.start.wait()
            if self.stop:
                return
            for g in self.share[i]:
                self.batches[g].reset()
                _run_group(self.batches[g], self.groups[g], self.probs[g])
            self.done.wait()

    def round(self) -> None:
        self.start.wait()
        self.done.wait()

    def close(self) -> None:
        self.stop = True
        self.start.wait()
        for t in self.threads:
            t.join()


def _groups(clip_f32: np.ndarray) -> list[np.ndarray]:
    audio = _streams(clip_f32, 2 * GROUP, STEPS)
    return [np.ascontiguousarray(audio[:GROUP]), np.ascontiguousarray(audio[GROUP:])]


def _run_group(batch: Any, audio: np.ndarray, probs: np.ndarray) -> None:
    step = batch.process_batch
    for i in range(STEPS):
        step(audio[:, i * WINDOW:(i + 1) * WINDOW].copy(), probs[i])


def _threads(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any, model: Any,
             n_threads: int, bench_rounds: int) -> _Workers:
    groups = _groups(clip_f32)
    workers = _Workers(n_threads, [native.SileroBatch(model, GROUP) for _ in groups], groups)
    try:
        _info(benchmark, clip, f"threads_{n_threads}", 2 * GROUP * STEPS, streams=2 * GROUP,
              threads=n_threads)
        benchmark.pedantic(workers.round, rounds=4 * bench_rounds, warmup_rounds=2)
    finally:
        workers.close()
    return workers


@pytest.mark.benchmark(group="threads")
def test_threads_1(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any, model: Any,
                   bench_rounds: int) -> None:
    _threads(benchmark, clip, clip_f32, native, model, 1, bench_rounds)
    if getattr(benchmark, "stats", None):
        _THREADS["1"] = (benchmark.stats.stats.min, benchmark.stats.stats.median)


@pytest.mark.benchmark(group="threads")
def test_threads_2(benchmark: Any, clip: Clip, clip_f32: np.ndarray, native: Any, model: Any,
                   bench_rounds: int) -> None:
    workers = _threads(benchmark, clip, clip_f32, native, model, 2, bench_rounds)
    one = _THREADS.get("1")
    if one is not None and getattr(benchmark, "stats", None):
        benchmark.extra_info["scaling"] = one[0] / benchmark.stats.stats.min
        benchmark.extra_info["scaling_p50"] = one[1] / benchmark.stats.stats.median
    # each group equals its results computed alone
    for g, audio in enumerate(workers.groups):
        alone = np.zeros((STEPS, GROUP), np.float32)
        _run_group(native.SileroBatch(model, GROUP), audio, alone)
        np.testing.assert_array_equal(workers.probs[g], alone)


_THREADS: dict[str, tuple[float, float]] = {}


# -- memory ------------------------------------------------------------------------------------
@pytest.mark.benchmark(group="memory")
def test_rss_per_stream(benchmark: Any, clip: Clip) -> None:
    mem: dict[str, Any] = {}

    def measure() -> None:
        mem.update(rss_per_stream(1000, RATE))

    _info(benchmark, clip, "rss_per_stream", 1)
    t0 = time.perf_counter()
    benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(
        rss_per_stream_kib=None if mem["backend_bytes"] is None else mem["backend_bytes"] / 1024,
        rss_per_batched_stream_kib=(None if mem["batch_bytes"] is None
                                    else mem["batch_bytes"] / 1024),
        seconds=time.perf_counter() - t0)
