"""Replay a sweep's pairs as Ray tasks (``turnengine sweep --ray [ADDRESS]``).

Each task is one unit of :func:`.units.make_units` (one call, several configurations) run by
:func:`.work.run_unit`; the driver (this process) reads the cache, writes each record to the
cache as its task returns and builds the tables, exactly as with the process pool, so the
outputs are the same files.  Workers read the audio themselves: the call's paths must be
readable at the same place on every node (docs/scaling.md).

Ray is imported only here, and only when a sweep asks for it.  With no address, a local
cluster is started for the sweep (``ray.init(num_cpus=N)``, no dashboard, no usage report,
every address on loopback) and stopped after it; with an address, the sweep connects to that
cluster and leaves it running.  A Ray session already initialised in this process is used as
it is.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..eval.sweep import SweepConfig
    from .source import Call
    from .work import ReplaySettings

__all__ = ["INSTALL_HINT", "RayOptions", "RayUnavailable", "check_address", "run_on_ray"]

INSTALL_HINT = "pip install 'turnengine[ray]'"
"""How to get Ray with the version range turnengine is tested with."""


class RayUnavailable(RuntimeError):
    """Ray is not installed, the cluster at the address given cannot be reached, or a task
    failed on it (a node without turnengine, a worker lost past Ray's retries)."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how a sweep runs on Ray.

    Attributes
    ----------
    address : str or None
        ``HOST:PORT`` of a running cluster's head (GCS), ``ray://HOST:PORT`` (Ray Client),
        ``auto`` (``RAY_ADDRESS`` or the cluster started on this machine by ``ray start``);
        ``None`` starts a local cluster for the sweep.
    num_cpus : int or None
        CPUs of the local cluster (``None``: all); not used with an address.
    connect_timeout_s : float
        How long to try the address's port before reporting it unreachable (s).
    task_timeout_s : float or None
        Give up (``TimeoutError``) when no task has finished for this long (s); ``None``: wait.
    """

    address: str | None = None
    num_cpus: int | None = None
    connect_timeout_s: float = 10.0
    task_timeout_s: float | None = None


def check_address(address: str, timeout_s: float = 10.0) -> None:
    """Refuse an address whose port does not answer (Ray itself retries for minutes).

    ``auto`` and ``local`` are left to Ray.

    Raises
    ------
    RayUnavailable
        If ``address`` is not ``HOST:PORT`` / ``ray://HOST:PORT``, or nothing listens there.
    """
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RayUnavailable(f"--ray {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {exc}; start one "
                             "with 'ray start --head' or check the address") from None


def _import_ray(local: bool) -> Any:
    """``ray``, with usage reporting off and (local cluster) every address on loopback.

    Both switches are read when Ray is imported; an explicit setting in the environment wins.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if local:
        # Ray's own switch for single-machine clusters: node address 127.0.0.1.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def _connect(options: RayOptions) -> tuple[Any, bool]:
    """``(ray, started)``: ``started`` when this call initialised Ray (and must shut it).

    An address is checked before Ray is imported, so a bad one fails at once.
    """
    if options.address is not None:
        check_address(options.address, options.connect_timeout_s)
    ray = _import_ray(options.address is None)
    if ray.is_initialized():
        return ray, False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if options.address is not None:
        try:
            ray.init(address=options.address, **quiet)
        except ConnectionError as exc:
            raise RayUnavailable(f"cannot connect to the Ray cluster at {options.address}: "
                                 f"{exc}") from None
    else:
        ray.init(num_cpus=options.num_cpus, include_dashboard=False, **quiet)
    return ray, True


def _result(ray: Any, ref: Any) -> list[dict[str, Any]]:
    """A task's records; a task that failed (not a replay: those are records) as
    :class:`RayUnavailable` with Ray's first line."""
    try:
        return ray.get(ref)  # type: ignore[no-any-return]
    except ray.exceptions.RayError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayUnavailable(f"a Ray task failed: {first[:300]}; every node needs turnengine "
                             "at the driver's version (docs/scaling.md)") from None


def run_on_ray(todo: Sequence[tuple[int, int]], calls: Sequence[Call],
               configs: Sequence[SweepConfig], settings: ReplaySettings,
               deliver: Callable[[tuple[int, tuple[int, ...]], Sequence[dict[str, Any]]], None],
               options: RayOptions) -> None:
    """Replay the ``todo`` pairs as Ray tasks; ``deliver(unit, records)`` as each returns.

    At most 4 tasks per cluster CPU are in flight, so a huge archive is not queued at once.

    Raises
    ------
    RayUnavailable
        If Ray is not installed, the cluster cannot be reached or a task failed.
    TimeoutError
        If no task finished within ``options.task_timeout_s``.
    """
    from .units import make_units
    from .work import run_unit

    ray, started = _connect(options)
    flight: dict[Any, tuple[int, tuple[int, ...]]] = {}
    try:
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(num_cpus=1)(run_unit)
        settings_ref = ray.put(settings)
        pending = iter(make_units(todo, slots))
        while True:
            for unit in pending:
                subset = [configs[k] for k in unit[1]]
                flight[task.remote(calls[unit[0]], subset, settings_ref)] = unit
                if len(flight) >= 4 * slots:
                    break
            if not flight:
                break
            ready, _ = ray.wait(list(flight), num_returns=1, timeout=options.task_timeout_s)
            if not ready:
                raise TimeoutError(f"no Ray task finished in {options.task_timeout_s:g} s")
            for ref in ready:
                deliver(flight.pop(ref), _result(ray, ref))
    finally:
        for ref in flight:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
