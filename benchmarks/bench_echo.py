"""Cost of the echo path (``TurnEngine.push_playout``) beside the VAD, in the same run.

On one echo-set call (default tests/data/echo/dev_08_barge_bc_e2u_0: 20 s, 16 kHz, agent and
barge-ins), replayed in 20 ms chunks, paired passes alternating:

* the whole engine without playout (VAD + hysteresis + timers), and the echo-canceller backend
  alone on the same mic and playout (``EchoCanceller.process`` in 10 ms frames);
* the whole engine with the playout pushed.

Printed: microseconds of CPU per 10 ms of audio for each (median of the passes), and RSS per
stream: the growth of the process's resident set when 20 more engines each take 2 s of
playout and mic (so each has built its canceller).  Issue 12's budget for the echo path is 25 us
per 10 ms per stream on one core.

Run: ``python benchmarks/bench_echo.py [--passes 7] [--backend native,aec3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from turnengine import TurnEngine
from turnengine._core.playout import load_echo_canceller

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "echo" / \
    "dev_08_barge_bc_e2u_0"
CHUNK = 320


def _engine_pass(mic: np.ndarray, far: np.ndarray | None, backend: str) -> float:
    engine = TurnEngine(16000, echo_canceller=backend)
    t0 = time.process_time()
    for i in range(0, len(mic), CHUNK):
        if far is not None:
            engine.push_playout(far[i:i + CHUNK])
        engine.push_audio(mic[i:i + CHUNK])
    spent = time.process_time() - t0
    engine.close()
    return spent


def _backend_pass(mic: np.ndarray, far: np.ndarray, backend: str) -> float:
    canceller = load_echo_canceller(backend, 16000)
    f = canceller.frame_size
    n = len(mic) - len(mic) % f
    m = (mic[:n] / 32768.0).astype(np.float32)
    r = (far[:n] / 32768.0).astype(np.float32)
    out = np.empty(n, np.float32)
    delays = np.empty(n // f, np.int64)
    stats = np.empty((n // f, 3))
    t0 = time.process_time()
    for i in range(0, n, CHUNK):
        canceller.process(m[i:i + CHUNK], r[i:i + CHUNK], out[i:i + CHUNK],
                          delays[i // f:], stats[i // f:])
    return time.process_time() - t0


def _rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_per_stream(mic: np.ndarray, far: np.ndarray, backend: str, n: int = 20
                   ) -> tuple[float, float]:
    """(KB per stream with playout, KB per stream without), from n engines each."""
    out = []
    for with_far in (False, True):
        before = _rss_kb()
        keep = []
        for _ in range(n):
            e = TurnEngine(16000, echo_canceller=backend)
            for i in range(0, 32000, CHUNK):
                if with_far:
                    e.push_playout(far[i:i + CHUNK])
                e.push_audio(mic[i:i + CHUNK])
            keep.append(e)
        out.append((_rss_kb() - before) / n)
        for e in keep:
            e.close()
    return out[1], out[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--passes", type=int, default=7)
    p.add_argument("--backend", default="native,aec3",
                   help="comma-separated backends, measured in the same run")
    p.add_argument("--sample", type=Path, default=SAMPLE, help="NAME (without .mic.wav)")
    args = p.parse_args(argv)
    mic, _ = sf.read(f"{args.sample}.mic.wav", dtype="int16")
    far, _ = sf.read(f"{args.sample}.playout.wav", dtype="int16")
    per10 = len(mic) / 160
    backends = args.backend.split(",")
    plain: list[float] = []
    alone: dict[str, list[float]] = {b: [] for b in backends}
    full: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(args.passes):
        plain.append(_engine_pass(mic, None, backends[0]) / per10 * 1e6)
        for b in backends:
            alone[b].append(_backend_pass(mic, far, b) / per10 * 1e6)
            full[b].append(_engine_pass(mic, far, b) / per10 * 1e6)
    med = statistics.median
    print(f"# {args.sample.name}: {len(mic) / 16000:.1f} s, {args.passes} paired passes, "
          f"CPU time (process_time), us per 10 ms of audio, median")
    print(f"engine without playout (VAD + kernels): {med(plain):7.1f}")
    for b in backends:
        print(f"echo canceller {b!r} alone: {med(alone[b]):7.1f}; engine with playout "
              f"{med(full[b]):7.1f} (echo path {med(full[b]) - med(plain):.1f}; budget 25)")
    for b in backends:
        with_kb, without_kb = rss_per_stream(mic, far, b)
        print(f"RSS per stream ({b}): {with_kb:.0f} KB with playout, {without_kb:.0f} KB "
              f"without (20 engines each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
