"""The ``turnengine`` command line: moved to :mod:`turnengine.tools.cli`.

This module re-exports it, so ``turnengine.cli.main`` and ``python -m turnengine.cli`` keep
working.
"""

from __future__ import annotations

import sys

from .tools.cli import (
    BUNDLED_CLIP_NAME,
    EXIT_INPUT,
    EXIT_USAGE,
    LONG_RUN_S,
    CLIError,
    add_engine_flags,
    add_option_flags,
    build_parser,
    bundled_clip,
    cmd_bench,
    cmd_eval,
    cmd_mic,
    cmd_plot,
    cmd_run,
    load_scenario,
    main,
    option_overrides,
    options_from_args,
    scenario_options,
    writable_output,
)

__all__ = [
    "BUNDLED_CLIP_NAME",
    "EXIT_INPUT",
    "EXIT_USAGE",
    "LONG_RUN_S",
    "CLIError",
    "add_engine_flags",
    "add_option_flags",
    "build_parser",
    "bundled_clip",
    "cmd_bench",
    "cmd_eval",
    "cmd_mic",
    "cmd_plot",
    "cmd_run",
    "load_scenario",
    "main",
    "option_overrides",
    "options_from_args",
    "scenario_options",
    "writable_output",
]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
