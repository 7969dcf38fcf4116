"""The ``turnengine`` command line (SPEC 10).

``turnengine run [FILE] [--json] [--vad NAME] [--<option-name> VALUE ...]`` replays an audio file
through the engine and prints the events: JSON lines with ``--json`` (``type``, ``stream_time``,
``created_at``, fields), otherwise a readable timeline.  Without FILE it runs on the real speech
clip bundled in ``examples/audio/``.  Every engine option is a flag, underscores as dashes.
Errors print one line on stderr and exit non-zero, with no traceback.

Modules: :mod:`.args` (shared flags, errors, paths), :mod:`.parser` (the argument parser),
:mod:`.commands` (one function per command), :mod:`.evaluate` (``eval`` and its ``--sweep``),
:mod:`.sweep` (``sweep`` over call archives), :mod:`.progress` (progress bars), :mod:`.main`
(the entry point).
"""

from __future__ import annotations

from .args import (
    BUNDLED_CLIP_NAME,
    EXIT_INPUT,
    EXIT_USAGE,
    CLIError,
    add_engine_flags,
    add_option_flags,
    bundled_clip,
    load_scenario,
    option_overrides,
    options_from_args,
    scenario_options,
    writable_output,
)
from .commands import cmd_bench, cmd_mic, cmd_plot, cmd_run
from .evaluate import cmd_eval
from .main import main
from .parser import build_parser
from .progress import LONG_RUN_S

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
