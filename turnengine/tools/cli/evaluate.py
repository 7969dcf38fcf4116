"""``turnengine eval``: one configuration (SPEC 11 table and eot-bench figures), or a sweep
(``--sweep NAME=V1,V2,...``: eot-bench figures per configuration and the headline operating
points), and ``--curve OUT.png``; an echo set (label files with ``agent_speech``,
``barge_ins`` and ``scenario``) gets the echo metric instead (:mod:`..eval.echo`).

The tools are imported when the command runs, so ``turnengine --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .args import EXIT_USAGE, CLIError, option_converter, options_from_args, writable_output
from .progress import StderrProgress

__all__ = ["cmd_eval", "parse_sweeps"]


def option_given(args: argparse.Namespace, name: str) -> bool:
    """Whether the swept ``name`` was also given as its own flag (``--turn-detector`` or
    ``--<option-name>``)."""
    if name == "turn_detector":
        return args.turn_detector is not None
    return hasattr(args, "opt_" + name)


def parse_sweeps(specs: list[str] | None, args: argparse.Namespace,
                 flag: str = "--sweep") -> list[Any]:
    """The ``--sweep NAME=V1,V2,...`` flags (``turnengine sweep``: ``--param``) as
    :class:`~turnengine.tools.eval.grid.SweepAxis`.

    ``NAME`` is a :class:`~turnengine.options.TurnEngineOptions` field or ``turn_detector``
    (dashes allowed for underscores); each value goes through the converter of
    ``--<option-name>`` (:func:`.args.option_converter`).

    Raises
    ------
    CLIError
        With `EXIT_USAGE`, one line: no ``=``, an unknown name, an empty or bad value, a name
        swept twice, or a name also given as its own flag.
    """
    from ..eval.grid import SweepAxis

    axes: list[SweepAxis] = []
    for spec in specs or []:
        name, sep, raw = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise CLIError(f"{flag} {spec!r}: expected NAME=V1,V2,...", EXIT_USAGE)
        try:
            convert = option_converter(name)
        except KeyError:
            command = getattr(args, "command", None) or "eval"
            raise CLIError(f"{flag}: unknown name {name!r}; expected a TurnEngineOptions field "
                           f"(the engine options of 'turnengine {command} --help', underscores "
                           "for dashes) or turn_detector", EXIT_USAGE) from None
        items = [v.strip() for v in raw.split(",")]
        if not all(items):
            raise CLIError(f"{flag} {name}: expected comma-separated values, got {raw!r}",
                           EXIT_USAGE)
        try:
            values = tuple(convert(v) for v in items)
        except argparse.ArgumentTypeError as exc:
            raise CLIError(f"{flag} {name}: {exc}", EXIT_USAGE) from None
        if option_given(args, name):
            raise CLIError(f"{flag} {name} conflicts with --{name.replace('_', '-')}; give it "
                           "in one place", EXIT_USAGE)
        if any(a.name == name for a in axes):
            raise CLIError(f"{flag} {name} is given twice; put all its values in one {flag}",
                           EXIT_USAGE)
        axes.append(SweepAxis(name, values))
    return axes


def _clip_progress(n: int, args: argparse.Namespace) -> tuple[Any, Callable[[Any], None]]:
    """A progress bar (stderr a terminal) or per-clip lines on stderr (not ``--quiet``)."""
    done = [0]
    bar = (StderrProgress(n, "eval", unit=" clips")
           if not args.quiet and StderrProgress.wanted() else None)

    def progress(score: Any) -> None:
        done[0] += 1
        line = f"[{done[0]}/{n}] {score.clip}: F1 {score.frames.f1:.3f}"
        if bar is not None:
            bar.console.print(line, markup=False, highlight=False)
            bar.update(done[0], score.clip)
        elif not args.quiet and not args.sweep:
            print(line, file=sys.stderr)

    return bar, progress


def cmd_eval(args: argparse.Namespace) -> int:
    """``turnengine eval``: score every labelled clip of a directory, per clip and pooled; with
    ``--sweep``, every configuration of the grid."""
    from ..eval.echo_runner import is_echo_set
    from ..eval.grid import SweepAxis
    from ..eval.runner import labelled_clips
    from ..eval.sweep import run_sweep, sweep_configs
    from ..eval.tables import format_eotbench, format_sweep, format_table

    options = options_from_args(args)
    axes: list[SweepAxis] = parse_sweeps(args.sweep, args)
    curve = writable_output(args.curve, "curve", ".png")
    try:
        configs = sweep_configs(axes, options.to_dict(), args.turn_detector)
    except ValueError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    try:
        pairs = labelled_clips(args.directory)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    if is_echo_set(pairs):
        return _eval_echo(args, options, axes, curve, len(pairs))
    n = len(pairs)
    bar, progress = _clip_progress(n * len(configs), args)

    def config_done(i: int, run: Any) -> None:
        if axes and not args.quiet and bar is None:
            print(f"[{i + 1}/{len(configs)}] {run.config.label}: "
                  f"{format_eotbench(run.eotbench)}", file=sys.stderr)

    try:
        with bar if bar is not None else contextlib.nullcontext():
            result = run_sweep(args.directory, configs, axes, vad=args.vad,
                               model_path=args.model_path, sample_rate=args.sample_rate,
                               on_config=config_done, on_clip=progress)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    one = result.runs[0].result
    if args.json:
        print(json.dumps(result.to_dict() if axes else one.to_dict()))
    elif axes:
        print(f"# eot-bench sweep over {args.directory}: {len(configs)} configurations x {n} "
              f"clips, vad={args.vad}")
        print(format_sweep([(r.config.label, r.eotbench) for r in result.runs],
                           result.headline), end="")
    else:
        print(format_table([*one.clips, one.pooled]))
        assert one.eotbench is not None
        print(format_eotbench(one.eotbench))
    if curve is not None:
        _write_curve(result, curve, f"{Path(args.directory).name}: vad={args.vad}")
    return 0


def _eval_echo(args: argparse.Namespace, options: Any, axes: list[Any], curve: Path | None,
               n: int) -> int:
    """An echo set (``../shared/audio/echo``): its own metric, overall and per echo level."""
    from ..eval.echo_report import format_echo_table
    from ..eval.echo_runner import evaluate_echo_directory

    if axes or curve is not None:
        raise CLIError(f"{args.directory} is an echo set: --sweep and --curve do not apply "
                       "to it", EXIT_USAGE)
    done = [0]

    def progress(score: Any) -> None:
        done[0] += 1
        if not args.quiet:
            print(f"[{done[0]}/{n}] {score.clip}: {score.n_false} false, "
                  f"{score.n_hits}/{score.n_barge_ins} barge-ins", file=sys.stderr)

    try:
        result = evaluate_echo_directory(args.directory, vad=args.vad, options=options,
                                         model_path=args.model_path,
                                         turn_detector=args.turn_detector,
                                         sample_rate=args.sample_rate, on_clip=progress,
                                         use_playout=not args.no_playout,
                                         echo_canceller=args.echo_canceller)
    except (FileNotFoundError, ValueError, TypeError, ImportError) as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        reference = ("no far-end reference" if args.no_playout else
                     f"playout reference through {args.echo_canceller}")
        warm = options.aec_warmup_duration
        print(f"# echo set {args.directory}: {n} samples, vad={args.vad}, {reference}, "
              f"aec_warmup_duration={'off' if warm is None else f'{warm:g} s'}")
        print(format_echo_table(result), end="")
    return 0


def _write_curve(result: Any, out: Path, title: str) -> None:
    from ..eval.curve import write_curve

    try:
        write_curve(result, out, title=title)
    except OSError as exc:
        raise CLIError(f"cannot write curve {out}: {exc}") from None
    print(f"# wrote {out}", file=sys.stderr)
