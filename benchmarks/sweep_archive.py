"""``turnengine sweep`` at archive scale: a 2,000-call archive (about 5.6 hours of audio, built
by :mod:`sweep_archive_build`) under 12 configurations, on the process pool with 1 and 2
workers and on a local Ray cluster with 2 CPUs.

Prints, per run: wall time (the whole sweep: cache, replays, tables, files), hours of audio
replayed (calls x configurations), audio hours per core-hour, times real time, speed-up over
one worker, the share of the workers' time spent in replays (``replay_busy``: the rest is
start-up, task traffic, cache and tables), and the load average before and after (the machine
may be shared); then whether every run wrote the same files as ``pool1``.  The Ray cluster is
started before its run and its start is timed apart; ``--ray-per-pair`` adds a Ray run with one
task per pair (instead of one per call with its configurations), ``--task-overhead`` times
2,000 empty Ray tasks and ``--ceiling`` measures the speed-up two bare replay processes get on
the machine (no pool, cache or tables).  Each timed run starts from an empty cache;
``--max-load`` waits (``--max-wait``, default 10 min) for a quiet machine first::

    python benchmarks/sweep_archive.py --dir /tmp/archive --max-load 0.7 --ray-per-pair \
        --task-overhead
    python benchmarks/sweep_archive.py --calls 100 --runs pool1   # estimate first
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sweep_archive_build import build_archive  # noqa: E402

import turnengine.tools.sweep.units as units  # noqa: E402
from turnengine.tools.eval.grid import SweepAxis  # noqa: E402
from turnengine.tools.eval.sweep import sweep_configs  # noqa: E402
from turnengine.tools.sweep import load_calls, run_sweep_archive  # noqa: E402
from turnengine.tools.sweep.ray_executor import RayOptions  # noqa: E402

GRID = [SweepAxis("min_endpointing_delay", (0.3, 0.4, 0.5, 0.6, 0.8, 1.0)),
        SweepAxis("min_interruption_duration", (0.3, 0.6))]
OUTPUTS = ("calls.csv", "calls.json", "configs.csv", "configs.json", "summary.md")
RUNS = {"pool1": ("pool", 1), "pool2": ("pool", 2), "ray2": ("ray", 2),
        "ray2-per-pair": ("ray", 2)}


def wait_for_quiet(max_load: float | None, limit_s: float = 600.0) -> float:
    """The 1-minute load average, after waiting (at most ``limit_s``) for it to be < max_load."""
    deadline = time.monotonic() + limit_s
    while max_load is not None and os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def timed_run(name: str, manifest: Path, outdir: Path, max_load: float | None,
              max_wait_s: float) -> dict[str, Any]:
    """One sweep from an empty cache; its figures."""
    kind, n = RUNS[name]
    shutil.rmtree(outdir, ignore_errors=True)
    calls, configs = load_calls(manifest), sweep_configs(GRID)
    ray = RayOptions(task_timeout_s=600) if kind == "ray" else None
    saved = units.MAX_UNIT_CONFIGS
    units.MAX_UNIT_CONFIGS = 1 if name.endswith("per-pair") else saved
    load0 = wait_for_quiet(max_load, max_wait_s)
    try:
        out = run_sweep_archive(calls, configs, outdir, workers=n, ray=ray,
                                title="sweep_archive")
    finally:
        units.MAX_UNIT_CONFIGS = saved
    audio_h = out.audio_s / 3600
    return {"run": name, "workers": n, "wall_s": round(out.wall_s, 2),
            "audio_h": round(audio_h, 3), "pairs": out.stats.n_pairs,
            "failed": sum(1 for r in out.tables.call_rows if r["error"]),
            "audio_h_per_core_h": round(audio_h / (out.wall_s / 3600 * n), 1),
            "x_real_time": round(out.audio_s / out.wall_s),
            "replay_busy": round(out.stats.replay_wall_s / (out.wall_s * n), 3),
            "load_before": round(load0, 2),
            "load_after": round(os.getloadavg()[0], 2)}


def start_ray(cpus: int) -> tuple[Any, float]:
    """A local Ray cluster on loopback (as ``--ray`` starts one); the seconds it took."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return ray, time.perf_counter() - t0


