"""Live microphone session (``turnengine mic``): moved to :mod:`turnengine.tools.mic`.

This module re-exports it, so ``turnengine.mic.MicSession`` and the other names keep working.
"""

from __future__ import annotations

from .tools import mic as _home
from .tools.mic import *  # noqa: F403

__all__ = _home.__all__
