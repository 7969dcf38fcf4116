"""Score engine output against timing labels (SPEC section 11): moved to
:mod:`turnengine.tools.eval` (one module per concern).

This module re-exports the scorers, so ``turnengine.evaluation`` keeps importing what it did.
"""

from __future__ import annotations

from .tools import eval as _home
from .tools.eval import *  # noqa: F403

__all__ = _home.__all__
