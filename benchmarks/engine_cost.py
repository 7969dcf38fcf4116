"""One stream's whole-engine cost per 32 ms window, CPU time, median over rounds.

``replay``: the engine with a backend that replays precomputed Silero probabilities (the
engine's own work: intake, kernels, events, Python per chunk); ``silero``: the engine with the
native Silero kernel.  The clip is tests/data/C2_composed_real_multi_clean.wav (30.3 s) pushed
in 20 ms chunks.  Public API only, so the same script measures any checkout::

    python benchmarks/engine_cost.py [ROUNDS]                      # this checkout
    PYTHONPATH=OTHER python benchmarks/engine_cost.py [ROUNDS]     # another one, same box

Prints one JSON line: microseconds per window for each, and which package was measured.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

import turnengine
from turnengine import TurnEngine
from turnengine.vad import VADBackend, load_vad

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "C2_composed_real_multi_clean.wav"


class Replay(VADBackend):
    """Replays fixed per-window probabilities (no inference)."""

    name = "replay"
    sample_rate_hz = 16000
    window_size = 512

    def __init__(self, probs: np.ndarray) -> None:
        self._probs = probs
        self._i = 0

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        k = samples.shape[0] // 512
        probs_out[:k] = self._probs[self._i:self._i + k]
        self._i += k

    def reset(self) -> None:
        self._i = 0

    def fresh(self) -> Replay:
        return Replay(self._probs)


def _pass(engine: TurnEngine, chunks: list[np.ndarray], n_windows: int) -> float:
    push = engine.push_audio
    t0 = time.process_time()
    for chunk in chunks:
        push(chunk)
    return (time.process_time() - t0) / n_windows * 1e6


def measure(rounds: int) -> dict[str, Any]:
    clip, _ = sf.read(CLIP, dtype="int16")
    n_windows = len(clip) // 512
    probs = load_vad("silero", 16000).probabilities(clip)
    chunks = [clip[i:i + 320] for i in range(0, len(clip), 320)]
    rows: dict[str, list[float]] = {"replay": [], "silero": []}
    for r in range(rounds + 2):  # two warm-up rounds
        replay = _pass(TurnEngine(vad=Replay(probs)), chunks, n_windows)
        silero = _pass(TurnEngine(vad="silero"), chunks, n_windows)
        if r >= 2:
            rows["replay"].append(replay)
            rows["silero"].append(silero)
    out: dict[str, Any] = {f"{k}_us_per_window": round(statistics.median(v), 3)
                           for k, v in rows.items()}
    out["package"] = str(Path(turnengine.__file__).parent)
    return out


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 15)))
