"""The records of a sweep as tables: one row per (call, configuration), one per configuration,
the Pareto front and the recommended configuration (:func:`build_tables`).

Labelled calls are scored from their cached scorer inputs by the eval scorers (SPEC 11 and
eot-bench, :func:`turnengine.tools.eval.runner.score_output`), pooled per configuration as
``turnengine eval`` pools a directory.  The trade-off is read with eot-bench's rules
(:mod:`turnengine.tools.eval.operating`): false cut-off rate against mean eot latency when any
call is labelled; otherwise interruptions per minute against the median response gap.
Model work is counted in both tables (end-of-turn inferences: deterministic); the CPU it took
goes to its own table (:mod:`.model_cpu`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..eval.clip import ClipScore
from ..eval.eotbench import EotBenchClip, pool_eotbench
from ..eval.events import EngineOutput
from ..eval.labels import Labels, load_labels
from ..eval.operating import fc_at_latency, pareto_front
from ..eval.pooling import pool
from ..eval.runner import score_output
from ..eval.sweep import SweepConfig
from .behaviour import Behaviour, pool_behaviour
from .model_cpu import model_cells, model_cpu_row
from .source import Call
from .work import error_line

__all__ = ["CALL_COLUMNS", "CONFIG_COLUMNS", "SweepTables", "build_tables"]

BEHAVIOUR_COLUMNS = ("duration_s", "n_turns", "turns_per_min", "response_gap_median_s",
                     "response_gap_p90_s", "n_interruptions", "interruptions_per_min",
                     "n_false_interruptions", "n_backchannels", "n_away")
LABEL_COLUMNS = ("frame_f1", "n_false_cutoffs", "turn_latency_median_s", "eot_n_holds",
                 "eot_n_holds_cut", "eot_fc_rate", "eot_latency_mean_s", "eot_latency_median_s",
                 "eot_latency_p90_s")
MODEL_COLUMNS = ("eot_inferences", "eot_inferences_per_min")
CALL_COLUMNS = ("call", "config", "labelled", "playout", "error", *BEHAVIOUR_COLUMNS,
                *MODEL_COLUMNS, *LABEL_COLUMNS)
"""Columns of the per-call table (one row per call x configuration)."""
CONFIG_COLUMNS = ("config", "n_calls", "n_failed", "n_labelled", *BEHAVIOUR_COLUMNS,
                  *MODEL_COLUMNS, *LABEL_COLUMNS, "pareto", "recommended")
"""Columns of the per-configuration table (swept parameters come after ``config``)."""


@dataclass
class SweepTables:
    """Everything the sweep writes.

    Attributes
    ----------
    params : list of str
        Swept parameter names (columns of the configuration table).
    call_rows, config_rows : list of dict
        The two tables, in (call, configuration) and configuration order.
    trade_off : (str, str)
        Names of the y and x axes of the trade-off (what `points` hold).
    points : list of (float or None, float or None)
        ``(y, x)`` per configuration.
    pareto : list of int
        Configurations on the Pareto front, by increasing x.
    latency_budget_s : float
        The budget of the recommendation.
    recommended : int or None
        Lowest y among the configurations with x within the budget (``None``: none is).
    model_cpu_rows : list of dict
        Per configuration, the CPU seconds its models took (:mod:`.model_cpu`): measured, so
        the one table that differs between two runs.
    """

    params: list[str]
    call_rows: list[dict[str, Any]]
    config_rows: list[dict[str, Any]]
    trade_off: tuple[str, str]
    points: list[tuple[float | None, float | None]]
    pareto: list[int]
    latency_budget_s: float
    recommended: int | None
    model_cpu_rows: list[dict[str, Any]]


def _labels(calls: Sequence[Call]) -> list[Labels | str | None]:
    """Each call's labels, its one-line label error, or ``None`` (unlabelled)."""
    out: list[Labels | str | None] = []
    for call in calls:
        if call.labels is None:
            out.append(None)
            continue
        try:
            out.append(load_labels(call.labels))
        except Exception as exc:  # a bad label file fails that call's scoring only
            out.append(f"labels: {error_line(exc)}")
    return out


def _output(record: dict[str, Any]) -> EngineOutput:
    o = record["output"]
    return EngineOutput([tuple(s) for s in o["speech_segments"]],
                        [tuple(s) for s in o["decision_segments"]], list(o["turn_completions"]))


