"""Run every (call, configuration) pair of a sweep: cached ones read back, the others replayed
in this process (``workers=1``) or on a local process pool.

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
from .source import Call
from .work import ReplaySettings, error_line, run_pair

__all__ = ["PairStats", "default_workers", "run_pairs"]

Pair = tuple[int, int]
"""``(call index, configuration index)``."""


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
        for ki, cid in enumerate(ids):
            if cache is None:
                todo.append((ci, ki))
                continue
            try:
                keys[ci, ki] = cache.key(call, cid)
            except OSError as exc:
                records[ci, ki] = {"behaviour": None, "output": None, "error": error_line(exc)}
                stats.n_unreadable += 1
                continue
            hit = cache.get(keys[ci, ki])
            if hit is not None:
                records[ci, ki] = _plain(hit)
                stats.n_cached += 1
            else:
                todo.append((ci, ki))
    return todo


def run_pairs(calls: Sequence[Call], configs: Sequence[SweepConfig], settings: ReplaySettings,
              *, cache: ResultCache | None = None, workers: int = 1,
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
        Processes; 1 replays in this process.
    on_pair : callable, optional
        Called in this process with ``(call, config, record)`` as each pair is done (cached
        pairs included), for the progress bar.

    Returns
    -------
    (list of list of dict, PairStats)
        ``records[call][config]``, and the counts.
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

    def finish(pair: Pair, record: dict[str, Any]) -> None:
        stats.n_replayed += 1
        stats.replay_wall_s += float(record.get("wall_s", 0.0))
        if cache is not None and record.pop("cacheable", True):
            cache.put(keys[pair], record)
        record.pop("cacheable", None)
        records[pair] = _plain(record)
        if on_pair is not None:
            on_pair(calls[pair[0]], configs[pair[1]], records[pair])

    if workers == 1 or len(todo) <= 1:
        for ci, ki in todo:
            finish((ci, ki), run_pair(calls[ci], configs[ki], settings))
    else:
        _run_pool(todo, calls, configs, settings, workers, finish)
    return [[records[ci, ki] for ki in range(len(configs))] for ci in range(len(calls))], stats


def _run_pool(todo: list[Pair], calls: Sequence[Call], configs: Sequence[SweepConfig],
              settings: ReplaySettings, workers: int,
              finish: Callable[[Pair, dict[str, Any]], None]) -> None:
    """Replay ``todo`` on a process pool (spawned workers: no state forked from this one); at
    most ``4 * workers`` pairs in flight, so a huge archive does not queue every task."""
    context = multiprocessing.get_context("spawn")
    pending = iter(todo)
    flight: dict[Future[dict[str, Any]], Pair] = {}
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
        try:
            while True:
                for pair in pending:
                    flight[pool.submit(run_pair, calls[pair[0]], configs[pair[1]],
                                       settings)] = pair
                    if len(flight) >= 4 * workers:
                        break
                if not flight:
                    break
                done, _ = wait(flight, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(flight.pop(future), future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
