"""turnengine against raw onnxruntime, side by side on one real clip (STYLE.md point 19).

Every benchmark times one pass over the same ~30 s recording; the conftest turns each round into
microseconds per 32 ms window (512 samples at 16 kHz) and prints the engine/raw overhead ratio.

Groups
------
``clip``
    ``raw_onnx``: Silero's own ``OnnxWrapper`` loop on onnxruntime (the baseline);
    ``engine_silero_20ms`` / ``engine_silero_512``: ``TurnEngine(vad="silero-onnx")`` fed int16
    in 320-sample (20 ms) and 512-sample chunks; ``engine_energy_*``: the model-free backend.
``paired``
    Raw and engine (20 ms chunks) alternated within each round, so machine load hits both alike;
    the per-round engine/raw ratios are the most trustworthy overhead figure on a shared box.
``kernels``
    Hysteresis + timers over the clip's per-window probabilities: compiled kernel (whole clip in
    one call, and one call per window as the engine makes with 512-sample chunks) against the
    pure-Python reference twin.

Run: ``python -m pytest benchmarks/bench_engine.py --benchmark-only``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import turnengine
from turnengine import _kernels
from turnengine.options import TurnEngineOptions, seconds_to_samples, seconds_to_windows
from turnengine.vad import VADBackend

RATE = 16000
WINDOW = 512  # Silero window at 16 kHz: 32 ms
CHUNK_20MS = RATE // 50  # 320 samples
Clip = Any  # conftest.Clip (fixtures come from the conftest; nothing is imported from it)
RawRunner = Callable[[Any, np.ndarray, np.ndarray], None]


def _info(benchmark: Any, clip: Clip, key: str, **extra: Any) -> None:
    benchmark.extra_info.update(key=key, n_windows=clip.n_windows, clip=clip.path.name,
                                clip_duration_s=round(clip.duration_s, 3), **extra)


def _feed(engine: turnengine.TurnEngine, chunks: list[np.ndarray]) -> None:
    push = engine.push_audio
    for chunk in chunks:
        push(chunk)


@pytest.fixture(scope="module")
def silero_backend() -> VADBackend:
    """The engine's own ``silero-onnx`` backend; ``fresh()`` per round shares the loaded session
    (as the raw loop reuses its session) so no round pays onnxruntime's session start-up."""
    return turnengine.TurnEngine(sample_rate=RATE, vad="silero-onnx").vad


def _engine_setup(vad: Callable[[], VADBackend | str]) -> Callable[[], Any]:
    def setup() -> Any:
        return (turnengine.TurnEngine(sample_rate=RATE, vad=vad()),), {}
    return setup


# -- group "clip": raw onnxruntime vs the whole engine ------------------------------------------
@pytest.mark.benchmark(group="clip")
def test_raw_onnx(benchmark: Any, clip: Clip, ort_session: Any, raw_onnx: RawRunner,
                  silero_probs: np.ndarray, bench_rounds: int) -> None:
    _info(benchmark, clip, "raw_onnx")
    probs = np.zeros(clip.n_windows, dtype=np.float32)
    benchmark.pedantic(raw_onnx, args=(ort_session, clip.windows, probs), rounds=bench_rounds,
                       warmup_rounds=1, iterations=1)
    np.testing.assert_array_equal(probs, silero_probs)


@pytest.mark.benchmark(group="clip")
@pytest.mark.parametrize("chunk", [CHUNK_20MS, WINDOW], ids=["20ms", "512"])
def test_engine_silero(benchmark: Any, clip: Clip, silero_backend: VADBackend, chunk: int,
                       bench_rounds: int) -> None:
    _info(benchmark, clip, f"engine_silero_{'20ms' if chunk == CHUNK_20MS else chunk}",
          chunk_samples=chunk)
    chunks = clip.chunked(chunk)
    benchmark.pedantic(lambda e: _feed(e, chunks), setup=_engine_setup(silero_backend.fresh),
                       rounds=bench_rounds, warmup_rounds=1, iterations=1)


