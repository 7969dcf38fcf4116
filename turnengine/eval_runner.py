"""Run the engine over a directory of labelled clips and score it (``turnengine eval``): moved
to :mod:`turnengine.tools.eval.runner`, re-exported here."""

from __future__ import annotations

from .tools.eval import runner as _home
from .tools.eval.runner import *  # noqa: F403

__all__ = _home.__all__
