"""The whole sweep of an archive (:func:`run_sweep_archive`): calls -> pairs -> tables -> files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..eval.sweep import SweepConfig
from .cache import ResultCache
from .executor import PairStats, run_pairs
from .ray_executor import RayOptions
from .source import Call
from .tables import SweepTables, build_tables
from .work import ReplaySettings

__all__ = ["SweepOutcome", "run_sweep_archive"]


@dataclass
class SweepOutcome:
    """A finished sweep: its tables, what ran, the files written and how long it took."""

    calls: list[Call]
    tables: SweepTables
    stats: PairStats
    paths: list[Path]
    wall_s: float

    @property
    def audio_s(self) -> float:
        """Seconds of audio replayed or read from the cache (calls x configurations)."""
        return sum(r["duration_s"] or 0.0 for r in self.tables.call_rows)


def run_sweep_archive(calls: Sequence[Call], configs: Sequence[SweepConfig],
                      outdir: str | os.PathLike[str], *,
                      settings: ReplaySettings | None = None, workers: int = 1,
                      ray: RayOptions | None = None,
                      latency_budget_s: float = 0.5, use_cache: bool = True, title: str = "",
                      on_pair: Callable[[Call, SweepConfig, dict[str, Any]], Any] | None = None,
                      ) -> SweepOutcome:
    """Replay every call under every configuration and write OUTDIR.

    Parameters
    ----------
    calls : sequence of Call
        From :func:`.source.load_calls`.
    configs : sequence of SweepConfig
        From :func:`turnengine.tools.eval.sweep.sweep_configs`.
    outdir : str or PathLike
        Output folder; its ``cache/`` holds one record per finished pair.
    settings : ReplaySettings, optional
        VAD, model path and the option flags every replay shares.
    workers : int
        1 replays in this process; more use a local process pool.
    ray : RayOptions, optional
        Replay as Ray tasks instead (``workers`` is then not used).
    latency_budget_s : float
        Budget of the recommended configuration (s).
    use_cache : bool
        Read and write ``OUTDIR/cache`` (False: replay everything, write no record).
    title : str
        Title of the summary and the plot.
    on_pair : callable, optional
        Progress: called with ``(call, config, record)`` as each pair is done.

    Returns
    -------
    SweepOutcome

    Raises
    ------
    OSError
        If OUTDIR cannot be written.
    RayUnavailable
        With ``ray``: Ray is not installed or its cluster cannot be reached.
    """
    out = Path(outdir)
    wall0 = time.perf_counter()
    cache = ResultCache(out / "cache") if use_cache else None
    records, stats = run_pairs(calls, configs, settings or ReplaySettings(), cache=cache,
                               workers=workers, ray=ray, on_pair=on_pair)
    tables = build_tables(calls, configs, records, latency_budget_s=latency_budget_s)
    paths = _write(tables, out, title)
    return SweepOutcome(list(calls), tables, stats, paths, time.perf_counter() - wall0)


def _write(tables: SweepTables, out: Path, title: str) -> list[Path]:
    from .report import write_outputs

    return write_outputs(tables, out, title or "turnengine sweep")
