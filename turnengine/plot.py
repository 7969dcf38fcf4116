"""Session timeline plots (``turnengine plot``): moved to :mod:`turnengine.tools.plot`.

This module re-exports it, so ``turnengine.plot.plot_file`` and the other names keep working.
"""

from __future__ import annotations

from .tools.plot import PlotResult, Timeline, TurnMark, build_timeline, draw_timeline, plot_file

__all__ = [
    "TurnMark",
    "Timeline",
    "PlotResult",
    "build_timeline",
    "draw_timeline",
    "plot_file",
]
