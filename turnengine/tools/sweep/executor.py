"""Run every (call, configuration) pair of a sweep: cached ones read back, the others replayed
in this process (``workers=1``), on a local process pool, or as Ray tasks (:mod:`.ray_executor`).

The records come back in (call, configuration) order whatever the worker count or the order
in which replays finish, and each record goes through JSON before it is used, so a replayed
record and the same record read from the cache are equal.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..eval.sweep import SweepConfig
from .cache import ResultCache, config_hash
from .ray_executor import RayOptions
from .source import Call
from .units import Pair, Unit, make_units
from .work import ReplaySettings, error_line, run_pair, run_unit

__all__ = ["PairStats", "default_workers", "run_pairs"]


@dataclass
class PairStats:
    """What a run of :func:`run_pairs` did.

    Attributes
    ----------
    n_pairs : int
        Calls x configurations.
    n_cached : int
        Pairs read from the cache.
    n_replayed : int
        Pairs replayed (successfully or not).
    n_unreadable : int
        Pairs whose audio or scenario file could not even be stat'ed (missing): not replayed.
    replay_wall_s : float
        Wall seconds of the replays, summed over the workers.
    """

    n_pairs: int = 0
    n_cached: int = 0
    n_replayed: int = 0
    n_unreadable: int = 0
    replay_wall_s: float = 0.0


def default_workers() -> int:
    """``os.cpu_count()`` (1 if unknown)."""
    return os.cpu_count() or 1


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """The record as JSON reads it back (tuples become lists), without its wall time."""
    out: dict[str, Any] = json.loads(json.dumps(record))
    out.pop("wall_s", None)
    return out


def _lookup(calls: Sequence[Call], ids: Sequence[str], cache: ResultCache | None,
            records: dict[Pair, dict[str, Any]], keys: dict[Pair, str],
            stats: PairStats) -> list[Pair]:
    """Fill ``records`` from the cache and with the unreadable pairs; the pairs to replay."""
    todo = []
    for ci, call in enumerate(calls):
        if cache is None:
            todo += [(ci, ki) for ki in range(len(ids))]
            continue
        try:
            stamp = cache.stamp(call)
        except OSError as exc:
            for ki in range(len(ids)):
                records[ci, ki] = {"behaviour": None, "model": None, "output": None,
                                   "error": error_line(exc)}
            stats.n_unreadable += len(ids)
            continue
        for ki, cid in enumerate(ids):
            keys[ci, ki] = cache.key(stamp, cid)
            hit = cache.get(keys[ci, ki])
            if hit is not None:
                records[ci, ki] = _plain(hit)
                stats.n_cached += 1
            else:
                todo.append((ci, ki))
    return todo


@dataclass
class _Done:
    """Where replayed records go: the cache, ``records`` (as JSON reads them), the counts and
    the progress callback."""

    calls: Sequence[Call]
    configs: Sequence[SweepConfig]
    cache: ResultCache | None
    keys: dict[Pair, str]
    records: dict[Pair, dict[str, Any]]
    stats: PairStats
    on_pair: Callable[[Call, SweepConfig, dict[str, Any]], Any] | None

    def pair(self, pair: Pair, record: dict[str, Any]) -> None:
        """One replayed pair."""
        self.stats.n_replayed += 1
        self.stats.replay_wall_s += float(record.get("wall_s", 0.0))
        if self.cache is not None and record.pop("cacheable", True):
            self.cache.put(self.keys[pair], record)
        record.pop("cacheable", None)
        self.records[pair] = _plain(record)
        if self.on_pair is not None:
            self.on_pair(self.calls[pair[0]], self.configs[pair[1]], self.records[pair])

    def unit(self, unit: Unit, unit_records: Sequence[dict[str, Any]]) -> None:
        """The records of one task, in the unit's configuration order."""
        for ki, record in zip(unit[1], unit_records, strict=True):
            self.pair((unit[0], ki), record)


def run_pairs(calls: Sequence[Call], configs: Sequence[SweepConfig], settings: ReplaySettings,
              *, cache: ResultCache | None = None, workers: int = 1,
              ray: RayOptions | None = None,
              on_pair: Callable[[Call, SweepConfig, dict[str, Any]], Any] | None = None,
              ) -> tuple[list[list[dict[str, Any]]], PairStats]:
    """Every pair's record (:func:`.work.run_pair`), cached or replayed.

    Parameters
    ----------
    calls, configs : sequence
        The sweep.
    settings : ReplaySettings
        What every replay shares.
    cache : ResultCache, optional
        Where finished pairs are read and written; ``None``: replay everything.
    workers : int
        Processes; 1 replays in this process.  Ignored with ``ray``.
    ray : RayOptions, optional
        Replay on a Ray cluster instead (:mod:`.ray_executor`).
    on_pair : callable, optional
        Called in this process with ``(call, config, record)`` as each pair is done (cached
        pairs included), for the progress bar.

    Returns
    -------
    (list of list of dict, PairStats)
        ``records[call][config]``, and the counts.

    Raises
    ------
    ValueError
        If ``workers < 1``.
    RayUnavailable
        If ``ray`` is given and Ray is not installed or its cluster cannot be reached.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    stats = PairStats(n_pairs=len(calls) * len(configs))
    ids = [config_hash(c, settings) for c in configs]
    records: dict[Pair, dict[str, Any]] = {}
    keys: dict[Pair, str] = {}
    todo = _lookup(calls, ids, cache, records, keys, stats)
    if on_pair is not None:
        for (ci, ki), record in sorted(records.items()):
            on_pair(calls[ci], configs[ki], record)

    done = _Done(calls, configs, cache, keys, records, stats, on_pair)
    if todo and ray is not None:
        from .ray_executor import run_on_ray

        run_on_ray(todo, calls, configs, settings, done.unit, ray)
    elif workers == 1 or len(todo) <= 1:
        for ci, ki in todo:
            done.pair((ci, ki), run_pair(calls[ci], configs[ki], settings))
    else:
        _run_pool(make_units(todo, workers), calls, configs, settings, workers, done.unit)
    return [[records[ci, ki] for ki in range(len(configs))] for ci in range(len(calls))], stats


def _run_pool(units: list[Unit], calls: Sequence[Call], configs: Sequence[SweepConfig],
              settings: ReplaySettings, workers: int,
              deliver: Callable[[Unit, Sequence[dict[str, Any]]], None]) -> None:
    """Replay ``units`` on a process pool (spawned workers: no state forked from this one); at
    most ``4 * workers`` units in flight, so a huge archive does not queue every task."""
    context = multiprocessing.get_context("spawn")
    pending = iter(units)
    flight: dict[Future[list[dict[str, Any]]], Unit] = {}
    with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=context) as pool:
        try:
            while True:
                for unit in pending:
                    flight[pool.submit(run_unit, calls[unit[0]],
                                       [configs[k] for k in unit[1]], settings)] = unit
                    if len(flight) >= 4 * workers:
                        break
                if not flight:
                    break
                done, _ = wait(flight, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: flight[f]):
                    deliver(flight.pop(future), future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