def task_overhead_ms(ray: Any, n: int = 2000) -> float:
    """Milliseconds per empty Ray task (submitted at once, 2 CPUs)."""
    @ray.remote(num_cpus=1)
    def noop(i: int) -> int:
        return i

    ray.get([noop.remote(i) for i in range(100)])  # workers up
    t0 = time.perf_counter()
    ray.get([noop.remote(i) for i in range(n)])
    return 1000 * (time.perf_counter() - t0) / n


def _replay_block(manifest: str, n_calls: int) -> float:
    """Seconds to replay the first ``n_calls`` calls under the first configuration, no cache."""
    from turnengine.tools.sweep.work import ReplaySettings, run_unit

    calls, config = load_calls(manifest)[:n_calls], sweep_configs(GRID)[:1]
    t0 = time.perf_counter()
    for call in calls:
        run_unit(call, config, ReplaySettings())
    return time.perf_counter() - t0


def machine_ceiling(manifest: Path, n_calls: int = 300) -> float:
    """The speed-up two processes get on this machine on bare replays (no pool, no cache, no
    tables): 2 x one process's time over two concurrent processes' time (the slower one)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.starmap(_replay_block, [(str(manifest), 5)] * 2)  # imports and models loaded
        one = pool.apply(_replay_block, (str(manifest), n_calls))
        two = max(pool.starmap(_replay_block, [(str(manifest), n_calls)] * 2))
    return 2 * one / two


def same_files(a: Path, b: Path) -> bool:
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in OUTPUTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="archive folder (kept)")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", default="pool1,pool2,ray2")
    parser.add_argument("--ray-per-pair", action="store_true")
    parser.add_argument("--task-overhead", action="store_true")
    parser.add_argument("--ceiling", action="store_true",
                        help="also measure the speed-up 2 bare replay processes get")
    parser.add_argument("--max-load", type=float, default=None)
    parser.add_argument("--max-wait", type=float, default=600.0,
                        help="seconds to wait for --max-load before each run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="sweep-archive-"))
    manifest = folder / "manifest.csv"
    if not manifest.is_file() or len(manifest.read_text().splitlines()) != args.calls + 1:
        t0 = time.perf_counter()
        _, total_s = build_archive(folder, args.calls)
        print(f"# built {args.calls} calls ({total_s / 3600:.2f} h) in "
              f"{time.perf_counter() - t0:.0f} s: {folder}", file=sys.stderr)
    names = [n for n in args.runs.split(",") if n]
    names += ["ray2-per-pair"] if args.ray_per_pair else []
    rows, extra, ray = [], {}, None
    for name in names:
        if RUNS[name][0] == "ray" and ray is None:
            ray, extra["ray_start_s"] = start_ray(RUNS[name][1])
            if args.task_overhead:
                extra["ray_task_overhead_ms"] = round(task_overhead_ms(ray), 3)
        rows.append(timed_run(name, manifest, folder / f"out-{name}", args.max_load,
                              args.max_wait))
        print(json.dumps(rows[-1]), file=sys.stderr)
    if ray is not None:
        ray.shutdown()
    if args.ceiling:
        extra["machine_ceiling_2_processes"] = round(machine_ceiling(manifest), 2)
    base = {r["run"]: r["wall_s"] for r in rows}.get("pool1")
    for r in rows:
        r["speed_up"] = round(base / r["wall_s"], 2) if base else None
        r["same_files_as_pool1"] = (same_files(folder / "out-pool1", folder / f"out-{r['run']}")
                                    if (folder / "out-pool1" / OUTPUTS[0]).is_file() else None)
    report = {"machine": f"{os.cpu_count()} CPUs", "configs": len(sweep_configs(GRID)),
              "runs": rows, **extra}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    cols = ("run", "wall_s", "audio_h", "audio_h_per_core_h", "x_real_time", "speed_up",
            "replay_busy",
            "load_before", "load_after", "same_files_as_pool1")
    print("| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|")
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print(", ".join(f"{k} {v}" for k, v in extra.items()))


if __name__ == "__main__":
    main()
