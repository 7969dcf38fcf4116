"""Operating points of a sweep: the Pareto frontier and eot-bench's four headline figures.

A sweep gives one point per configuration: its false cut-off rate and its mean eot latency.
eot-bench (github.com/livekit/eot-bench, Apache-2.0; ``eot_harness/metrics.py``) reads its
headline figures off such a grid **without interpolating**:

* **FC @ budget latency** (300 ms, 600 ms) -- the lowest false cut-off rate among the
  configurations whose mean latency is at most the budget;
* **latency @ budget FC** (5 %, 10 %) -- the lowest mean latency among the configurations whose
  false cut-off rate is at most the budget;
* no configuration within the budget -> no figure (``None``, printed ``n/a``; eot-bench's
  ``-``).

Both are read off the Pareto frontier (`pareto_front`): between two measured configurations
the figure is the one of the better-placed configuration, a step, never a straight line, since
the configurations in between were not measured.  Comparisons allow ``EPS`` of rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .segments import EPS

__all__ = [
    "FC_BUDGETS",
    "LATENCY_BUDGETS_S",
    "Headline",
    "OperatingPoint",
    "fc_at_latency",
    "headline",
    "latency_at_fc",
    "pareto_front",
]

LATENCY_BUDGETS_S = (0.3, 0.6)
"""Latency budgets of the headline false cut-off figures (s), as eot-bench."""

FC_BUDGETS = (0.05, 0.10)
"""False cut-off budgets of the headline latency figures (fractions), as eot-bench."""

Point = tuple[float | None, float | None]
"""``(fc_rate, mean_latency_s)`` of one configuration; ``None`` where it has no figure."""


@dataclass(frozen=True)
class OperatingPoint:
    """A headline figure and the configuration it comes from.

    Attributes
    ----------
    budget : float
        The budget: a latency in s, or a false cut-off rate in [0, 1].
    value : float or None
        The figure (false cut-off rate, or mean latency in s); ``None`` when no configuration
        meets the budget.
    index : int or None
        Index of that configuration in the points given.
    """

    budget: float
    value: float | None
    index: int | None

    def to_dict(self) -> dict[str, Any]:
        """``budget``, ``value`` and ``index``."""
        return {"budget": self.budget, "value": self.value, "index": self.index}


def _usable(points: Sequence[Point]) -> list[tuple[int, float, float]]:
    return [(i, float(fc), float(lat)) for i, (fc, lat) in enumerate(points)
            if fc is not None and lat is not None]


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the configurations no other one beats, by increasing latency.

    Sorted by latency (then false cut-off rate, then index), a point is on the frontier when
    its false cut-off rate is lower than that of every point before it (eot-bench's
    ``pareto_mask``).  Points with a ``None`` coordinate are left out.

    Parameters
    ----------
    points : sequence of (float or None, float or None)
        ``(fc_rate, mean_latency_s)`` per configuration.

    Returns
    -------
    list of int
    """
    best = float("inf")
    out = []
    for i, fc, _lat in sorted(_usable(points), key=lambda p: (p[2], p[1], p[0])):
        if fc < best - EPS:
            out.append(i)
            best = fc
    return out


def fc_at_latency(points: Sequence[Point], budget_s: float) -> OperatingPoint:
    """Lowest false cut-off rate among the points with mean latency ``<= budget_s``.

    Ties go to the lower latency, then the earlier point.  ``value`` is ``None`` when no point
    is within the budget (no extrapolation).
    """
    feasible = [p for p in _usable(points) if p[2] <= budget_s + EPS]
    if not feasible:
        return OperatingPoint(budget_s, None, None)
    i, fc, _lat = min(feasible, key=lambda p: (p[1], p[2], p[0]))
    return OperatingPoint(budget_s, fc, i)


def latency_at_fc(points: Sequence[Point], budget: float) -> OperatingPoint:
    """Lowest mean latency among the points with false cut-off rate ``<= budget``.

    Ties go to the lower false cut-off rate, then the earlier point.  ``value`` is ``None``
    when no point is within the budget.
    """
    feasible = [p for p in _usable(points) if p[1] <= budget + EPS]
    if not feasible:
        return OperatingPoint(budget, None, None)
    i, _fc, lat = min(feasible, key=lambda p: (p[2], p[1], p[0]))
    return OperatingPoint(budget, lat, i)


@dataclass(frozen=True)
class Headline:
    """eot-bench's four headline figures of a set of configurations (built by `headline`).

    Attributes
    ----------
    fc_at_300ms, fc_at_600ms : OperatingPoint
        Best false cut-off rate at a mean latency of at most 300 / 600 ms.
    latency_at_5pct, latency_at_10pct : OperatingPoint
        Best mean latency (s) at a false cut-off rate of at most 5 / 10 %.
    """

    fc_at_300ms: OperatingPoint
    fc_at_600ms: OperatingPoint
    latency_at_5pct: OperatingPoint
    latency_at_10pct: OperatingPoint

    def to_dict(self) -> dict[str, Any]:
        """One `OperatingPoint.to_dict` per figure, by attribute name."""
        return {name: getattr(self, name).to_dict()
                for name in ("fc_at_300ms", "fc_at_600ms", "latency_at_5pct",
                             "latency_at_10pct")}


def headline(points: Sequence[Point]) -> Headline:
    """The four headline figures (`fc_at_latency` at `LATENCY_BUDGETS_S`, `latency_at_fc` at
    `FC_BUDGETS`).

    Parameters
    ----------
    points : sequence of (float or None, float or None)
        ``(fc_rate, mean_latency_s)`` per configuration.

    Returns
    -------
    Headline
    """
    lat300, lat600 = LATENCY_BUDGETS_S
    fc5, fc10 = FC_BUDGETS
    return Headline(fc_at_latency(points, lat300), fc_at_latency(points, lat600),
                    latency_at_fc(points, fc5), latency_at_fc(points, fc10))
