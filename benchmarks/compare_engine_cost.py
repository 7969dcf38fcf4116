"""One stream's engine cost, this checkout against another, pass by pass on the same box.

Two worker processes (one per checkout, each importing its own ``turnengine``) run one pass of
:mod:`engine_cost` at a time, alternately, so that machine load hits both alike; the figure to
read is the median of the per-pair ratios (a shared VM's load moves absolute times by 20-40 %).
The other checkout needs its kernels built (``python setup.py build_ext --inplace`` there)::

    python benchmarks/compare_engine_cost.py OTHER_CHECKOUT [PAIRS]

Prints, for ``replay`` (the engine with precomputed probabilities: its own work) and ``silero``
(the whole engine with the native Silero kernel): the median us per 32 ms window of each
checkout and the median and quartiles of this/other per pair.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = """
import sys
sys.path.insert(0, {bench!r})
import engine_cost as ec
import soundfile as sf
from turnengine import TurnEngine
clip, _ = sf.read(ec.CLIP, dtype="int16")
n = len(clip) // 512
probs = ec.load_vad("silero", 16000).probabilities(clip)
chunks = [clip[i:i + 320] for i in range(0, len(clip), 320)]
for line in sys.stdin:
    vad = ec.Replay(probs) if line.strip() == "replay" else "silero"
    print(ec._pass(TurnEngine(vad=vad), chunks, n), flush=True)
"""


def _worker(checkout: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    code = WORKER.format(bench=str(HERE))
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd=str(checkout))


def _run(worker: subprocess.Popen[str], kind: str) -> float:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(kind + "\n")
    worker.stdin.flush()
    return float(worker.stdout.readline())


def main(other: Path, pairs: int) -> None:
    this, that = _worker(HERE.parent), _worker(other)
    try:
        for kind in ("replay", "silero"):
            for _ in range(5):  # warm-up
                _run(this, kind)
                _run(that, kind)
            mine, theirs = [], []
            for i in range(pairs):  # alternate which goes first
                if i % 2:
                    theirs.append(_run(that, kind))
                    mine.append(_run(this, kind))
                else:
                    mine.append(_run(this, kind))
                    theirs.append(_run(that, kind))
            ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            print(f"{kind}: this {statistics.median(mine):.2f} us/window, other "
                  f"{statistics.median(theirs):.2f}; this/other per pair median "
                  f"{statistics.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f}), {pairs} pairs")
    finally:
        for w in (this, that):
            assert w.stdin is not None
            w.stdin.close()
            w.wait()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/compare_engine_cost.py OTHER_CHECKOUT [PAIRS]")
    main(Path(sys.argv[1]).resolve(), int(sys.argv[2]) if len(sys.argv) > 2 else 150)
