"""Shared fixtures and the overhead report for the turnengine benchmarks.

Run (from the repository root)::

    python -m pytest benchmarks/bench_engine.py --benchmark-only

Every benchmark times one pass over a whole real clip and records how many 32 ms Silero windows
(512 samples at 16 kHz) the clip holds in ``benchmark.extra_info["n_windows"]``.  After the run
this conftest divides by that count, prints microseconds per window (p50, mean, min over rounds)
for every benchmark side by side, computes the engine/raw-onnxruntime overhead ratio, and writes
everything to ``benchmarks/results.json``.

Environment
-----------
TURNENGINE_BENCH_CLIP
    WAV file to run (16 kHz mono int16); default ``tests/data/C2_composed_real_multi_clean.wav``.
TURNENGINE_BENCH_ROUNDS
    Rounds per whole-clip Silero benchmark (default 25); the replay and energy engine runs use
    4x as many, the kernels 10x (100x for the compiled one-shot).

Options
-------
--overhead-target=RATIO
    The budget for engine/raw (default 1.15); the report marks results above it.
--enforce-overhead
    Make the session fail when the headline ratio (paired, CPU time, 20 ms chunks; p50) is above
    the target.  Off by default: the ordinary run only reports.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "results.json"
#: Where a run of bench_silero.py alone writes its summary (so it never overwrites results.json).
SILERO_RESULTS_PATH = BENCH_DIR / "results_silero.json"
DEFAULT_CLIP = ROOT / "tests" / "data" / "C2_composed_real_multi_clean.wav"

try:  # `python -m pytest` puts the repository root on sys.path; plain `pytest` may not.
    import turnengine  # noqa: F401
except ImportError:  # pragma: no cover - depends on how pytest was started
    sys.path.insert(0, str(ROOT))

from turnengine.vad import SileroOnnxVAD, find_silero_model  # noqa: E402

#: Silero at 16 kHz: 512-sample windows plus 64 samples of context from the previous window.
WINDOW = 512
CONTEXT = 64
RATE = 16000


@pytest.fixture(scope="session")
def bench_rounds() -> int:
    """Rounds per whole-clip benchmark (``TURNENGINE_BENCH_ROUNDS``, default 25)."""
    return max(3, int(os.environ.get("TURNENGINE_BENCH_ROUNDS", "25")))


# -- fixtures ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clip:
    """A real recording prepared outside every timed region."""

    path: Path
    pcm: np.ndarray  # int16, shape (n_samples,)
    windows: np.ndarray  # float32, shape (n_windows, 1, WINDOW): what onnxruntime receives
    n_windows: int
    chunks: dict[int, list[np.ndarray]] = field(default_factory=dict)  # int16 chunks by size

    @property
    def duration_s(self) -> float:
        return self.pcm.shape[0] / RATE

    def chunked(self, size: int) -> list[np.ndarray]:
        if size not in self.chunks:
            self.chunks[size] = [self.pcm[i:i + size] for i in range(0, self.pcm.shape[0], size)]
        return self.chunks[size]


@pytest.fixture(scope="session")
def clip() -> Clip:
    import soundfile as sf

    path = Path(os.environ.get("TURNENGINE_BENCH_CLIP", DEFAULT_CLIP))
    pcm, rate = sf.read(str(path), dtype="int16", always_2d=False)
    if rate != RATE or pcm.ndim != 1:
        raise ValueError(f"expected a 16000 Hz mono clip, got {rate} Hz with shape {pcm.shape}")
    pcm = np.ascontiguousarray(pcm)
    n = pcm.shape[0] // WINDOW
    x = pcm[: n * WINDOW].astype(np.float32) / np.float32(32768.0)
    return Clip(path=path, pcm=pcm, windows=x.reshape(n, 1, WINDOW), n_windows=n)


@pytest.fixture(scope="session")
def ort_session() -> Any:
    """The Silero model on onnxruntime, configured as turnengine's ``silero-onnx`` backend."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(find_silero_model()), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def run_raw_onnx(session: Any, windows: np.ndarray, probs_out: np.ndarray) -> None:
    """The baseline: Silero's own ``OnnxWrapper`` loop at 16 kHz, in numpy.

    Per window: prepend the last 64 samples of the previous input, run, carry the LSTM state.
    """
    run = session.run
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros((1, CONTEXT), dtype=np.float32)
    sr = np.array(RATE, dtype=np.int64)
    for i in range(windows.shape[0]):
        x = np.concatenate([context, windows[i]], axis=1)
        out, state = run(None, {"input": x, "state": state, "sr": sr})
        probs_out[i] = out[0, 0]
        context = x[..., -CONTEXT:]


@pytest.fixture(scope="session")
def raw_onnx() -> Any:
    """The baseline loop, :func:`run_raw_onnx`, as a fixture for the benchmark modules."""
    return run_raw_onnx


@pytest.fixture(scope="session")
def silero_probs(clip: Clip, ort_session: Any) -> np.ndarray:
    """Per-window probabilities of the clip from the raw loop, checked against the engine's
    backend so the baseline and the engine provably do the same inference work."""
    probs = np.zeros(clip.n_windows, dtype=np.float32)
    run_raw_onnx(ort_session, clip.windows, probs)
    backend = SileroOnnxVAD(RATE, _session=ort_session)
    np.testing.assert_allclose(backend.probabilities(clip.pcm), probs, rtol=0, atol=1e-5)
    return probs


