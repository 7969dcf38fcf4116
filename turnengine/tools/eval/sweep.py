"""A grid of engine configurations evaluated on one directory (``turnengine eval --sweep``).

Each axis names a :class:`~turnengine.options.TurnEngineOptions` field (or ``turn_detector``)
and its values; the grid is their cartesian product, first axis slowest.  Every configuration
replays every labelled clip through :func:`.runner.evaluate_directory` (deterministic: the
end-of-turn model runs inline), and the sweep reads eot-bench's operating points off the
results (:mod:`.operating`).  The Smart Turn model is loaded once for the whole sweep.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ...eot import load_smart_turn
from ...options import TurnEngineOptions
from .clip import ClipScore
from .eotbench import EotBenchScore
from .grid import SweepAxis, config_label, sweep_grid
from .operating import Headline, headline, pareto_front
from .runner import EvalResult, evaluate_directory

__all__ = [
    "SWEEP_EXTRA_NAMES",
    "SweepConfig",
    "SweepResult",
    "SweepRun",
    "run_sweep",
    "sweep_configs",
    "sweepable_names",
]

SWEEP_EXTRA_NAMES = ("turn_detector",)
"""Names a sweep accepts besides the :class:`TurnEngineOptions` fields."""


def sweepable_names() -> list[str]:
    """Every name an axis may have: the option fields, then `SWEEP_EXTRA_NAMES`."""
    return [f.name for f in fields(TurnEngineOptions)] + list(SWEEP_EXTRA_NAMES)


@dataclass(frozen=True)
class SweepConfig:
    """One configuration of a sweep: what it sets, and the validated engine settings."""

    params: dict[str, Any]
    options: TurnEngineOptions
    turn_detector: str | None

    @property
    def label(self) -> str:
        """`config_label` of ``params``."""
        return config_label(self.params)


def sweep_configs(axes: Sequence[SweepAxis], base_options: Mapping[str, Any] | None = None,
                  turn_detector: str | None = None) -> list[SweepConfig]:
    """Every configuration of the grid, validated before anything runs.

    Parameters
    ----------
    axes : sequence of SweepAxis
        Swept names (`sweepable_names`) and values (already converted to their types).
    base_options : Mapping, optional
        Options every configuration shares (the CLI's ``--option-name`` flags).
    turn_detector : {None, "smart-turn"}
        End-of-turn model when ``turn_detector`` is not swept.

    Returns
    -------
    list of SweepConfig

    Raises
    ------
    ValueError
        If an axis name is unknown, or a configuration's options do not validate (the message
        names the configuration).
    """
    known = sweepable_names()
    for axis in axes:
        if axis.name not in known:
            raise ValueError(f"unknown sweep name {axis.name!r}: expected a TurnEngineOptions "
                             "field or turn_detector")
    out = []
    for params in sweep_grid(axes):
        values = dict(base_options or {})
        values.update({k: v for k, v in params.items() if k not in SWEEP_EXTRA_NAMES})
        try:
            options = TurnEngineOptions(**values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sweep configuration {config_label(params)}: {exc}") from None
        out.append(SweepConfig(params, options, params.get("turn_detector", turn_detector)))
    return out


@dataclass
class SweepRun:
    """One configuration and its evaluation."""

    config: SweepConfig
    result: EvalResult

    @property
    def eotbench(self) -> EotBenchScore:
        """The pooled eot-bench figures of this configuration."""
        assert self.result.eotbench is not None
        return self.result.eotbench


@dataclass
class SweepResult:
    """Every configuration of a sweep with its scores, and the sweep's operating points.

    Attributes
    ----------
    axes : tuple of SweepAxis
        The swept parameters.
    runs : list of SweepRun
        One per configuration, in grid order.
    """

    axes: tuple[SweepAxis, ...]
    runs: list[SweepRun]

    @property
    def points(self) -> list[tuple[float | None, float | None]]:
        """``(fc_rate, latency_mean_s)`` per configuration (eot-bench's axes)."""
        return [(r.eotbench.fc_rate, r.eotbench.latency_mean_s) for r in self.runs]

    @property
    def headline(self) -> Headline:
        """The four headline figures over the configurations (:func:`.operating.headline`)."""
        return headline(self.points)

    @property
    def pareto(self) -> list[int]:
        """Indices of the configurations on the Pareto frontier, by increasing latency."""
        return pareto_front(self.points)

    def to_dict(self) -> dict[str, Any]:
        """``axes``, ``configs`` (label, params, eot-bench figures, SPEC 11 pooled summary),
        ``headline`` (each figure with the ``config`` label it comes from) and ``pareto``."""
        heads = {}
        for name, point in self.headline.to_dict().items():
            idx = point["index"]
            heads[name] = {**point, "config": None if idx is None else self.runs[idx].config.label}
        return {
            "axes": [{"name": a.name, "values": list(a.values)} for a in self.axes],
            "configs": [{"label": r.config.label, "params": r.config.params,
                         "eotbench": r.result.to_dict()["eotbench"],
                         "pooled": r.result.pooled.to_dict()} for r in self.runs],
            "headline": heads,
            "pareto": self.pareto,
        }


def run_sweep(directory: str | os.PathLike[str], configs: Sequence[SweepConfig],
              axes: Sequence[SweepAxis] = (), *, vad: str = "silero",
              model_path: str | None = None, sample_rate: int | None = None,
              on_config: Callable[[int, SweepRun], Any] | None = None,
              on_clip: Callable[[ClipScore], Any] | None = None) -> SweepResult:
    """Evaluate ``directory`` under each configuration (see `evaluate_directory`).

    Parameters
    ----------
    directory : str or PathLike
        Folder of ``NAME.wav`` + ``NAME.json`` pairs.
    configs : sequence of SweepConfig
        From `sweep_configs`.
    axes : sequence of SweepAxis
        The axes the configurations came from (kept in the result for the plot).
    vad, model_path, sample_rate
        As `evaluate_directory`.
    on_config : callable, optional
        Called with ``(index, run)`` as each configuration finishes.
    on_clip : callable, optional
        Called with each clip's SPEC 11 score (progress).

    Returns
    -------
    SweepResult

    Raises
    ------
    FileNotFoundError, ValueError
        As `evaluate_directory`.
    """
    model = None
    if any(c.turn_detector == "smart-turn" for c in configs):
        model = load_smart_turn(warn=False)  # once; engines warn themselves if it is missing
    runs = []
    for i, config in enumerate(configs):
        result = evaluate_directory(directory, vad=vad, options=config.options,
                                    model_path=model_path, turn_detector=config.turn_detector,
                                    sample_rate=sample_rate, on_clip=on_clip, eot_model=model)
        runs.append(SweepRun(config, result))
        if on_config is not None:
            on_config(i, runs[-1])
    return SweepResult(tuple(axes), runs)
