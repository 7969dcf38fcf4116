"""``turnengine sweep``: every configuration of a grid replayed on every call of an archive.

One concern per module, data flowing one way: :mod:`.source` (the calls: a directory or a
manifest) -> :mod:`.work` (one replay of one call under one configuration, a plain JSON record)
-> :mod:`.cache` (records per pair in ``OUTDIR/cache``) and :mod:`.executor` (in-process, a
local process pool or Ray tasks, :mod:`.ray_executor`; pairs grouped into tasks by
:mod:`.units`; results in (call, configuration) order) -> :mod:`.behaviour`, :mod:`.model_cpu`
and :mod:`.tables` (behaviour and model work per call, eval scores for labelled calls, pooled
per configuration, Pareto front, recommendation) -> :mod:`.report` and :mod:`.plot` (the files
of OUTDIR).
:func:`run_sweep_archive` runs the whole chain.
"""

from __future__ import annotations

from .executor import PairStats, default_workers, run_pairs
from .run import SweepOutcome, run_sweep_archive
from .source import Call, load_calls
from .tables import SweepTables, build_tables
from .work import ReplaySettings, run_pair

__all__ = [
    "Call",
    "PairStats",
    "ReplaySettings",
    "SweepOutcome",
    "SweepTables",
    "build_tables",
    "default_workers",
    "load_calls",
    "run_pair",
    "run_pairs",
    "run_sweep_archive",
]
