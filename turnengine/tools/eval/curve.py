"""The false cut-off / latency curve of a sweep as a PNG (``turnengine eval --curve``).

Two panels share the false cut-off axis: against the mean eot latency (eot-bench's axis, on
which the headline figures are read; the Pareto frontier and the 300/600 ms and 5/10 % budgets
are drawn there) and against the median eot latency.  Configurations that differ only in the
first swept parameter with several values are joined by one line, each point labelled with
that parameter's value.

matplotlib is used through its object API on an Agg canvas: no pyplot, no global backend change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .grid import SweepAxis, config_label, format_value
from .operating import FC_BUDGETS, LATENCY_BUDGETS_S

if TYPE_CHECKING:  # pragma: no cover
    from .sweep import SweepResult

__all__ = ["curve_groups", "draw_curve", "write_curve"]


Lines = list[tuple[str, list[int]]]


def curve_groups(axes: Sequence[SweepAxis],
                 params: Sequence[Mapping[str, Any]]) -> tuple[str | None, Lines]:
    """Group configurations that differ only in one swept parameter.

    Parameters
    ----------
    axes : sequence of SweepAxis
        The sweep's axes.
    params : sequence of Mapping
        Each configuration's ``{name: value}``, in grid order.

    Returns
    -------
    (str or None, list of (str, list of int))
        The parameter that varies along each line (the first axis with more than one value;
        ``None`` when there is none), and the lines: a legend label (the other parameters'
        values) and the configuration indices, in that parameter's value order.
    """
    primary = next((a.name for a in axes if len(a.values) > 1), None)
    if primary is None:
        return None, [(config_label(p), [i]) for i, p in enumerate(params)]
    others = [a.name for a in axes if a.name != primary]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault(tuple(format_value(p[n]) for n in others), []).append(i)
    return primary, [(", ".join(f"{n}={v}" for n, v in zip(others, key, strict=True)) or primary,
                      idx) for key, idx in groups.items()]


def draw_curve(result: SweepResult, *, title: str = "") -> Any:
    """Draw the sweep on a new matplotlib figure (Agg canvas).

    Parameters
    ----------
    result : SweepResult
        Configurations and their eot-bench figures; those without a false cut-off rate (no
        hold span) or without latencies are left out.
    title : str
        Figure title (e.g. the directory).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 5.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_mean, ax_median = fig.subplots(1, 2, sharey=True)
    primary, groups = curve_groups(result.axes, [r.config.params for r in result.runs])
    scores = [r.eotbench for r in result.runs]
    for ax, key in ((ax_mean, "latency_mean_s"), (ax_median, "latency_median_s")):
        for gi, (label, idx) in enumerate(groups):
            pts = [(1000 * lat, 100 * fc, i) for i in idx
                   for fc, lat in [(scores[i].fc_rate, getattr(scores[i], key))]
                   if fc is not None and lat is not None]
            if pts:
                _draw_line(ax, pts, label, f"C{gi % 10}", gi, [
                    format_value(result.runs[i].config.params[primary]) if primary
                    else result.runs[i].config.label for _x, _y, i in pts])
        ax.set_xlabel(f"{key.split('_')[1]} eot latency (ms)")
        ax.set_ylim(bottom=0)
        ax.grid(color="#e6e6e6", lw=0.6)
    _mark_budgets(ax_mean, result)
    ax_mean.set_ylabel("false cut-off rate (% of holds)")
    ax_mean.set_title("vs mean latency (eot-bench axis; budgets, Pareto frontier)", fontsize=10)
    ax_median.set_title("vs median latency", fontsize=10)
    ax_mean.legend(fontsize=8, loc="upper right", title_fontsize=8,
                   title=f"points labelled by {primary}" if primary else None)
    fig.suptitle(title or "false cut-offs vs eot latency", fontsize=11)
    return fig


def _draw_line(ax: Any, pts: list[tuple[float, float, int]], label: str, color: str, gi: int,
               texts: list[str]) -> None:
    """One line of configurations; points at the same place share one label ("0.2/0.5")."""
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=5, lw=1.2, color=color,
            label=label)
    at: dict[tuple[float, float], list[str]] = {}
    for (x, y, _i), text in zip(pts, texts, strict=True):
        at.setdefault((round(x, 6), round(y, 6)), []).append(text)
    for k, ((x, y), names) in enumerate(at.items()):  # neighbours alternate above / below
        ax.annotate("/".join(names), (x, y), textcoords="offset points",
                    xytext=(5, (4 if k % 2 == 0 else -12) - 11 * (gi % 3)), fontsize=8,
                    color=color)


def _mark_budgets(ax: Any, result: SweepResult) -> None:
    """The headline budgets as dotted lines and the Pareto frontier as a dashed step."""
    for budget in LATENCY_BUDGETS_S:
        ax.axvline(1000 * budget, color="#999999", ls=":", lw=0.9)
        ax.annotate(f"{1000 * budget:.0f} ms", (1000 * budget, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(2, -10),
                    textcoords="offset points", fontsize=7, color="#777777")
    for budget in FC_BUDGETS:
        ax.axhline(100 * budget, color="#999999", ls=":", lw=0.9)
        ax.annotate(f"{100 * budget:.0f} %", (0.0, 100 * budget),
                    xycoords=("axes fraction", "data"), xytext=(2, 2),
                    textcoords="offset points", fontsize=7, color="#777777")
    front = [result.runs[i].eotbench for i in result.pareto]
    if len(front) > 1:
        ax.step([1000 * (s.latency_mean_s or 0.0) for s in front],
                [100 * (s.fc_rate or 0.0) for s in front], where="post", color="black",
                ls="--", lw=0.8, label="Pareto frontier")


def write_curve(result: SweepResult, out: str | Path, *, title: str = "") -> Path:
    """Draw the sweep (`draw_curve`) and save it as a PNG.

    Raises
    ------
    OSError
        If ``out`` cannot be written.
    """
    fig = draw_curve(result, title=title)
    path = Path(out)
    fig.savefig(path, format="png")
    return path
