"""Entry point of the ``turnengine`` script: parse, dispatch, one-line errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .args import EXIT_USAGE, CLIError
from .commands import cmd_bench, cmd_mic, cmd_plot, cmd_run
from .evaluate import cmd_eval
from .parser import build_parser

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run, "eval": cmd_eval, "bench": cmd_bench, "mic": cmd_mic, "plot": cmd_plot}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turnengine`` script; returns the exit code."""
    import warnings

    def one_line(message: Any, category: Any, filename: str, lineno: int,
                 file: Any = None, line: Any = None) -> None:
        print(f"turnengine: note: {message}", file=sys.stderr)

    warnings.showwarning = one_line
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    command = COMMANDS.get(args.command)
    if command is None:  # pragma: no cover
        parser.error(f"unknown command {args.command}")
    try:
        return command(args)
    except CLIError as exc:
        print(f"turnengine: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("turnengine: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
