"""Scores as text for docs and ``turnengine eval``: the SPEC 11 markdown table
(:func:`format_table`), the eot-bench line (:func:`format_eotbench`) and the sweep tables
(:func:`format_sweep`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .clip import ClipScore
from .eotbench import EotBenchScore
from .operating import Headline
from .pooling import PooledScore

__all__ = ["DEFAULT_TABLE_COLUMNS", "format_eotbench", "format_sweep", "format_table"]

DEFAULT_TABLE_COLUMNS: tuple[str, ...] = (
    "clip",
    "frame_f1",
    "decision_frame_f1",
    "end_latency_median_s",
    "end_latency_p90_s",
    "n_false_starts",
    "n_missed_segments",
    "turn_latency_median_s",
    "turn_latency_p90_s",
    "n_missed_turn_ends",
    "n_false_cutoffs",
)
"""Columns of `format_table` when none are given."""

_TITLES = {
    "clip": "clip",
    "duration_s": "duration (s)",
    "frame_precision": "precision",
    "frame_recall": "recall",
    "frame_f1": "F1 back-dated",
    "decision_frame_precision": "precision decision",
    "decision_frame_recall": "recall decision",
    "decision_frame_f1": "F1 decision",
    "end_latency_median_s": "end latency median (s)",
    "end_latency_p90_s": "end latency p90 (s)",
    "n_speech_ends": "speech ends",
    "n_ends_bridged": "ends bridged",
    "n_false_starts": "false starts",
    "n_missed_segments": "missed segments",
    "n_turn_ends": "turn ends",
    "turn_latency_median_s": "turn latency median (s)",
    "turn_latency_p90_s": "turn latency p90 (s)",
    "n_missed_turn_ends": "missed turn ends",
    "n_false_cutoffs": "false cut-offs",
    "n_extra_completions": "extra completions",
}


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return str(len(value))
    return str(value).replace("|", "\\|")


def format_table(
    rows: Sequence[ClipScore | PooledScore | Mapping[str, Any]],
    columns: Sequence[str] | None = None,
) -> str:
    """Render scores as a GitHub-flavoured markdown table (for docs and ``turnengine eval``).

    Parameters
    ----------
    rows : sequence of ClipScore, PooledScore or Mapping
        One table row each; score objects are rendered through their ``to_dict()``.
    columns : sequence of str, optional
        Keys to show, in order; default `DEFAULT_TABLE_COLUMNS`. Known keys get a readable
        title, others are titled by their key.

    Returns
    -------
    str
        Header, alignment row (first column left, the others right) and one line per row,
        newline-terminated. Floats have 3 decimals, ``None`` or a missing key is ``n/a``, a
        list shows its length.
    """
    cols = list(DEFAULT_TABLE_COLUMNS if columns is None else columns)
    if not cols:
        raise ValueError("format_table: expected at least one column")
    lines = [
        "| " + " | ".join(_TITLES.get(c, c) for c in cols) + " |",
        "|" + "|".join([" --- "] + [" ---: "] * (len(cols) - 1)) + "|",
    ]
    for row in rows:
        data = row.to_dict() if isinstance(row, (ClipScore, PooledScore)) else row
        lines.append("| " + " | ".join(_cell(data.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{1000 * value:.0f} ms"


def format_eotbench(score: EotBenchScore) -> str:
    """One line of eot-bench figures (see :mod:`.eotbench`), for ``turnengine eval``.

    Parameters
    ----------
    score : EotBenchScore
        Pooled figures of one configuration.

    Returns
    -------
    str
        ``eot-bench: false cut-offs 2/11 holds (18.2 %); eot latency over 13 spans: median
        652 ms, mean 700 ms, p90 800 ms (0 without a commit)``, no trailing newline.
    """
    n_eot = len(score.latencies_s)
    return (f"eot-bench: false cut-offs {score.n_holds_cut}/{score.n_holds} holds "
            f"({_pct(score.fc_rate)}); eot latency over {n_eot} span{'' if n_eot == 1 else 's'}: "
            f"median {_ms(score.latency_median_s)}, mean {_ms(score.latency_mean_s)}, "
            f"p90 {_ms(score.latency_p90_s)} ({score.n_eot_missed} without a commit)")


def format_sweep(rows: Sequence[tuple[str, EotBenchScore]], head: Headline) -> str:
    """The eot-bench table of a sweep: one row per configuration, then the headline figures.

    Parameters
    ----------
    rows : sequence of (str, EotBenchScore)
        Configuration label and pooled figures, in grid order.
    head : Headline
        Operating points over ``rows`` (indices into ``rows``).

    Returns
    -------
    str
        Two markdown tables, newline-terminated; a figure no configuration reaches is ``n/a``.
    """
    lines = ["| configuration | holds cut | FC rate | eot spans | latency median | "
             "latency mean | latency p90 |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, s in rows:
        lines.append(f"| {label} | {s.n_holds_cut}/{s.n_holds} | {_pct(s.fc_rate)} | "
                     f"{len(s.latencies_s)} | {_ms(s.latency_median_s)} | "
                     f"{_ms(s.latency_mean_s)} | {_ms(s.latency_p90_s)} |")
    lines += ["", "| headline (eot-bench: best configuration within the budget; mean latency) "
              "| value | configuration |", "| --- | ---: | --- |"]
    for title, point, fmt in (("FC @ 300 ms", head.fc_at_300ms, _pct),
                              ("FC @ 600 ms", head.fc_at_600ms, _pct),
                              ("latency @ 5 % FC", head.latency_at_5pct, _ms),
                              ("latency @ 10 % FC", head.latency_at_10pct, _ms)):
        config = "no configuration within the budget" if point.index is None \
            else rows[point.index][0]
        lines.append(f"| {title} | {fmt(point.value)} | {config} |")
    return "\n".join(lines) + "\n"
