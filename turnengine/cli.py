"""The ``turnengine`` command line: moved to :mod:`turnengine.tools.cli`.

This module re-exports it, so ``turnengine.cli.main`` and ``python -m turnengine.cli`` keep
working.
"""

from __future__ import annotations

import sys

from .tools import cli as _home
from .tools.cli import *  # noqa: F403

__all__ = _home.__all__

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())  # noqa: F405
