"""Segment helpers shared by the scorers: validation, merging, overlap tests."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["EPS", "PredSegment", "Segment", "as_pred", "check_segments", "merge", "number",
           "overlaps"]

Segment = tuple[float, float]
"""A closed speech segment ``(start_s, end_s)`` in seconds of audio."""

PredSegment = tuple[float, float | None]
"""A predicted segment; ``end_s`` is ``None`` when no END event came before the clip ended."""

EPS = 1e-9
"""Tolerance of the boundary comparisons (s)."""


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return out



def check_segments(segments: Iterable[Sequence[Any]], name: str) -> list[tuple[float, float]]:
    """Validate segments; open ends (``None``) become ``math.inf``."""
    out = []
    for i, seg in enumerate(segments):
        if len(seg) != 2:
            raise ValueError(f"{name}[{i}]: expected (start_s, end_s), got {seg!r}")
        start, end = seg
        start_f = number(start, f"{name}[{i}] start_s")
        end_f = math.inf if end is None else number(end, f"{name}[{i}] end_s")
        if end_f < start_f:
            raise ValueError(f"{name}[{i}]: end_s {end_f} is before start_s {start_f}")
        out.append((start_f, end_f))
    return out


def merge(segments: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sort and merge overlapping or touching segments."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(segments):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def overlaps(a: float, b: float, s: float, e: float) -> bool:
    """Whether [a, b) and [s, e) share time (a zero-length [a, a] counts if a lies in [s, e))."""
    if a < b:
        return a < e and s < b
    return s <= a < e



def as_pred(seg: tuple[float, float]) -> PredSegment:
    return (seg[0], None if math.isinf(seg[1]) else seg[1])

