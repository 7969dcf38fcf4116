"""Entry point of the ``turnengine`` script: parse, dispatch, one-line errors, exit codes.

Exit codes (:mod:`.args`): 0 done, 1 an input could not be used or processing failed, 2 a bad
command line, 130 Ctrl-C.  No error prints a traceback unless ``TURNENGINE_TRACEBACK=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from .args import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CLIError, check_model_path
from .commands import cmd_bench, cmd_mic, cmd_plot, cmd_run
from .evaluate import cmd_eval
from .output import flush_stdout, silence_stdout
from .parser import build_parser
from .sweep import cmd_sweep

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run, "eval": cmd_eval, "bench": cmd_bench, "mic": cmd_mic, "plot": cmd_plot,
    "sweep": cmd_sweep}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turnengine`` script; returns the exit code."""
    import warnings

    def one_line(message: Any, category: Any, filename: str, lineno: int,
                 file: Any = None, line: Any = None) -> None:
        print(f"turnengine: warning: {message}", file=sys.stderr)

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
        check_model_path(getattr(args, "model_path", None), getattr(args, "vad", "silero"))
        code = command(args)
        flush_stdout()
        return code
    except CLIError as exc:
        return _error(str(exc), exc.code)
    except KeyboardInterrupt:
        print("turnengine: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout's reader went away (| head): not an error
        silence_stdout()
        return EXIT_OK
    except OSError as exc:  # PermissionError, IsADirectoryError, ... on an input file
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}", EXIT_INPUT)
    except RecursionError:
        return _error("input nested too deeply to process", EXIT_INPUT)
    except MemoryError:
        return _error("out of memory (is an input far larger than it should be?)", EXIT_INPUT)
    except Exception as exc:
        if os.environ.get("TURNENGINE_TRACEBACK"):
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _error(f"{type(exc).__name__}: {text} (TURNENGINE_TRACEBACK=1 shows where)",
                      EXIT_INPUT)


def _error(message: str, code: int) -> int:
    print(f"turnengine: error: {message}", file=sys.stderr)
    return code
