"""Latency and throughput of the native Silero kernel against onnxruntime, in one run.

:func:`run_bench` is what ``turnengine bench`` prints: per-window latency percentiles of the native
kernel (``silero``) and of onnxruntime (``silero-onnx``) on the same audio and the same model file,
one stream and N streams batched, the speed ratio, streams per core, the real-time factor and the
memory each extra stream costs.  Timings are wall-clock ``perf_counter_ns`` around each call, so
they include the Python call; run on an idle machine (other load inflates every row).
"""

from __future__ import annotations

import importlib.resources
import os
import time
from typing import Any

import numpy as np

from .. import _kernels
from ..vad import SileroNativeVAD, SileroOnnxVAD, find_silero_model

__all__ = ["DEFAULT_AUDIO", "end_to_end_latency", "rss_bytes", "rss_per_stream", "run_bench"]

#: The package's own demo recording (16 kHz mono int16), used when no audio is given.
DEFAULT_AUDIO = ("turnengine", "data/composed_dialogue.wav")


def _default_audio(rate: int) -> np.ndarray:
    """The demo recording at ``rate``; if it cannot be read, 30 s of noise bursts (a stand-in
    with the same cost per window: the kernel's work does not depend on the signal)."""
    import soundfile as sf

    path = importlib.resources.files(DEFAULT_AUDIO[0]).joinpath(DEFAULT_AUDIO[1])
    try:
        with importlib.resources.as_file(path) as p:
            pcm, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception:  # a broken install: measure anyway
        rng = np.random.default_rng(0)
        t = np.arange(30 * rate) / rate
        env = (np.sin(2 * np.pi * 0.3 * t) > 0).astype(np.float32)
        return (rng.standard_normal(t.shape[0]) * 0.1 * env).astype(np.float32)
    x = pcm.mean(axis=1).astype(np.float32)
    if sr != rate:
        from scipy.signal import resample_poly

        g = int(np.gcd(sr, rate))
        x = resample_poly(x, rate // g, sr // g).astype(np.float32)
    return x


def _tile(x: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    reps = -(-(n + offset) // max(1, x.shape[0]))
    return np.ascontiguousarray(np.tile(x, reps)[offset:offset + n])


def _stats(ns: np.ndarray, per: int = 1) -> dict[str, float]:
    us = ns.astype(np.float64) / 1e3 / per
    return {"p50": float(np.percentile(us, 50)), "p99": float(np.percentile(us, 99)),
            "mean": float(us.mean()), "min": float(us.min())}


def rss_bytes() -> int | None:
    """Resident set size of this process in bytes (Linux ``/proc``), or None elsewhere."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


_RSS_PROBE = """
import json, sys
import numpy as np
from turnengine import _kernels
from turnengine.tools.bench import rss_bytes
from turnengine.vad import load_vad
n, rate, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = load_vad("silero", rate)
w = base.window_size
keep = []
base.process(np.zeros(w, np.float32), np.zeros(1, np.float32))
if kind == "batch":
    mod = _kernels.load("vad_silero", reference=False)
    b1 = mod.SileroBatch(base.model, 1)
    b1.process_batch(np.zeros((1, w), np.float32), np.zeros(1, np.float32))
    keep.append(b1)
before = rss_bytes()
if kind == "backend":
    for _ in range(n):
        v = base.fresh()
        v.process(np.zeros(w, np.float32), np.zeros(1, np.float32))
        keep.append(v)
else:
    b = mod.SileroBatch(base.model, n + 1)
    b.process_batch(np.zeros((n + 1, w), np.float32), np.zeros(n + 1, np.float32))
    keep.append(b)
after = rss_bytes()
print(json.dumps({"bytes": None if before is None else (after - before) / n}))
"""


def rss_per_stream(n_streams: int = 1000, sample_rate: int = 16000) -> dict[str, float | None]:
    """Resident bytes each extra stream adds, measured in a fresh Python process.

    ``backend_bytes``: one more ``SileroNativeVAD`` (what each engine holds), after one window;
    ``batch_bytes``: one more slot in a ``SileroBatch``, after one window.  None where ``/proc``
    is not available.
    """
    import json
    import subprocess
    import sys

    out: dict[str, float | None] = {}
    for kind in ("backend", "batch"):
        proc = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(n_streams),
                               str(sample_rate), kind], capture_output=True, text=True,
                              timeout=120, check=False)
        try:
            out[f"{kind}_bytes"] = json.loads(proc.stdout.strip().splitlines()[-1])["bytes"]
        except (ValueError, IndexError, KeyError):
            out[f"{kind}_bytes"] = None
    return out


def run_bench(streams: int = 64, seconds: float = 10.0, sample_rate: int = 16000,
              audio: np.ndarray | None = None, onnx: bool = True) -> dict[str, Any]:
    """Measure the native Silero kernel and onnxruntime side by side.

    Parameters
    ----------
    streams : int
        Streams in the batched runs (>= 1).
    seconds : float
        Seconds of audio per stream in each run (> 0); the audio is tiled to this length.
    sample_rate : {16000, 8000}
        Model rate.
    audio : numpy.ndarray of float32, shape (n_samples,), optional
        Audio at ``sample_rate``; default: the package's demo dialogue.
    onnx : bool
        Also run onnxruntime (batch 1 and batched); False measures the native kernel only.

    Returns
    -------
    dict
        ``native`` and ``onnxruntime``: ``single`` (us per window: p50, p99, mean, min, one
        ``process`` call per window) and ``batched`` (us per stream-window, one call per window
        step for all streams); ``ratio_single_p50`` and ``ratio_batched_p50`` (onnxruntime /
        native); ``streams_per_core`` (window duration / batched us per stream-window);
        ``real_time_factor`` (single-stream compute / audio time); ``rss_per_stream_bytes``;
        plus the setup (rate, window, streams, seconds, code path, versions).

    Raises
    ------
    ValueError
        ``streams < 1``, ``seconds <= 0`` or an unsupported rate.
    RuntimeError
        If the native kernel cannot load the packaged model (the fallback would be measured).
    """
    _check_run(streams, seconds)
    native = SileroNativeVAD(sample_rate)
    w = native.window_size
    window_us = w / sample_rate * 1e6
    n_win = max(1, int(round(seconds * sample_rate / w)))
    mono, per_stream = _bench_audio(audio, sample_rate, n_win, w, streams)
    kmod = _kernels.load("vad_silero", reference=False)
    result: dict[str, Any] = {
        "sample_rate_hz": sample_rate, "window_size": w, "window_ms": window_us / 1e3,
        "streams": streams, "seconds": n_win * w / sample_rate, "windows": n_win,
        "simd": kmod.simd_level(), "model": str(find_silero_model()),
    }
    result["native"] = _native_runs(kmod, native.model, mono, per_stream)
    if onnx:
        result["onnxruntime"] = _onnx_runs(sample_rate, mono, per_stream)
        for kind in ("single", "batched"):
            result[f"ratio_{kind}_p50"] = (result["onnxruntime"][kind]["p50"]
                                           / result["native"][kind]["p50"])
    result["streams_per_core"] = window_us / result["native"]["batched"]["p50"]
    result["real_time_factor"] = result["native"]["single"]["mean"] / window_us
    mem = rss_per_stream(1000, sample_rate)
    result["rss_per_stream_bytes"] = mem["backend_bytes"]
    result["rss_per_batched_stream_bytes"] = mem["batch_bytes"]
    result["state_bytes"] = native.model.state_bytes
    return result


def _check_run(streams: int, seconds: float) -> None:
    if streams < 1:
        raise ValueError(f"expected streams >= 1, got {streams}")
    if not seconds > 0:
        raise ValueError(f"expected seconds > 0, got {seconds}")


def _bench_audio(audio: np.ndarray | None, sample_rate: int, n_win: int, w: int,
                 streams: int) -> tuple[np.ndarray, np.ndarray]:
    """One stream's windows ``(n_win, w)`` and every stream's audio ``(streams, n_win * w)``
    (the same audio from different offsets), tiled from ``audio`` or the demo dialogue."""
    x = _default_audio(sample_rate) if audio is None else np.asarray(audio, dtype=np.float32)
    mono = _tile(x, n_win * w).reshape(n_win, w)
    per_stream = np.stack([_tile(x, n_win * w, offset=(997 * w * s) % max(1, x.shape[0]))
                           for s in range(streams)])
    return mono, per_stream


def _per_window(process: Any, windows: np.ndarray) -> np.ndarray:
    """Nanoseconds of ``process(window, out)`` for each row of ``windows`` (one stream)."""
    n_win = windows.shape[0]
    out1 = np.zeros(1, np.float32)
    ns = np.empty(n_win, np.int64)
    clock = time.perf_counter_ns
    for i in range(n_win):
        seg = windows[i]
        t0 = clock()
        process(seg, out1)
        ns[i] = clock() - t0
    return ns


def _native_runs(kmod: Any, model: Any, mono: np.ndarray,
                 per_stream: np.ndarray) -> dict[str, Any]:
    """The native kernel: one stream, one call per window (the real-time path), after one
    warm-up pass; then all streams batched, one call per window step."""
    n_win, w = mono.shape
    streams = per_stream.shape[0]
    kernel = kmod.SileroKernel(model)
    _per_window(kernel.process, mono)
    kernel.reset()
    single = _per_window(kernel.process, mono)
    batch = kmod.SileroBatch(model, streams)
    probs = np.zeros(streams, np.float32)
    steps = np.empty(n_win, np.int64)
    for _ in range(2):  # the first pass warms up
        batch.reset()
        for i in range(n_win):
            win = np.ascontiguousarray(per_stream[:, i * w:(i + 1) * w])
            t0 = time.perf_counter_ns()
            batch.process_batch(win, probs)
            steps[i] = time.perf_counter_ns() - t0
    return {"single": _stats(single), "batched": _stats(steps, streams)}


def _onnx_runs(sample_rate: int, mono: np.ndarray, per_stream: np.ndarray) -> dict[str, Any]:
    """onnxruntime on the same model: one stream through the backend, then all streams in one
    session call per window step."""
    import onnxruntime as ort

    n_win, w = mono.shape
    streams = per_stream.shape[0]
    ref = SileroOnnxVAD(sample_rate)
    _per_window(ref.process, mono)
    ref.reset()
    o_single = _per_window(ref.process, mono)
    sess = ref._session
    ctx = ref.context_size
    inp = np.zeros((streams, ctx + w), np.float32)
    state = np.zeros((2, streams, 128), np.float32)
    sr = np.array(sample_rate, np.int64)
    o_steps = np.empty(n_win, np.int64)
    for i in range(n_win):
        inp[:, ctx:] = per_stream[:, i * w:(i + 1) * w]
        t0 = time.perf_counter_ns()
        _, state = sess.run(None, {"input": inp, "state": state, "sr": sr})
        o_steps[i] = time.perf_counter_ns() - t0
        inp[:, :ctx] = inp[:, w:]
    return {"single": _stats(o_single), "batched": _stats(o_steps, streams),
            "version": ort.__version__}


def end_to_end_latency(vad: str = "silero", repeats: int = 5,
                       chunk_ms: float = 20.0) -> dict[str, Any]:
    """Latency from pushing the chunk that completes a deciding window to the event callback.

    The demo dialogue is pushed ``repeats`` times in ``chunk_ms`` chunks through one engine; for
    every ``user_state_changed`` and ``user_turn_completed`` the time from the start of that
    ``push_audio`` call to the subscriber receiving the event is recorded (the VAD window,
    kernels and event construction for that chunk; no model).

    Returns
    -------
    dict
        ``events`` counted, and ``p50_us``, ``p99_us``, ``max_us`` of the latency.
    """
    from ..engine import TurnEngine

    pcm = (_default_audio(16000) * 32768.0).astype(np.int16)
    pcm = np.concatenate([pcm, np.zeros(16000, np.int16)])
    engine = TurnEngine(sample_rate=16000, vad=vad)
    lat: list[int] = []
    pushed = [0]

    def seen(_: Any) -> None:
        lat.append(time.perf_counter_ns() - pushed[0])

    engine.on("user_state_changed", seen)
    engine.on("user_turn_completed", seen)
    chunk = max(1, int(16000 * chunk_ms / 1000))
    for _ in range(repeats):
        for i in range(0, pcm.shape[0], chunk):
            piece = pcm[i:i + chunk]
            pushed[0] = time.perf_counter_ns()
            engine.push_audio(piece)
    engine.close()
    ns = np.array(lat, dtype=np.float64)
    return {"vad": vad, "chunk_ms": chunk_ms, "events": int(ns.size),
            "p50_us": float(np.percentile(ns, 50) / 1e3) if ns.size else None,
            "p99_us": float(np.percentile(ns, 99) / 1e3) if ns.size else None,
            "max_us": float(ns.max() / 1e3) if ns.size else None}
