"""``turnengine sweep --grid GRID.toml``: the swept parameters in a TOML file.

The file has one table, ``[params]``; each key is a swept name (a
:class:`~turnengine.options.TurnEngineOptions` field or ``turn_detector``, dashes allowed for
underscores) and its value the list of values to try, or one value (an axis of one)::

    # grid.toml
    [params]
    min_endpointing_delay = [0.3, 0.5, 0.8]
    max_endpointing_delay = [3.0, 6.0]
    turn_detector = ["none", "smart-turn"]
    min_interruption_duration = 0.5

Each value goes through the converter of its ``--<option-name>`` flag, as ``--param`` values
do (``"none"`` disables an optional option; numbers and booleans may be written as TOML
numbers and booleans or as the strings the flag takes).  The file's axes come first, in file
order, then the ``--param`` axes; a name in both is refused.  Read with :mod:`tomllib`
(``tomli`` on Python 3.10).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .args import EXIT_USAGE, CLIError, option_converter

__all__ = ["load_grid"]


def _toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise CLIError(f"--grid {path}: no such file", EXIT_USAGE) from None
    except OSError as exc:
        raise CLIError(f"--grid {path}: cannot read it ({exc.strerror})", EXIT_USAGE) from None
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"--grid {path}: not TOML ({exc})", EXIT_USAGE) from None


def _value(path: Path, name: str, raw: Any) -> Any:
    """One value through the flag's converter (TOML numbers and booleans as the CLI writes
    them)."""
    from ..eval.grid import format_value

    if isinstance(raw, (dict, list)):
        raise CLIError(f"--grid {path}: {name}: expected a number, boolean or string, got "
                       f"{type(raw).__name__}", EXIT_USAGE)
    text = raw if isinstance(raw, str) else format_value(raw)
    try:
        return option_converter(name)(text)
    except argparse.ArgumentTypeError as exc:
        raise CLIError(f"--grid {path}: {name}: {exc}", EXIT_USAGE) from None


def load_grid(path: str | Path) -> list[Any]:
    """The axes (:class:`~turnengine.tools.eval.grid.SweepAxis`) of a grid file.

    Raises
    ------
    CLIError
        With `EXIT_USAGE`, one line naming the file: missing or not TOML, no ``[params]``
        table or another top-level key, an unknown name, an empty list, a bad value.
    """
    from ..eval.grid import SweepAxis

    file = Path(path)
    doc = _toml(file)
    extra = sorted(set(doc) - {"params"})
    if extra or not isinstance(doc.get("params"), dict) or not doc["params"]:
        raise CLIError(f"--grid {file}: expected one [params] table of NAME = [V1, V2, ...], "
                       f"got {'keys ' + ', '.join(extra) if extra else 'no [params]'}",
                       EXIT_USAGE)
    axes: list[SweepAxis] = []
    for key, raw in doc["params"].items():
        name = key.strip().replace("-", "_")
        try:
            option_converter(name)
        except KeyError:
            raise CLIError(f"--grid {file}: unknown name {key!r}; expected a TurnEngineOptions "
                           "field (docs/options.md) or turn_detector", EXIT_USAGE) from None
        if any(a.name == name for a in axes):
            raise CLIError(f"--grid {file}: {name} is given twice", EXIT_USAGE)
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise CLIError(f"--grid {file}: {name}: expected at least one value", EXIT_USAGE)
        axes.append(SweepAxis(name, tuple(_value(file, name, v) for v in items)))
    return axes
