"""The trade-off of a sweep as a PNG: one point per configuration, the Pareto front as a
dashed step, the latency budget as a dotted line and the recommended configuration ringed.

matplotlib through its object API on an Agg canvas, as :mod:`turnengine.tools.eval.curve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .tables import SweepTables

__all__ = ["write_tradeoff"]


def draw_tradeoff(tables: SweepTables, *, title: str = "") -> Any:
    """The trade-off on a new matplotlib figure (configurations without both figures left out)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y_name, x_name = tables.trade_off
    pts = [(i, x, y) for i, (y, x) in enumerate(tables.points) if x is not None and y is not None]
    ax.plot([p[1] for p in pts], [p[2] for p in pts], "o", ms=6, color="C0",
            label="configuration")
    for k, (i, x, y) in enumerate(pts):
        ax.annotate(tables.config_rows[i]["config"], (x, y), textcoords="offset points",
                    xytext=(5, 4 if k % 2 == 0 else -11), fontsize=7, color="#444444")
    front = [(float(y or 0.0), float(x or 0.0)) for y, x in (tables.points[i]
                                                             for i in tables.pareto)]
    if front:
        ax.step([p[1] for p in front], [p[0] for p in front], where="post", color="black",
                ls="--", lw=0.9, label="Pareto front")
    ax.axvline(tables.latency_budget_s, color="#999999", ls=":", lw=0.9,
               label=f"latency budget {tables.latency_budget_s:g} s")
    if tables.recommended is not None:
        y_rec, x_rec = tables.points[tables.recommended]  # both set: it is within the budget
        ax.plot([float(x_rec or 0.0)], [float(y_rec or 0.0)], "o", ms=14, mfc="none",
                mec="C3", mew=1.6, label="recommended")
    ax.set_xlabel(f"{x_name} (s)")
    ax.set_ylabel(y_name)
    ax.set_ylim(bottom=0)
    ax.grid(color="#e6e6e6", lw=0.6)
    ax.legend(fontsize=8)
    fig.suptitle(title or "sweep trade-off", fontsize=11)
    return fig


def write_tradeoff(tables: SweepTables, out: Path, *, title: str = "") -> Path:
    """Draw (`draw_tradeoff`) and save as PNG; raises ``OSError`` if it cannot be written."""
    draw_tradeoff(tables, title=title).savefig(out, format="png", metadata={"Software": None})
    return out