# -- collecting results -----------------------------------------------------------------------
_RESULTS: list[dict[str, Any]] = []
#: The ratio ``--enforce-overhead`` checks: engine (20 ms chunks) / raw, alternated within each
#: round and timed in process CPU time.  onnxruntime runs on the calling thread (one intra-op
#: thread), so on an idle machine CPU time equals wall time; on a shared one it ignores other load.
HEADLINE = "paired_engine_silero_20ms_cpu_time"
_SUMMARY_KEY = pytest.StashKey[dict]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    yield
    bm = getattr(item, "funcargs", {}).get("benchmark")
    if bm is None or not getattr(bm, "stats", None):
        return  # not a benchmark, or --benchmark-disable
    stats = bm.stats.stats
    extra = dict(bm.extra_info)
    n = int(extra.get("n_windows", 0)) or 1
    _RESULTS.append({
        "name": item.name,
        "module": getattr(getattr(item, "module", None), "__name__", ""),
        "group": bm.group,
        "key": extra.get("key", item.name),
        "n_windows": n,
        "rounds": stats.rounds,
        "round_p50_ms": stats.median * 1e3,
        "round_mean_ms": stats.mean * 1e3,
        "us_per_window_p50": stats.median / n * 1e6,
        "us_per_window_mean": stats.mean / n * 1e6,
        "us_per_window_min": stats.min / n * 1e6,
        "us_per_window_stddev": stats.stddev / n * 1e6 if stats.rounds > 1 else 0.0,
        "extra_info": extra,
    })


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("turnengine benchmarks")
    group.addoption("--overhead-target", type=float, default=1.15,
                    help="budget for the engine/raw onnxruntime time ratio (default 1.15)")
    group.addoption("--enforce-overhead", action="store_true", default=False,
                    help="fail the session when the headline engine/raw ratio exceeds the target")


