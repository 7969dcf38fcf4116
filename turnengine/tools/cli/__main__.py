"""``python -m turnengine.tools.cli``: the ``turnengine`` script."""

import sys

from .main import main

sys.exit(main())
