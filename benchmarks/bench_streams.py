"""The whole engine per stream-window: VAD, hysteresis, timers, events, for 64 streams.

64 streams of real speech in one ``TurnEngineGroup`` (batched native Silero), pushed in 20 ms
and in 32 ms frames, against one lone ``TurnEngine(vad="silero")`` per stream fed the same
audio, in the same run.  Reported in microseconds per 32 ms stream-window.

``test_group_vs_batched_vad`` pairs, round by round, the whole group (20 ms and 32 ms frames)
with the batched network alone (``SileroBatch.process_batch`` once per window step, as
bench_silero's ``native_batched_64``) on the same audio, and prints both and their ratio (the
redesign's target: whole engine <= 1.5x the VAD alone).  Also runnable as a script, which
prints the same figures as JSON: ``python benchmarks/bench_streams.py [ROUNDS]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from turnengine import TurnEngine
from turnengine.streams import TurnEngineGroup

N_STREAMS = 64
SECONDS = 4.0


def load_streams() -> np.ndarray:
    """64 different 4 s stretches of the real clip, int16 (N_STREAMS, n_samples)."""
    clip, _ = sf.read(Path(__file__).resolve().parents[1] / "tests" / "data"
                      / "C2_composed_real_multi_clean.wav", dtype="int16")
    length = int(SECONDS * 16000)
    offsets = np.random.default_rng(0).integers(0, len(clip) - length, N_STREAMS)
    return np.stack([clip[o:o + length] for o in offsets])


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return load_streams()


def _windows(audio: np.ndarray) -> int:
    return audio.shape[0] * (audio.shape[1] // 512)


@pytest.mark.parametrize("frame", [320, 512], ids=["20ms", "32ms"])
def test_group_whole_engine(benchmark: Any, audio: np.ndarray, frame: int) -> None:
    def setup() -> Any:
        return (TurnEngineGroup(N_STREAMS),), {}

    def run(group: TurnEngineGroup) -> None:
        for a in range(0, audio.shape[1], frame):
            group.push_audio(audio[:, a:a + frame])

    benchmark.extra_info.update(key=f"group64_whole_engine_{frame}", clip="64 streams",
                                clip_duration_s=SECONDS, n_windows=_windows(audio))
    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1, iterations=1)


def test_lone_engines_whole_engine(benchmark: Any, audio: np.ndarray) -> None:
    def setup() -> Any:
        return ([TurnEngine(vad="silero") for _ in range(N_STREAMS)],), {}

    def run(engines: list[TurnEngine]) -> None:
        for a in range(0, audio.shape[1], 320):
            for i, engine in enumerate(engines):
                engine.push_audio(audio[i, a:a + 320])

    benchmark.extra_info.update(key="lone64_whole_engine_320", clip="64 streams",
                                clip_duration_s=SECONDS, n_windows=_windows(audio))
    benchmark.pedantic(run, setup=setup, rounds=3, warmup_rounds=1, iterations=1)


def test_batched_vad_alone(benchmark: Any, audio: np.ndarray) -> None:
    """The batched network alone on the same audio: ``process_batch`` once per window step."""
    from turnengine import _kernels
    from turnengine.vad import load_vad

    model = load_vad("silero", 16000).model
    native = _kernels.load("vad_silero")
    n_win = audio.shape[1] // 512
    windows = [np.ascontiguousarray(audio[:, k * 512:(k + 1) * 512], dtype=np.float32) / 32768
               for k in range(n_win)]
    probs = np.zeros(N_STREAMS, np.float32)

    def setup() -> Any:
        return (native.SileroBatch(model, N_STREAMS),), {}

    def run(batch: Any) -> None:
        for w in windows:
            batch.process_batch(w, probs)

    benchmark.extra_info.update(key="group64_batched_vad_alone", clip="64 streams",
                                clip_duration_s=SECONDS, n_windows=_windows(audio))
    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1, iterations=1)


def _group_pass(audio: np.ndarray, frame: int) -> float:
    group = TurnEngineGroup(N_STREAMS)
    t0 = time.process_time()
    for a in range(0, audio.shape[1], frame):
        group.push_audio(audio[:, a:a + frame])
    return time.process_time() - t0


def _vad_pass(audio: np.ndarray) -> float:
    from turnengine import _kernels
    from turnengine.vad import load_vad

    backend = load_vad("silero", 16000)
    batch = _kernels.load("vad_silero").SileroBatch(backend.model, N_STREAMS)
    n_win = audio.shape[1] // 512
    windows = [np.ascontiguousarray(audio[:, k * 512:(k + 1) * 512], dtype=np.float32) / 32768
               for k in range(n_win)]
    probs = np.zeros(N_STREAMS, np.float32)
    t0 = time.process_time()
    for w in windows:
        batch.process_batch(w, probs)
    return time.process_time() - t0


def paired(audio: np.ndarray, rounds: int) -> dict[str, float]:
    """Alternate, round by round, the group at 20 and 32 ms frames and the VAD alone; return
    CPU us per stream-window (medians) and the per-round ratios' medians."""
    per_sw = 1e6 / _windows(audio)
    rows: dict[str, list[float]] = {"group_20ms": [], "group_32ms": [], "vad_alone": []}
    for r in range(rounds + 1):  # round 0 warms up
        order = ["vad_alone", "group_20ms", "group_32ms"]
        if r % 2:
            order.reverse()
        for name in order:
            s = (_vad_pass(audio) if name == "vad_alone"
                 else _group_pass(audio, 320 if name == "group_20ms" else 512))
            if r:
                rows[name].append(s * per_sw)
    out = {f"{k}_us_per_stream_window": statistics.median(v) for k, v in rows.items()}
    for frame in ("20ms", "32ms"):
        ratios = [g / v for g, v in zip(rows[f"group_{frame}"], rows["vad_alone"], strict=True)]
        out[f"ratio_{frame}"] = statistics.median(ratios)
    return out


def test_group_vs_batched_vad(audio: np.ndarray) -> None:
    result = paired(audio, rounds=9)
    print("\n" + json.dumps(result, indent=1))


if __name__ == "__main__":
    print(json.dumps(paired(load_streams(), int(sys.argv[1]) if len(sys.argv) > 1 else 9)))