def _ratio(num: dict[str, Any] | None, den: dict[str, Any] | None, stat: str) -> float | None:
    if num is None or den is None or not den[stat]:
        return None
    return num[stat] / den[stat]


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh
                                if ln.startswith("model name")), platform.processor())
    except OSError:
        info["cpu"] = platform.processor()
    for mod in ("numpy", "onnxruntime", "pytest_benchmark"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover
            pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                            capture_output=True, text=True,
                                            timeout=5).stdout.strip()
    except Exception:  # pragma: no cover
        pass
    try:
        info["load_average"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    return info


def _summarize(config: pytest.Config) -> dict[str, Any] | None:
    if not _RESULTS:
        return None
    by_key = {r["key"]: r for r in _RESULTS}
    raw = by_key.get("raw_onnx")
    target = config.getoption("--overhead-target")
    ratios: dict[str, Any] = {}
    for key in ("engine_silero_20ms", "engine_silero_512"):
        if key in by_key and raw is not None:
            ratios[key] = {"p50": _ratio(by_key[key], raw, "us_per_window_p50"),
                           "mean": _ratio(by_key[key], raw, "us_per_window_mean"),
                           "min": _ratio(by_key[key], raw, "us_per_window_min")}
    for key in ("engine_replay_20ms", "engine_replay_512"):
        # 1 + (engine without inference) / raw: a lower bound, as it assumes the engine's Python
        # costs as much between onnxruntime calls as it does in a tight loop (it costs more).
        if key in by_key and raw is not None:
            ratios[f"additive_{key.removeprefix('engine_')}"] = {
                s: 1.0 + by_key[key][f"us_per_window_{s}"] / raw[f"us_per_window_{s}"]
                for s in ("p50", "mean", "min")}
    paired = by_key.get("paired_overhead")
    if paired is not None:
        pe = paired["extra_info"]
        ratios["paired_engine_silero_20ms"] = {"p50": pe.get("ratio_p50"),
                                               "mean": pe.get("ratio_mean"),
                                               "min": pe.get("ratio_of_minimums")}
        ratios["paired_engine_silero_20ms_cpu_time"] = {"p50": pe.get("cpu_ratio_p50"),
                                                        "mean": pe.get("cpu_ratio_mean"),
                                                        "min": pe.get("cpu_ratio_of_minimums")}
    clip_info: dict[str, Any] = next(
        (r["extra_info"] for r in _RESULTS if "clip" in r["extra_info"]), {})
    silero = _silero_summary(by_key)
    return {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": ("python -m pytest benchmarks/bench_silero.py --benchmark-only"
                    if _silero_only() else
                    "python -m pytest benchmarks/bench_engine.py --benchmark-only"),
        "clip": clip_info.get("clip"),
        "clip_duration_s": clip_info.get("clip_duration_s"),
        "n_windows": clip_info.get("n_windows"),
        "unit": "microseconds per 32 ms window (512 samples at 16 kHz) of clip audio",
        "overhead_target": target,
        "overhead_headline": HEADLINE,
        "overhead_ratio": ratios,
        **({"silero": silero} if silero else {}),
        "benchmarks": _RESULTS,
        "machine": _machine(),
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    summary = _summarize(session.config)
    if summary is None:
        return
    session.config.stash[_SUMMARY_KEY] = summary
    _results_path().write_text(json.dumps(summary, indent=2) + "\n")
    paired = summary["overhead_ratio"].get(HEADLINE, {}).get("p50")
    if (session.config.getoption("--enforce-overhead") and paired is not None
            and paired > summary["overhead_target"] and session.exitstatus == 0):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _fmt(v: float | None) -> str:
    return "   -  " if v is None else f"{v:6.3f}"


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    summary = config.stash.get(_SUMMARY_KEY, None)
    if summary is None:
        return
    tr = terminalreporter
    tr.write_sep("=", "turnengine: microseconds per 32 ms window")
    tr.write_line(f"clip {summary['clip']} ({summary['clip_duration_s']:.1f} s, "
                  f"{summary['n_windows']} windows)")
    tr.write_line(f"{'group':<10} {'benchmark':<44} {'p50':>9} {'mean':>9} {'min':>9} "
                  f"{'rounds':>6}")
    for r in sorted(_RESULTS, key=lambda r: (r["group"] or "", r["us_per_window_p50"])):
        tr.write_line(f"{r['group'] or '':<10} {r['key']:<44} {r['us_per_window_p50']:9.2f} "
                      f"{r['us_per_window_mean']:9.2f} {r['us_per_window_min']:9.2f} "
                      f"{r['rounds']:>6}")
    target = summary["overhead_target"]
    tr.write_line("")
    tr.write_line(f"overhead engine / raw onnxruntime (target <= {target}):")
    for key, rr in summary["overhead_ratio"].items():
        p50 = rr.get("p50")
        flag = "" if p50 is None else ("ok" if p50 <= target else "ABOVE TARGET")
        if key == HEADLINE:
            flag += "  <- headline"
        tr.write_line(f"  {key:<36} p50 {_fmt(p50)}  mean {_fmt(rr.get('mean'))}  "
                      f"min {_fmt(rr.get('min'))}  {flag}")
    by_key = {r["key"]: r for r in _RESULTS}
    vad = by_key.get("group64_batched_vad_alone")
    if vad is not None:
        tr.write_line("")
        tr.write_line("whole engine / batched VAD alone, 64 streams (p50; target <= 1.5):")
        for frame in ("320", "512"):
            whole = by_key.get(f"group64_whole_engine_{frame}")
            if whole is not None:
                tr.write_line(f"  {frame}-sample frames{'':<21} "
                              f"{whole['us_per_window_p50'] / vad['us_per_window_p50']:.2f}")
    silero = summary.get("silero")
    if silero:
        tr.write_line("")
        tr.write_line("native silero kernel (bench_silero.py; us per stream-window, min / p50):")
        for key, value in silero.items():
            tr.write_line(f"  {key:<44} {value}")
    tr.write_line(f"written to {_results_path().relative_to(ROOT)}")


# -- bench_silero.py additions ----------------------------------------------------------------
def _silero_only() -> bool:
    return bool(_RESULTS) and all(r.get("module", "").endswith("bench_silero") for r in _RESULTS)


def _results_path() -> Path:
    return SILERO_RESULTS_PATH if _silero_only() else RESULTS_PATH


def _silero_summary(by_key: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers of bench_silero.py against the issue's targets."""
    out: dict[str, Any] = {}

    def us(key: str) -> str | None:
        r = by_key.get(key)
        return None if r is None else (f"{r['us_per_window_min']:.2f} / "
                                       f"{r['us_per_window_p50']:.2f}")

    def ratio(num: str, den: str) -> float | None:
        a, b = by_key.get(num), by_key.get(den)
        if a is None or b is None or not b["us_per_window_min"]:
            return None
        return round(a["us_per_window_min"] / b["us_per_window_min"], 2)

    for key in ("native_per_window", "native_clip", "onnx_batch1", "onnx_backend",
                "native_batched_32", "native_batched_64", "native_many_64", "onnx_batched_32"):
        if key in by_key:
            out[key] = us(key)
    if "native_per_window" in by_key:
        out["speedup_vs_onnx_batch1 (target >= 5)"] = ratio("onnx_batch1", "native_per_window")
        out["speedup_batched_32_vs_onnx_batched_32"] = ratio("onnx_batched_32",
                                                             "native_batched_32")
    threads = by_key.get("threads_2", {}).get("extra_info", {})
    if threads.get("scaling") is not None:
        out["two_thread_scaling (target >= 1.7), best rounds"] = round(threads["scaling"], 2)
        out["two_thread_scaling, median rounds"] = round(threads["scaling_p50"], 2)
    mem = by_key.get("rss_per_stream", {}).get("extra_info", {})
    if mem.get("rss_per_stream_kib") is not None:
        out["rss_per_stream_kib (target <= 64)"] = round(mem["rss_per_stream_kib"], 1)
        out["rss_per_batched_stream_kib"] = round(mem["rss_per_batched_stream_kib"], 1)
    return out
