"""Stdout whose reader may go away (``turnengine run --report R.json | head``).

Python ignores SIGPIPE, so a write to a closed pipe raises :class:`BrokenPipeError`, at the
write itself or at a later flush (stdout to a pipe is block-buffered unless
``PYTHONUNBUFFERED`` is set).  A closed stdout is not an error: output stops, work the user
asked for besides printing (a report file) is still done, and the command exits 0 quietly.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def silence_stdout() -> None:
    """Point stdout's file descriptor at the null device, so that later writes and Python's
    last flush at exit go nowhere instead of raising ``BrokenPipeError`` again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (captured in tests)
        pass


def flush_stdout() -> None:
    """Flush stdout; a reader that went away is not an error (see the module docstring)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


class Printer:
    """Print lines until stdout's reader goes away, then print nothing more.

    Parameters
    ----------
    keep_going : bool
        True when the command has more to do than print (``--report``): a closed stdout then
        only stops the printing.  False: ``BrokenPipeError`` propagates and ends the command
        early (``turnengine run long.wav | head`` does not replay the whole file); the entry
        point exits 0.
    """

    def __init__(self, keep_going: bool) -> None:
        self.keep_going = keep_going
        self.closed = False

    def print(self, line: str, file: Any = None, flush: bool = False) -> None:
        if self.closed:
            return
        try:
            print(line, file=sys.stdout if file is None else file, flush=flush)
        except BrokenPipeError:
            silence_stdout()
            if not self.keep_going:
                raise
            self.closed = True
