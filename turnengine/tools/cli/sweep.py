"""``turnengine sweep SOURCE --param NAME=V1,V2,... [--grid GRID.toml]``: every configuration
of a grid replayed on every call of a directory or manifest, on a local process pool or a Ray
cluster (``--ray [ADDRESS]``); tables, a summary, the trade-off plot and the recommended
configuration in OUTDIR (:mod:`turnengine.tools.sweep`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from .args import EXIT_USAGE, CLIError, option_overrides, options_from_args
from .evaluate import option_given, parse_sweeps
from .progress import StderrProgress

__all__ = ["add_sweep_parser", "cmd_sweep"]


def add_sweep_parser(sub: Any) -> None:
    """The ``sweep`` sub-parser."""
    from .args import add_engine_flags, add_option_flags

    sw = sub.add_parser(
        "sweep", help="replay a call archive under a grid of configurations",
        description="Replay every call of SOURCE (a directory of NAME.wav with optional "
                    "NAME.json labels, or a CSV/JSONL manifest with audio, labels and scenario "
                    "paths) under every configuration of the --param/--grid grid, on a local "
                    "process pool or a Ray cluster (--ray). Writes per-call and "
                    "per-configuration tables (CSV, JSON), "
                    "summary.md with the Pareto front and the configuration recommended for "
                    "--latency-budget, and tradeoff.png to OUTDIR; finished pairs are cached "
                    "in OUTDIR/cache, so a re-run replays only what is missing.")
    sw.add_argument("source", help="directory of calls, or a .csv/.jsonl manifest")
    sw.add_argument("--param", action="append", metavar="NAME=V1,V2,...", default=None,
                    help="values of a TurnEngineOptions field or turn_detector; repeat for a "
                         "grid (cartesian product)")
    sw.add_argument("--grid", default=None, metavar="GRID.toml",
                    help="swept parameters in a TOML file: a [params] table of NAME = [V1, "
                         "V2, ...] (docs/tuning.md); combined with --param")
    sw.add_argument("--workers", type=int, default=None, metavar="N",
                    help="processes (default: all cores; 1 runs in this process); with --ray "
                         "and no address, the CPUs of the local Ray cluster")
    sw.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                    help="run the replays as Ray tasks: on the cluster at ADDRESS (HOST:PORT, "
                         "ray://HOST:PORT or auto), or on a local Ray cluster started for the "
                         "sweep when no address is given (needs pip install "
                         "'turnengine[ray]'; docs/scaling.md)")
    sw.add_argument("-o", "--outdir", default="sweep-out", metavar="OUTDIR",
                    help="output folder (default ./sweep-out)")
    sw.add_argument("--latency-budget", type=float, default=0.5, metavar="S",
                    help="response latency budget of the recommendation in s (default 0.5)")
    sw.add_argument("--no-cache", action="store_true", help="replay every pair again")
    sw.add_argument("--json", action="store_true",
                    help="print the per-configuration table as one JSON document")
    sw.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_engine_flags(sw)
    add_option_flags(sw)


def _outdir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CLIError(f"OUTDIR {out} is a file; give a folder", EXIT_USAGE)
    if not out.exists() and not out.parent.is_dir():
        raise CLIError(f"cannot create OUTDIR {out}: no such directory {out.parent}",
                       EXIT_USAGE)
    return out


def _configs(args: argparse.Namespace) -> list[Any]:
    from ..eval.sweep import sweep_configs

    axes = []
    if args.grid is not None:
        from .grid_file import load_grid

        axes = load_grid(args.grid)
        for axis in axes:
            if option_given(args, axis.name):
                raise CLIError(f"--grid {args.grid}: {axis.name} conflicts with "
                               f"--{axis.name.replace('_', '-')}; give it in one place",
                               EXIT_USAGE)
    params = parse_sweeps(args.param, args, flag="--param")
    both = sorted({a.name for a in axes} & {a.name for a in params})
    if both:
        raise CLIError(f"--param {both[0]} is also in --grid {args.grid}; give it in one place",
                       EXIT_USAGE)
    axes += params
    try:
        return sweep_configs(axes, options_from_args(args).to_dict(), args.turn_detector)
    except ValueError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None


def cmd_sweep(args: argparse.Namespace) -> int:
    """``turnengine sweep``: the sweep, its files in OUTDIR, the summary path and the speed."""
    from ..sweep import ReplaySettings, load_calls, run_sweep_archive
    from ..sweep.ray_executor import RayUnavailable

    configs = _configs(args)
    workers, ray = _executor(args)
    if not args.latency_budget > 0:
        raise CLIError(f"--latency-budget must be > 0, got {args.latency_budget}", EXIT_USAGE)
    out = _outdir(args.outdir)
    try:
        calls = load_calls(args.source)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    settings = ReplaySettings(args.vad, args.model_path, option_overrides(args))
    n = len(calls) * len(configs)
    bar = (StderrProgress(n, "sweep", unit=" pairs")
           if not args.quiet and StderrProgress.wanted() else None)
    done = [0]

    def on_pair(call: Any, config: Any, record: dict[str, Any]) -> None:
        done[0] += 1
        if bar is not None:
            bar.update(done[0], call.name)
        if record["error"] and not args.quiet:
            line = f"turnengine: warning: {call.name} [{config.label}]: {record['error']}"
            (bar.console.print if bar is not None else _stderr)(line)

    with bar if bar is not None else contextlib.nullcontext():
        try:
            outcome = run_sweep_archive(calls, configs, out, settings=settings, workers=workers,
                                        ray=ray, latency_budget_s=args.latency_budget,
                                        use_cache=not args.no_cache,
                                        title=f"turnengine sweep {args.source}",
                                        on_pair=on_pair)
        except RayUnavailable as exc:
            raise CLIError(str(exc)) from None
    _report(args, outcome, _executor_label(args, workers))
    return 0


def _executor(args: argparse.Namespace) -> tuple[int, Any]:
    """``(workers, RayOptions or None)`` from ``--workers`` and ``--ray``."""
    from ..sweep import default_workers
    from ..sweep.ray_executor import RayOptions

    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be >= 1, got {args.workers}", EXIT_USAGE)
    if args.ray is None:
        return (default_workers() if args.workers is None else args.workers), None
    if args.ray and args.workers is not None:
        raise CLIError("--workers sizes a local Ray cluster; with --ray ADDRESS the sweep uses "
                       "the cluster's CPUs", EXIT_USAGE)
    return 1, RayOptions(address=args.ray or None, num_cpus=args.workers)


def _executor_label(args: argparse.Namespace, workers: int) -> str:
    from ..sweep import default_workers

    if args.ray is None:
        return f"{workers} worker(s)"
    if args.ray:
        return f"Ray cluster at {args.ray}"
    return f"local Ray cluster, {args.workers or default_workers()} CPUs"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _report(args: argparse.Namespace, outcome: Any, executor: str) -> None:
    tables, stats = outcome.tables, outcome.stats
    if args.json:
        print(json.dumps({"trade_off": list(tables.trade_off), "pareto": tables.pareto,
                          "recommended": tables.recommended, "configs": tables.config_rows,
                          "pairs": {"n_pairs": stats.n_pairs, "n_replayed": stats.n_replayed,
                                    "n_cached": stats.n_cached,
                                    "n_unreadable": stats.n_unreadable}}))
    else:
        from ..sweep.report import format_summary

        print(format_summary(tables, f"turnengine sweep {args.source}"), end="")
    if not args.quiet:
        speed = outcome.audio_s / max(outcome.wall_s, 1e-9)
        _stderr(f"# {stats.n_pairs} pairs ({len(outcome.calls)} calls x "
                f"{len(tables.config_rows)} configurations): {stats.n_replayed} replayed, "
                f"{stats.n_cached} cached, {stats.n_unreadable} unreadable; "
                f"{outcome.audio_s:.1f} s of audio in {outcome.wall_s:.2f} s "
                f"({speed:.0f}x real time, {executor}); wrote {args.outdir}")
