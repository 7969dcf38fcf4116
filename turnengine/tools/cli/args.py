"""What the commands share: one-line errors with an exit code, the engine options as flags,
checked output paths, the bundled demo clip and ``--scenario`` loading."""

from __future__ import annotations

import argparse
import importlib.resources
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...options import TurnEngineOptions
from ...scenario import Scenario

EXIT_USAGE = 2
EXIT_INPUT = 1

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
    p.add_argument("--vad", default="silero",
                   help="VAD backend: silero (default, native kernel), silero-onnx, energy")
    p.add_argument("--model-path", default=None,
                   help="silero_vad.onnx to use instead of the packaged one")
    p.add_argument("--turn-detector", default=None, choices=["smart-turn"],
                   help="end-of-turn model (default: none, the fixed delay); needs "
                        "pip install \"turnengine[smart-turn]\"")


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