def _label_cells(score: ClipScore | None, bench: EotBenchClip | None) -> dict[str, Any]:
    if score is None or bench is None:
        return {}
    s, b = score.to_dict(), pool_eotbench([bench])
    return {"frame_f1": s["frame_f1"], "n_false_cutoffs": s["n_false_cutoffs"],
            "turn_latency_median_s": s["turn_latency_median_s"], "eot_n_holds": b.n_holds,
            "eot_n_holds_cut": b.n_holds_cut, "eot_fc_rate": b.fc_rate,
            "eot_latency_mean_s": b.latency_mean_s, "eot_latency_median_s": b.latency_median_s,
            "eot_latency_p90_s": b.latency_p90_s}


def _row(columns: Sequence[str], values: dict[str, Any]) -> dict[str, Any]:
    return {c: values.get(c) for c in columns}


@dataclass
class _Pool:
    """One configuration's calls as they are scored."""

    behaviours: list[Behaviour]
    scores: list[ClipScore]
    benches: list[EotBenchClip]
    models: list[dict[str, Any]]
    n_failed: int = 0


def _call_row(call: Call, config: SweepConfig, record: dict[str, Any],
              labels: Labels | str | None, acc: _Pool) -> dict[str, Any]:
    values: dict[str, Any] = {"call": call.name, "config": config.label,
                              "labelled": call.labels is not None,
                              "playout": None if call.playout is None else str(call.playout),
                              "error": record["error"]}
    if record["error"] is not None:
        acc.n_failed += 1
        return _row(CALL_COLUMNS, values)
    behaviour = Behaviour(**{**record["behaviour"],
                             "gaps_s": tuple(record["behaviour"]["gaps_s"])})
    acc.behaviours.append(behaviour)
    acc.models.append(record["model"])
    values.update(behaviour.to_dict())
    values.update(model_cells(behaviour, [record["model"]]))
    if isinstance(labels, str):
        values["error"] = labels
    elif labels is not None:
        score, bench = score_output(labels, _output(record), behaviour.duration_s, call.name)
        acc.scores.append(score)
        acc.benches.append(bench)
        values.update(_label_cells(score, bench))
    return _row(CALL_COLUMNS, values)


def _config_row(config: SweepConfig, acc: _Pool, n_calls: int) -> dict[str, Any]:
    values: dict[str, Any] = {"config": config.label, **config.params, "n_calls": n_calls,
                              "n_failed": acc.n_failed, "n_labelled": len(acc.scores)}
    pooled_behaviour = pool_behaviour(acc.behaviours)
    values.update(pooled_behaviour.to_dict())
    values.update(model_cells(pooled_behaviour, acc.models))
    if acc.scores:
        pooled, bench = pool(acc.scores).to_dict(), pool_eotbench(acc.benches)
        values.update(frame_f1=pooled["frame_f1"], n_false_cutoffs=pooled["n_false_cutoffs"],
                      turn_latency_median_s=pooled["turn_latency_median_s"],
                      eot_n_holds=bench.n_holds, eot_n_holds_cut=bench.n_holds_cut,
                      eot_fc_rate=bench.fc_rate, eot_latency_mean_s=bench.latency_mean_s,
                      eot_latency_median_s=bench.latency_median_s,
                      eot_latency_p90_s=bench.latency_p90_s)
    return values


def build_tables(calls: Sequence[Call], configs: Sequence[SweepConfig],
                 records: Sequence[Sequence[dict[str, Any]]], *,
                 latency_budget_s: float = 0.5) -> SweepTables:
    """Score and pool ``records[call][config]`` (from :func:`.executor.run_pairs`)."""
    labels = _labels(calls)
    pools = [_Pool([], [], [], []) for _ in configs]
    call_rows = [_call_row(call, config, records[ci][ki], labels[ci], pools[ki])
                 for ci, call in enumerate(calls) for ki, config in enumerate(configs)]
    params = list(dict.fromkeys(k for c in configs for k in c.params))
    columns = (CONFIG_COLUMNS[0], *params, *CONFIG_COLUMNS[1:])
    rows = [_config_row(config, acc, len(calls)) for config, acc in zip(configs, pools,
                                                                         strict=True)]
    if any(acc.scores for acc in pools):
        trade_off = ("eot_fc_rate", "eot_latency_mean_s")
    else:
        trade_off = ("interruptions_per_min", "response_gap_median_s")
    points = [(r.get(trade_off[0]), r.get(trade_off[1])) for r in rows]
    front = pareto_front(points)
    best = fc_at_latency(points, latency_budget_s).index
    for i, row in enumerate(rows):
        row.update(pareto=i in front, recommended=i == best)
    cpu = [model_cpu_row(config, acc.behaviours, acc.models)
           for config, acc in zip(configs, pools, strict=True)]
    return SweepTables(params, call_rows, [_row(columns, r) for r in rows], trade_off, points,
                       front, latency_budget_s, best, cpu)
