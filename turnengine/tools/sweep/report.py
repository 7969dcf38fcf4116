"""What a sweep writes to OUTDIR: ``calls.csv``/``calls.json`` (one row per call x
configuration), ``configs.csv``/``configs.json`` (one per configuration), ``summary.md`` and
``tradeoff.png`` (:func:`write_outputs`).  Every one of these depends only on the results,
never on timing, worker count or executor, so two sweeps of the same archive write the same
bytes; ``model_cpu.csv`` (the measured CPU seconds of the models) is the one file that differs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..eval.grid import format_value
from .tables import SweepTables

__all__ = ["format_summary", "write_outputs"]

SUMMARY_COLUMNS = ("n_failed", "turns_per_min", "response_gap_median_s", "response_gap_p90_s",
                   "n_interruptions", "n_false_interruptions", "n_backchannels", "n_away",
                   "eot_inferences_per_min", "eot_fc_rate", "eot_latency_mean_s", "frame_f1")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return format_value(value)


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def _json_lines(rows: list[dict[str, Any]]) -> str:
    """A JSON array with one row a line (json's fast encoder: no ``indent``)."""
    return "[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n"


def _md(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_summary(tables: SweepTables, title: str) -> str:
    """``summary.md``: the configuration table, the Pareto front and the recommendation."""
    y, x = tables.trade_off
    lines = [f"# {title}", "",
             f"{len(tables.config_rows)} configurations; trade-off: {y} against {x} "
             "(lower is better on both).", "",
             "| config | " + " | ".join(SUMMARY_COLUMNS) + " | Pareto |",
             "|---" * (len(SUMMARY_COLUMNS) + 2) + "|"]
    for row in tables.config_rows:
        mark = "yes" if row["pareto"] else ""
        mark += " **recommended**" if row["recommended"] else ""
        lines.append(f"| {row['config']} | "
                     + " | ".join(_md(row[c]) for c in SUMMARY_COLUMNS) + f" | {mark} |")
    failed = sorted({(r["call"], r["error"]) for r in tables.call_rows if r["error"]})
    lines += ["", "## Pareto front", ""]
    lines += [f"- {tables.config_rows[i]['config']}: {y} {_md(tables.points[i][0])}, "
              f"{x} {_md(tables.points[i][1])}" for i in tables.pareto] or ["- none (no figures)"]
    lines += ["", f"## Recommended for a latency budget of {tables.latency_budget_s:g} s", ""]
    if tables.recommended is None:
        lines.append(f"No configuration has {x} within the budget.")
    else:
        i = tables.recommended
        lines.append(f"**{tables.config_rows[i]['config']}**: lowest {y} "
                     f"({_md(tables.points[i][0])}) among the configurations with {x} <= "
                     f"{tables.latency_budget_s:g} s ({_md(tables.points[i][1])}).")
    if failed:
        lines += ["", f"## Failed calls ({len(failed)})", ""]
        lines += [f"- {call}: {error}" for call, error in failed]
    return "\n".join(lines) + "\n"


def write_outputs(tables: SweepTables, outdir: Path, title: str) -> list[Path]:
    """Write the tables, the summary and the plot into ``outdir``; the paths written.

    Raises
    ------
    OSError
        If a file cannot be written.
    """
    from .plot import write_tradeoff

    outdir.mkdir(parents=True, exist_ok=True)
    files = {
        "calls.csv": _csv(tables.call_rows),
        "calls.json": _json_lines(tables.call_rows),
        "configs.csv": _csv(tables.config_rows),
        "configs.json": json.dumps({"trade_off": list(tables.trade_off),
                                    "latency_budget_s": tables.latency_budget_s,
                                    "pareto": tables.pareto, "recommended": tables.recommended,
                                    "configs": tables.config_rows}, indent=1) + "\n",
        "summary.md": format_summary(tables, title),
        "model_cpu.csv": _csv(tables.model_cpu_rows),
    }
    paths = []
    for name, text in files.items():
        (outdir / name).write_text(text, encoding="utf-8")
        paths.append(outdir / name)
    paths.append(write_tradeoff(tables, outdir / "tradeoff.png", title=title))
    return paths
