"""Fuzz the engine's push path and the kernels (issue 13, done-when 5).

Usage (from the repository root)::

    nice -n 10 python benchmarks/fuzz_engine.py --inputs 1000000 --seed 1

Feeds ``--inputs`` fuzzed calls, about half to the public engine (``TurnEngine.push_audio``
with random dtypes, shapes, NaN/inf, huge values, memoryviews of many formats, odd byte counts,
empty and masked arrays, lists; constructors with wrong rates and option values; a closed
engine; ``TurnEngineGroup.push_audio``; a few host-call arguments) and half straight to the
kernels of ``turnengine._kernels.load(...)`` (``pcm``, ``hysteresis``, ``timers``,
``vad_energy``, ``vad_silero``, ``features``).  ``--reference`` adds parity targets: each
compiled kernel against its pure-Python twin, which must accept and refuse alike.

It checks that nothing crashes, that only ``TypeError``/``ValueError`` (and documented
exceptions) escape, that a rejected call leaves the state as it was (snapshots, and a twin
object that never saw the rejected calls must answer the next valid call identically), and
that ``push_audio`` accepts exactly what SPEC 2 documents (``fuzz_targets`` has the details).
Exit status 1 on any finding; the kernel findings already reported to the kernel owner
(``fuzz_targets.KNOWN_KERNEL``) are counted apart and do not fail a run.

Runs are seeded: batch ``k`` of 1000 inputs draws from ``numpy.random.default_rng([seed, k])``
and builds its own objects, so ``--first-batch k --inputs 1000`` replays it alone (``--trace``
prints each call first).  A crash prints the Python stack (faulthandler) after the last
progress line, which names the batch.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_targets  # noqa: E402
from fuzz_kernels import HysteresisTarget, PcmTarget, TimersTarget  # noqa: E402
from fuzz_models import EnergyTarget, FeaturesTarget, SileroTarget  # noqa: E402
from fuzz_targets import (  # noqa: E402
    ENGINE_TARGETS,
    KNOWN_KERNEL,
    Stats,
    Target,
    run_call,
    verify,
)

from turnengine import _kernels  # noqa: E402

BATCH = 1000
KERNEL_TARGETS = {"pcm": PcmTarget, "hysteresis": HysteresisTarget, "timers": TimersTarget,
                  "vad_energy": EnergyTarget, "vad_silero": SileroTarget,
                  "features": FeaturesTarget}
#: Share of the inputs each target gets.
WEIGHTS = {"engine": 0.42, "engine_setup": 0.08, "pcm": 0.12, "hysteresis": 0.1,
           "timers": 0.12, "vad_energy": 0.05, "vad_silero": 0.07, "features": 0.04}


def _factories(reference: bool) -> list[tuple[str, float, Callable[[np.random.Generator],
                                                                      Target]]]:
    out: list[tuple[str, float, Callable[[np.random.Generator], Target]]] = [
        (t.name, WEIGHTS[t.name], t) for t in ENGINE_TARGETS]
    for name, cls in KERNEL_TARGETS.items():
        mod = _kernels.load(name, reference=False)  # type: ignore[call-overload]
        out.append((name, WEIGHTS[name], lambda rng, c=cls, m=mod: c(rng, m)))
        if reference:  # the compiled kernel against its pure-Python twin (slow: fewer inputs)
            ref = _kernels.load(name, reference=True)  # type: ignore[call-overload]
            out.append((f"{name}_parity", WEIGHTS[name] * 0.3,
                        lambda rng, c=cls, m=mod, r=ref, n=f"{name}_parity":
                        _named(c(rng, m, r), n)))
    return out


def _named(target: Target, name: str) -> Target:
    target.name = name
    return target


def run_batch(seed: int, batch: int, n: int, stats: Stats, reference: bool = False) -> None:
    """``n`` inputs of batch ``batch`` (its own generator and objects)."""
    rng = np.random.default_rng([seed, batch])
    factories = _factories(reference)
    weights = np.array([w for _, w, _ in factories])
    targets: dict[str, Target] = {}
    since: dict[str, int] = {}
    for _ in range(n):
        name, _, make = factories[int(rng.choice(len(factories), p=weights / weights.sum()))]
        if name not in targets:
            targets[name], since[name] = make(rng), 0
        target = targets[name]
        mw = np.array([m.weight for m in target.methods])
        method = target.methods[int(rng.choice(len(mw), p=mw / mw.sum()))]
        ok = run_call(target, method, rng, stats)
        since[name] += 1
        if ok and since[name] >= target.verify_every:
            since[name] = 0
            ok = verify(target, rng, stats)
        if not ok:  # a finding left the twins apart: start this target afresh
            del targets[name]


def fuzz(n_inputs: int, seed: int, first_batch: int = 0, reference: bool = False,
         progress: Callable[[int, Stats], None] | None = None) -> Stats:
    """Run ``n_inputs`` fuzzed calls from batch ``first_batch`` on; return what was found."""
    stats = Stats()
    logging.getLogger("turnengine").setLevel(logging.CRITICAL)  # callbacks that raise, on purpose
    warnings.simplefilter("ignore")  # numpy casts of NaN and inf, on purpose
    batch = first_batch
    while stats.inputs < n_inputs:
        run_batch(seed, batch, min(BATCH, n_inputs - stats.inputs), stats, reference)
        batch += 1
        if progress is not None:
            progress(batch, stats)
    return stats


def report(stats: Stats, seconds: float, top: int = 12) -> str:
    lines = [f"inputs {stats.inputs:,} in {seconds:.1f} s ({stats.inputs / seconds:,.0f}/s): "
             f"{stats.accepted:,} accepted, {stats.n_rejected:,} rejected, "
             f"{stats.checks:,} twin checks",
             "per target: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.per_target.items()))]
    by_class: dict[str, int] = {}
    for key, count in stats.rejected.items():
        cls = key.rsplit(": ", 1)[1]
        by_class[cls] = by_class.get(cls, 0) + count
    lines.append("rejections by exception: " + ", ".join(
        f"{k} {v:,}" for k, v in sorted(by_class.items())))
    lines.append("most rejected calls: " + ", ".join(
        f"{k} {v:,}" for k, v in stats.rejected.most_common(top)))
    if stats.known:
        lines.append(f"known kernel findings, reported to the kernel owner "
                     f"({sum(stats.known.values()):,}; not failures):")
        for kind in KNOWN_KERNEL:
            calls = {k: v for k, v in stats.known.items() if kind in k}
            if calls:
                lines.append(f"  {sum(calls.values()):7,}  {kind}: " + ", ".join(
                    f"{k.split(':', 1)[0]} {v:,}" for k, v in sorted(calls.items())))
    if stats.findings:
        lines.append(f"FINDINGS ({sum(stats.findings.values()):,}):")
        for key, count in stats.findings.most_common():
            lines.append(f"  {count:7,}  {key}\n           e.g. {stats.examples[key]}")
    else:
        lines.append("findings: none")
    return "\n".join(lines)


def _cpu() -> str:
    """The CPU model (``lscpu``'s "Model name")."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first-batch", type=int, default=0,
                    help=f"start at this batch of {BATCH} inputs (replays it)")
    ap.add_argument("--reference", action="store_true",
                    help="also fuzz each compiled kernel against its pure-Python twin (parity)")
    ap.add_argument("--trace", action="store_true",
                    help="print every call before it is made (with --first-batch: the crash)")
    args = ap.parse_args(argv)
    fuzz_targets.TRACE = args.trace
    faulthandler.enable()
    t0 = time.perf_counter()
    every = max(1, args.inputs // BATCH // 20)

    def progress(batch: int, stats: Stats) -> None:
        if batch % every == 0:
            print(f"batch {batch}: {stats.inputs:,} inputs, {time.perf_counter() - t0:.0f} s, "
                  f"{sum(stats.findings.values())} findings", flush=True)

    print(f"fuzz_engine --inputs {args.inputs} --seed {args.seed}: {_cpu()}, {os.cpu_count()} "
          f"CPUs, Python {platform.python_version()}, numpy {np.__version__}", flush=True)
    stats = fuzz(args.inputs, args.seed, args.first_batch, args.reference, progress)
    print(report(stats, time.perf_counter() - t0))
    return 1 if stats.findings else 0


if __name__ == "__main__":
    sys.exit(main())