@pytest.mark.benchmark(group="clip")
@pytest.mark.parametrize("chunk", [CHUNK_20MS, WINDOW], ids=["20ms", "512"])
def test_engine_energy(benchmark: Any, clip: Clip, chunk: int, bench_rounds: int) -> None:
    try:
        _kernels.load("vad_energy", reference=False)
    except ImportError as exc:
        pytest.skip(f"energy VAD kernel not built yet (turnengine._kernels.vad_energy): {exc}")
    _info(benchmark, clip, f"engine_energy_{'20ms' if chunk == CHUNK_20MS else chunk}",
          chunk_samples=chunk)
    chunks = clip.chunked(chunk)
    benchmark.pedantic(lambda e: _feed(e, chunks), setup=_engine_setup(lambda: "energy"),
                       rounds=4 * bench_rounds, warmup_rounds=1, iterations=1)


class _ReplayVAD(VADBackend):
    """Replays precomputed Silero probabilities: the engine's own cost with inference removed."""

    name = "replay"
    sample_rate_hz = RATE
    window_size = WINDOW

    def __init__(self, probs: np.ndarray) -> None:
        self._all = probs
        self._i = 0

    def reset(self) -> None:
        self._i = 0

    def fresh(self) -> _ReplayVAD:
        return _ReplayVAD(self._all)

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        n = samples.shape[0] // WINDOW
        probs_out[:n] = self._all[self._i:self._i + n]
        self._i += n


@pytest.mark.benchmark(group="clip")
@pytest.mark.parametrize("chunk", [CHUNK_20MS, WINDOW], ids=["20ms", "512"])
def test_engine_replay(benchmark: Any, clip: Clip, silero_probs: np.ndarray, chunk: int,
                       bench_rounds: int) -> None:
    """The engine minus inference: intake, hysteresis, timers, events, per-chunk Python."""
    _info(benchmark, clip, f"engine_replay_{'20ms' if chunk == CHUNK_20MS else chunk}",
          chunk_samples=chunk)
    chunks = clip.chunked(chunk)
    replay = _ReplayVAD(silero_probs)
    benchmark.pedantic(lambda e: _feed(e, chunks), setup=_engine_setup(replay.fresh),
                       rounds=4 * bench_rounds, warmup_rounds=1, iterations=1)


# -- group "paired": raw and engine alternated within each round -------------------------------
@pytest.mark.benchmark(group="paired")
def test_paired_overhead(benchmark: Any, clip: Clip, ort_session: Any, raw_onnx: RawRunner,
                         silero_backend: VADBackend, bench_rounds: int) -> None:
    """One round = one raw pass + one engine pass (20 ms chunks), order alternating by round;
    extra_info carries the per-round ratios, which cancel load that drifts between rounds."""
    chunks = clip.chunked(CHUNK_20MS)
    probs = np.zeros(clip.n_windows, dtype=np.float32)
    raw_s: list[tuple[float, float]] = []  # (wall s, cpu s) per round
    eng_s: list[tuple[float, float]] = []

    def pair(engine: turnengine.TurnEngine) -> None:
        # Wall clock (what real time cares about) and CPU time (less sensitive to other load).
        wall, cpu = time.perf_counter, time.process_time
        raw_first = len(raw_s) % 2 == 0
        for step in ((0, 1) if raw_first else (1, 0)):
            w0, c0 = wall(), cpu()
            if step == 0:
                raw_onnx(ort_session, clip.windows, probs)
            else:
                _feed(engine, chunks)
            w1, c1 = wall(), cpu()
            (raw_s if step == 0 else eng_s).append((w1 - w0, c1 - c0))

    warmup = 1
    benchmark.pedantic(pair, setup=_engine_setup(silero_backend.fresh), rounds=bench_rounds,
                       warmup_rounds=warmup, iterations=1)
    if len(raw_s) <= warmup:  # --benchmark-disable: one call, no warmup, nothing to report
        return
    raw, eng = raw_s[warmup:], eng_s[warmup:]
    n = clip.n_windows
    extra: dict[str, float] = {}
    for i, clock in enumerate(("", "cpu_")):
        r = [x[i] for x in raw]
        e = [x[i] for x in eng]
        ratios = [b / a for a, b in zip(r, e, strict=True)]
        extra.update({
            f"{clock}raw_us_per_window_p50": statistics.median(r) / n * 1e6,
            f"{clock}engine_us_per_window_p50": statistics.median(e) / n * 1e6,
            f"{clock}ratio_p50": statistics.median(ratios),
            f"{clock}ratio_mean": statistics.fmean(ratios),
            f"{clock}ratio_of_minimums": min(e) / min(r),
        })
    _info(benchmark, clip, "paired_overhead", chunk_samples=CHUNK_20MS, **extra)


