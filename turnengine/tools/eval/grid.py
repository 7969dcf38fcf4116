"""Swept parameters and their grid (pure; :mod:`.sweep` runs it): axes, the cartesian product,
and how a configuration is named."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SweepAxis", "config_label", "format_value", "sweep_grid"]


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter: its name and the values to try, in order."""

    name: str
    values: tuple[Any, ...]


def format_value(value: Any) -> str:
    """A parameter value as the CLI would take it: ``none``, ``true``/``false``, ``0.5``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_label(params: Mapping[str, Any]) -> str:
    """``name=value, ...`` of a configuration (``defaults`` when it sets nothing)."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items()) or "defaults"


def sweep_grid(axes: Sequence[SweepAxis]) -> list[dict[str, Any]]:
    """The cartesian product of the axes' values, one dict per configuration.

    Parameters
    ----------
    axes : sequence of SweepAxis
        Distinct names, at least one value each; no axes gives one empty configuration.

    Returns
    -------
    list of dict
        ``{name: value}`` in axis order; the first axis varies slowest.

    Raises
    ------
    ValueError
        If a name appears twice or an axis has no value.
    """
    seen: set[str] = set()
    for axis in axes:
        if axis.name in seen:
            raise ValueError(f"{axis.name} is swept twice; give all its values in one --sweep")
        if not axis.values:
            raise ValueError(f"{axis.name}: expected at least one value")
        seen.add(axis.name)
    return [dict(zip([a.name for a in axes], combo, strict=True))
            for combo in itertools.product(*(a.values for a in axes))]
