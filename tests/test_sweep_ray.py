"""``turnengine sweep --ray``: the same sweep on a local Ray cluster (2 CPUs) and on the process
pool writes the same files, byte for byte; a sweep cached by one executor resumes on the other.

One Ray cluster for the module (starting one takes a few seconds), on loopback only, without
dashboard or usage report; every wait has a timeout, and a watchdog ends the test process if
Ray ever hangs, so CI cannot.
"""

from __future__ import annotations

import faulthandler
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sweep_cases import OUTPUTS, write_jsonl_manifest

from turnengine.cli import main
from turnengine.tools.eval.grid import SweepAxis
from turnengine.tools.eval.sweep import sweep_configs
from turnengine.tools.sweep import load_calls, run_sweep_archive
from turnengine.tools.sweep.ray_executor import RayOptions

HANG_S = 600.0
"""The whole module must be done in this many seconds (it takes about 15)."""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    """A local 2-CPU Ray cluster; every address on loopback (read when ray is imported)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    faulthandler.dump_traceback_later(HANG_S, exit=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        yield ray
    finally:
        ray.shutdown()
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl_manifest(tmp_path_factory.mktemp("calls"))


def _configs() -> list:
    return sweep_configs([SweepAxis("min_endpointing_delay", (0.3, 0.8)),
                          SweepAxis("min_interruption_duration", (0.3, 0.6))])


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def test_ray_and_pool_write_the_same_files(ray_cluster, manifest: Path, tmp_path: Path) -> None:
    calls, configs = load_calls(manifest), _configs()
    pool = run_sweep_archive(calls, configs, tmp_path / "pool", workers=2)
    on_ray = run_sweep_archive(calls, configs, tmp_path / "ray",
                               ray=RayOptions(task_timeout_s=120))
    assert on_ray.stats.n_replayed == pool.stats.n_replayed == 5 * 4
    assert on_ray.stats.n_unreadable == 4  # the missing call under each configuration
    assert _files(tmp_path / "ray") == _files(tmp_path / "pool")
    assert sum(1 for r in on_ray.tables.call_rows if r["error"]) == 2 * 4  # missing, corrupt
    pool_cache = sorted(p.name for p in (tmp_path / "pool" / "cache").rglob("*.json"))
    assert sorted(p.name for p in (tmp_path / "ray" / "cache").rglob("*.json")) == pool_cache


def test_cli_ray_resumes_a_pool_sweep(ray_cluster, manifest: Path, tmp_path: Path,
                                      capsys) -> None:
    title = f"turnengine sweep {manifest}"  # the CLI's title
    run_sweep_archive(load_calls(manifest), _configs(), tmp_path / "pool", workers=2,
                      title=title)
    out = tmp_path / "out"
    run_sweep_archive(load_calls(manifest), _configs(), out, workers=2, title=title)
    cached = sorted((out / "cache").rglob("*.json"))
    for path in cached[::2]:
        path.unlink()
    code = main(["sweep", str(manifest), "--ray", "--param", "min_endpointing_delay=0.3,0.8",
                 "--param", "min_interruption_duration=0.3,0.6", "-o", str(out), "--json",
                 "--quiet"])
    assert code == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert pairs["n_replayed"] == len(cached[::2])
    assert pairs["n_cached"] == len(cached) - len(cached[::2])
    assert _files(out) == _files(tmp_path / "pool")


class _Unloadable:
    """Pickles on the driver, fails to unpickle on the worker (as a node without turnengine's
    classes would)."""

    def __reduce__(self):
        return (int, ("not a number",))


def test_a_failed_task_is_one_clear_error(ray_cluster, manifest: Path, tmp_path: Path) -> None:
    from turnengine.tools.sweep import ReplaySettings
    from turnengine.tools.sweep.ray_executor import RayUnavailable

    settings = ReplaySettings(overrides={"broken": _Unloadable()})
    with pytest.raises(RayUnavailable, match="a Ray task failed: .*every node needs turnengine"):
        run_sweep_archive(load_calls(manifest)[:2], _configs()[:1], tmp_path / "out",
                          settings=settings, ray=RayOptions(task_timeout_s=120))
    assert not list((tmp_path / "out").rglob("*.json"))