# -- group "kernels": hysteresis + timers, compiled vs reference --------------------------------
class _KernelRun:
    """Fresh hysteresis + timers with the engine's default options, and their output buffers."""

    def __init__(self, reference: bool, n: int) -> None:
        o = TurnEngineOptions()
        window_s = WINDOW / RATE
        self.hyst = _kernels.load("hysteresis", reference=reference).Hysteresis(
            WINDOW, o.activation_threshold, o.effective_deactivation_threshold,
            seconds_to_windows(o.min_speech_duration, window_s),
            seconds_to_windows(o.min_silence_duration, window_s),
            o.smoothing_alpha, o.min_volume)
        away = -1 if o.user_away_timeout is None else seconds_to_samples(o.user_away_timeout, RATE)
        timers_mod = _kernels.load("timers", reference=reference)
        self.timers = timers_mod.Timers(
            WINDOW, seconds_to_samples(o.min_endpointing_delay, RATE),
            seconds_to_samples(o.min_interruption_duration, RATE), away,
            {"vad": 0, "stt": 1, "manual": 2}[o.turn_detection], o.allow_interruptions)
        self.flags = np.zeros(n, dtype=np.uint8)
        self.smoothed = np.zeros(n, dtype=np.float32)
        self.h_code = np.zeros(n, dtype=np.int32)
        self.h_sample = np.zeros(n, dtype=np.int64)
        self.h_aux = np.zeros(n, dtype=np.int64)
        m = timers_mod.MAX_EVENTS_PER_WINDOW * n
        self.t_code = np.zeros(m, dtype=np.int32)
        self.t_sample = np.zeros(m, dtype=np.int64)
        self.t_aux = np.zeros(m, dtype=np.int64)
        self.events: list[tuple[int, int, int]] = []

    def run(self, probs: np.ndarray, per_call: int) -> None:
        hyst, timers = self.hyst.process, self.timers.process
        flags, h_aux = self.flags, self.h_aux
        for i in range(0, probs.shape[0], per_call):
            p = probs[i:i + per_call]
            start = i * WINDOW
            n_h = hyst(p, None, start, flags, self.smoothed, self.h_code, self.h_sample, h_aux)
            n_t = timers(flags[:p.shape[0]], h_aux[:n_h], start, self.t_code, self.t_sample,
                         self.t_aux)
            if n_t:
                self.events.extend(zip(self.t_code[:n_t].tolist(), self.t_sample[:n_t].tolist(),
                                       self.t_aux[:n_t].tolist(), strict=True))


KERNEL_CASES = [(False, None), (False, 1), (True, None)]


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize(("reference", "per_call"), KERNEL_CASES,
                         ids=["compiled-oneshot", "compiled-per-window", "reference-oneshot"])
def test_kernels(benchmark: Any, clip: Clip, silero_probs: np.ndarray, reference: bool,
                 per_call: int | None, bench_rounds: int) -> None:
    n = clip.n_windows
    step = per_call or n
    kind = "reference" if reference else "compiled"
    _info(benchmark, clip, f"kernels_{kind}_{'oneshot' if per_call is None else 'per_window'}")

    def setup() -> Any:
        return (_KernelRun(reference, n),), {}

    def run(k: _KernelRun) -> _KernelRun:
        k.run(silero_probs, step)
        return k

    fast = not reference and per_call is None
    result = benchmark.pedantic(run, setup=setup, rounds=(100 if fast else 10) * bench_rounds,
                                warmup_rounds=1, iterations=1)
    # Same events whatever the implementation or the chunking: the work compared is identical.
    expected = _KernelRun(True, n)
    expected.run(silero_probs, n)
    assert result.events == expected.events
