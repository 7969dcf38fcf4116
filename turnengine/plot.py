"""Session timeline plots (``turnengine plot``): moved to :mod:`turnengine.tools.plot`.

This module re-exports it, so ``turnengine.plot.plot_file`` and the other names keep working.
"""

from __future__ import annotations

from .tools import plot as _home
from .tools.plot import *  # noqa: F403

__all__ = _home.__all__
