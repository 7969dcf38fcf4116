"""What the commands share: one-line errors with an exit code, the engine options as flags,
checked output paths and model files, the bundled demo clip and ``--scenario`` loading."""

from __future__ import annotations

import argparse
import importlib.resources
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...options import TurnEngineOptions
from ...scenario import Scenario

# One exit-code scheme for every command (README "Command line", ``--help`` epilog).
EXIT_OK = 0
"""Done; also when the reader of stdout went away early (``turnengine run | head``)."""
EXIT_INPUT = 1
"""An input could not be used: a file (audio, scenario, labels, model, directory) missing,
unreadable or invalid, no microphone, or a failure while processing."""
EXIT_USAGE = 2
"""The command line is wrong: unknown command or flag, a bad flag value (``--min-endpointing-delay
abc``), values that contradict, an output path that cannot be written."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C."""

EXIT_CODES_HELP = ("exit status: 0 done (also when a reader such as `head` closes stdout early); "
                   "1 an input could not be used (a missing, unreadable or invalid audio, "
                   "scenario, label or model file; no microphone) or processing failed; 2 a bad "
                   "command line (unknown flag, bad value, unwritable output path); 130 "
                   "interrupted (Ctrl-C). Errors are one line on stderr.")

VAD_CHOICES = ("silero", "silero-onnx", "energy")

BUNDLED_CLIP_NAME = "composed_dialogue.wav"


class CLIError(Exception):
    """An error reported as one line with the given exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def bundled_clip() -> Path:
    """Path of the bundled demo clip (installed as package data, or the source checkout's)."""
    package = importlib.resources.files("turnengine")
    packaged = package.joinpath(f"data/{BUNDLED_CLIP_NAME}")
    if packaged.is_file():
        return Path(str(packaged))
    source = Path(str(package)).resolve().parent / "examples" / "audio" / BUNDLED_CLIP_NAME
    if source.is_file():
        return source
    raise CLIError(f"bundled clip {BUNDLED_CLIP_NAME} is missing from this installation; pass "
                   "an audio FILE")


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _option_type(kind: str, optional: bool) -> Any:
    parsers: dict[str, Callable[[str], Any]] = {"bool": _parse_bool, "int": int, "float": float,
                                                "str": str}
    base = parsers[kind]

    def parse(text: str) -> Any:
        if optional and text.lower() in ("none", "off", "null"):
            return None
        try:
            return base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind}, got {text!r}") from None

    parse.__name__ = kind
    return parse


def _parse_turn_detector(text: str) -> str | None:
    low = text.lower()
    if low in ("none", "off", "null"):
        return None
    if low == "smart-turn":
        return "smart-turn"
    raise argparse.ArgumentTypeError(f"expected smart-turn or none, got {text!r}")


def option_converter(name: str) -> Callable[[str], Any]:
    """The converter ``--<option-name>`` applies to its value, for an option ``name``.

    ``turn_detector`` converts ``smart-turn`` or ``none``.  Each converter raises
    ``argparse.ArgumentTypeError`` with a one-line message for a bad value.

    Raises
    ------
    KeyError
        If ``name`` is neither a :class:`TurnEngineOptions` field nor ``turn_detector``.
    """
    if name == "turn_detector":
        return _parse_turn_detector
    for spec in TurnEngineOptions.describe():
        if spec["name"] == name:
            return _option_type(spec["type"], spec["optional"])  # type: ignore[no-any-return]
    raise KeyError(name)


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """Add one ``--option-name VALUE`` flag per :class:`TurnEngineOptions` field."""
    group = parser.add_argument_group("engine options (SPEC names; seconds unless noted)")
    for spec in TurnEngineOptions.describe():
        flag = "--" + spec["name"].replace("_", "-")
        unit = f" [{spec['unit']}]" if spec["unit"] else ""
        none = " ('none' disables)" if spec["optional"] else ""
        group.add_argument(flag, dest=f"opt_{spec['name']}", metavar="VALUE",
                           type=option_converter(spec["name"]),
                           default=argparse.SUPPRESS,
                           help=f"{spec['help']}{unit}; default {spec['default']}{none}")


def add_engine_flags(p: Any) -> None:
    """--vad, --model-path and --turn-detector, the same on every command that builds engines."""
    p.add_argument("--vad", default="silero", choices=VAD_CHOICES,
                   help="VAD backend: silero (default, native kernel), silero-onnx, energy")
    p.add_argument("--model-path", default=None,
                   help="silero_vad.onnx to use instead of the packaged one")
    p.add_argument("--turn-detector", default=None, choices=["smart-turn"],
                   help="end-of-turn model (default: none, the fixed delay); needs "
                        "pip install \"turnengine[smart-turn]\"")


def check_model_path(model_path: str | None, vad: str) -> None:
    """Load ``--model-path`` once before any work, so a missing, unreadable or garbage model
    file is one line (exit 1), not a traceback from onnxruntime halfway through."""
    if model_path is None:
        return
    if vad == "energy":
        raise CLIError("--model-path is for the Silero VADs; --vad energy takes no model file",
                       EXIT_USAGE)
    path = Path(model_path)
    if not path.exists():
        raise CLIError(f"no such model file: {path}")
    if path.is_dir():
        raise CLIError(f"model file {path} is a directory")
    from ...vad import load_vad

    try:
        with open(path, "rb"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the engine warns again if it falls back
            load_vad(vad, 16000, path).probabilities(np.zeros(1024, np.float32))
    except OSError as exc:
        raise CLIError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # onnx/onnxruntime parse errors have no common base class
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"{path} is not a Silero VAD ONNX model ({type(exc).__name__}: "
                       f"{reason[:200]})") from None


def options_from_args(args: argparse.Namespace) -> TurnEngineOptions:
    """Build validated options from the parsed ``--option-name`` flags."""
    values = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}
    try:
        return TurnEngineOptions(**values)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None


def writable_output(path: str | None, what: str, suffix: str | None = None) -> Path | None:
    """Check before any work is done that ``path`` can be written (one-line error if not)."""
    if path is None:
        return None
    out = Path(path)
    if suffix and not out.suffix:
        out = out.with_suffix(suffix)
    if out.is_dir():
        raise CLIError(f"{what} {out} is a directory; give a file name", EXIT_USAGE)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"cannot write {what} {out}: no such directory {parent}", EXIT_USAGE)
    if not os.access(parent, os.W_OK):
        raise CLIError(f"cannot write {what} {out}: directory {parent} is not writable",
                       EXIT_USAGE)
    return out


def option_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Only the ``--option-name`` flags actually given (they override a scenario's options)."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}


def scenario_options(args: argparse.Namespace, scenario: Any) -> TurnEngineOptions:
    """The scenario's options with the given flags on top (validated, one-line errors)."""
    values = dict(scenario.options) if scenario is not None else {}
    values.update(option_overrides(args))
    try:
        return TurnEngineOptions(**values)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None


def load_scenario(args: argparse.Namespace) -> tuple[Any, TurnEngineOptions]:
    """``--scenario`` (or None) and the engine options: its options with the flags on top."""
    scenario = None
    if args.scenario:
        try:
            scenario = Scenario.load(args.scenario)
        except (FileNotFoundError, ValueError) as exc:
            raise CLIError(str(exc)) from None
    return scenario, scenario_options(args, scenario)
