"""Native Silero kernel (ext/vad_silero.pyx): batches of streams and threads.

A batch gives every stream bitwise the probabilities it gets alone, on both code paths; streams
in two threads are independent; one kernel runs in one thread at a time.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import CLIPS
from silero_helpers import (
    RATES,
    clip_pcm,
    code_path_fixture,
    model,
    run_kernel,
    to_float,
)

from turnengine._kernels import vad_silero as native

code_path = code_path_fixture()


# -- batching ----------------------------------------------------------------------------------
def _stream_audio(rate: int, n_streams: int, n_windows: int) -> np.ndarray:
    """Different audio per stream: clips at different offsets, one silent, one noise."""
    w = 512 if rate == 16000 else 256
    rng = np.random.default_rng(7)
    sources = [to_float(clip_pcm(c, rate)) for c in CLIPS]
    out = np.zeros((n_streams, n_windows * w), np.float32)
    for s in range(n_streams):
        if s == 1:
            continue  # digital silence
        if s == 2:
            out[s] = rng.normal(0, 0.05, n_windows * w).astype(np.float32)
            continue
        src = sources[s % len(sources)]
        start = (s * 3001) % max(1, src.shape[0] - n_windows * w)
        seg = src[start:start + n_windows * w]
        out[s, : seg.shape[0]] = seg
    return out


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("n_streams", [1, 2, 3, 5, 7, 13, 64])
def test_batched_equals_unbatched_bitwise(rate, n_streams, code_path):
    m = model(rate)
    n_windows = 24 if n_streams < 64 else 10
    audio = _stream_audio(rate, n_streams, n_windows)
    w = m.window_size
    # Streams join late and pause: stream s is active from window s % 4 on, except every
    # (s + 2)-th window.  Each stream's windows are its own consecutive windows.
    active = np.zeros((n_windows, n_streams), bool)
    for s in range(n_streams):
        for k in range(s % 4, n_windows):
            active[k, s] = (k % (s + 2)) != 1 or n_streams == 1
    batch = native.SileroBatch(m, n_streams)
    got = [[] for _ in range(n_streams)]
    pos = np.zeros(n_streams, int)
    probs = np.full(n_streams, -1.0, np.float32)
    windows = np.zeros((n_streams, w), np.float32)
    for k in range(n_windows):
        for s in range(n_streams):
            windows[s] = audio[s, pos[s] * w:(pos[s] + 1) * w]
        before = probs.copy()
        n = batch.process_batch(windows, probs, active[k])
        assert n == active[k].sum()
        assert np.array_equal(probs[~active[k]], before[~active[k]])  # untouched
        for s in np.flatnonzero(active[k]):
            got[s].append(probs[s])
            pos[s] += 1
    for s in range(n_streams):
        alone = run_kernel(native.SileroKernel(m), audio[s, : pos[s] * w])
        np.testing.assert_array_equal(np.array(got[s], np.float32), alone)


@pytest.mark.parametrize("n_streams", [4, 64])
def test_process_many_equals_per_stream_kernels(n_streams, code_path):
    m = model(16000)
    audio = _stream_audio(16000, n_streams, 12)
    batch = native.SileroBatch(m, n_streams)
    probs = np.zeros((n_streams, 12), np.float32)
    assert batch.process_many(audio, probs) == 12
    for s in range(n_streams):
        np.testing.assert_array_equal(probs[s], run_kernel(native.SileroKernel(m), audio[s]))
    # a stream restarted in its slot runs as a new session
    batch.reset(3)
    again = np.zeros((n_streams, 12), np.float32)
    mask = np.zeros(n_streams, bool)
    mask[3] = True
    batch.process_many(audio, again, mask)
    np.testing.assert_array_equal(again[3], probs[3])
    assert not again[np.arange(n_streams) != 3].any()
    # process_stream is the same stream, alone
    out = np.zeros(12, np.float32)
    batch.reset(0)
    batch.process_stream(0, audio[0], out)
    np.testing.assert_array_equal(out, probs[0])


def test_streams_in_two_threads_are_independent():
    m = model(16000)
    audio = _stream_audio(16000, 6, 20)
    want = np.stack([run_kernel(native.SileroKernel(m), audio[s]) for s in range(6)])
    got = np.zeros_like(want)

    def work(lo: int) -> None:
        b = native.SileroBatch(m, 3)
        for _ in range(5):
            b.reset()
            b.process_many(np.ascontiguousarray(audio[lo:lo + 3]), got[lo:lo + 3])

    threads = [threading.Thread(target=work, args=(lo,)) for lo in (0, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(got, want)


def test_a_kernel_runs_in_one_thread_at_a_time():
    m = model(16000)
    k = native.SileroKernel(m)
    x = np.zeros(512 * 4000, np.float32)
    out = np.zeros(4000, np.float32)
    errors: list[BaseException] = []
    started = threading.Event()

    def long_call() -> None:
        started.set()
        k.process(x, out)

    t = threading.Thread(target=long_call)
    t.start()
    started.wait()
    try:
        while t.is_alive():  # the long call holds the kernel for tens of milliseconds
            try:
                k.process(np.zeros(512, np.float32), np.zeros(1, np.float32))
            except RuntimeError as exc:
                errors.append(exc)
                break
    finally:
        t.join()
    assert errors and "another thread" in str(errors[0])
