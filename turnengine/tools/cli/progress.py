"""Progress bars on stderr for long ``run`` replays and for ``eval`` (rich, terminals only)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LONG_RUN_S = 60.0
"""``turnengine run`` shows a progress bar for files longer than this (s of audio)."""


class StderrProgress:
    """A rich progress bar on stderr; build it only when stderr is a terminal.

    ``stdout()`` gives a stream for the command's own output that prints above the bar when
    stdout is the same terminal (so the two do not garble each other), else stdout itself.
    """

    def __init__(self, total: float, description: str, unit: str = "") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.total = total
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  TextColumn("{task.completed:.0f}/{task.total:.0f}" + unit),
                                  TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
                                  console=self.console, transient=True, redirect_stdout=False,
                                  redirect_stderr=False)
        self._task = self._progress.add_task(description, total=total, note="")

    @staticmethod
    def wanted() -> bool:
        return sys.stderr.isatty()

    def update(self, completed: float, note: str | None = None) -> None:
        self._progress.update(self._task, completed=min(completed, self.total))
        if note is not None:
            self._progress.update(self._task, note=note)

    def follow(self, show: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        """Wrap a replay's ``on_events``: also move the bar to the last event's time."""
        def on_events(events: list[Any]) -> None:
            show(events)
            self.update(events[-1].stream_time)

        return on_events

    def stdout(self) -> Any:
        if not sys.stdout.isatty():
            return sys.stdout
        from rich.file_proxy import FileProxy

        return FileProxy(self.console, sys.stdout)

    def __enter__(self) -> StderrProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def long_run_progress(path: Path, args: argparse.Namespace) -> StderrProgress | None:
    """A progress bar for ``run`` on files over :data:`LONG_RUN_S` (not --json, stderr a TTY)."""
    if args.json or not StderrProgress.wanted():
        return None
    try:
        import soundfile as sf

        duration = float(sf.info(str(path)).duration)
    except Exception:  # not audio: replay_file reports it properly
        return None
    return StderrProgress(duration, path.name, unit=" s") if duration > LONG_RUN_S else None
