"""Scores as a markdown table (:func:`format_table`, for docs and ``turnengine eval``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .clip import ClipScore
from .pooling import PooledScore

__all__ = ["DEFAULT_TABLE_COLUMNS", "format_table"]

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
