"""``turnengine sweep``: tables of a tiny sweep (with a missing and a corrupt call), the same
files whatever the worker count, the cache replaying only missing pairs, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA
from sweep_cases import LABELLED, OUTPUTS, SHORT, write_csv_manifest

from turnengine.cli import main
from turnengine.tools.eval.grid import SweepAxis
from turnengine.tools.eval.sweep import sweep_configs
from turnengine.tools.sweep import load_calls, run_sweep_archive


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """Two real calls (one labelled), a missing one and a corrupt one."""
    return write_csv_manifest(tmp_path)


def _configs() -> list:
    return sweep_configs([SweepAxis("min_endpointing_delay", (0.3, 0.8))])


def test_manifest_rows_resolve_relative_to_the_manifest(manifest: Path) -> None:
    calls = {c.name: c for c in load_calls(manifest)}
    assert len(calls) == 4
    assert calls["missing.wav"].audio == manifest.parent / "missing.wav"
    assert calls[str(DATA / (LABELLED + ".wav"))].labels == DATA / (LABELLED + ".json")


def test_tiny_sweep_gives_the_tables(manifest: Path, tmp_path: Path) -> None:
    out = run_sweep_archive(load_calls(manifest), _configs(), tmp_path / "out",
                            latency_budget_s=1.2)
    t = out.tables
    assert out.stats.n_pairs == 8 and out.stats.n_replayed == 6 and out.stats.n_unreadable == 2
    assert len(t.call_rows) == 8 and len(t.config_rows) == 2
    errors = {r["call"]: r["error"] for r in t.call_rows if r["error"]}
    assert set(errors) == {"missing.wav", "corrupt.wav"}
    assert all("\n" not in e for e in errors.values())
    labelled = [r for r in t.call_rows if r["labelled"]]
    assert len(labelled) == 2 and all(r["eot_n_holds"] is not None for r in labelled)
    fast, slow = t.config_rows
    assert fast["n_failed"] == slow["n_failed"] == 2 and fast["n_labelled"] == 1
    assert fast["response_gap_median_s"] < slow["response_gap_median_s"]
    assert fast["turns_per_min"] >= slow["turns_per_min"] > 0
    assert t.trade_off == ("eot_fc_rate", "eot_latency_mean_s")
    assert t.pareto and t.recommended is not None
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Pareto front" in summary and "**recommended**" in summary
    assert "missing.wav" in summary and (tmp_path / "out" / "tradeoff.png").stat().st_size > 0


def test_two_workers_write_the_same_files_as_one(manifest: Path, tmp_path: Path) -> None:
    calls, configs = load_calls(manifest), _configs()
    run_sweep_archive(calls, configs, tmp_path / "w1", workers=1)
    run_sweep_archive(calls, configs, tmp_path / "w2", workers=2)
    for name in OUTPUTS:
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()


def test_cache_replays_only_the_missing_pairs(manifest: Path, tmp_path: Path) -> None:
    calls, configs, outdir = load_calls(manifest), _configs(), tmp_path / "out"
    first = run_sweep_archive(calls, configs, outdir)
    before = {n: (outdir / n).read_bytes() for n in OUTPUTS}
    again = run_sweep_archive(calls, configs, outdir)
    assert again.stats.n_replayed == 0 and again.stats.n_cached == first.stats.n_replayed
    cached = sorted((outdir / "cache").rglob("*.json"))
    assert len(cached) == 6  # the corrupt call's errors are cached; the missing one has no key
    for path in cached[:2]:
        path.unlink()
    third = run_sweep_archive(calls, configs, outdir)
    assert third.stats.n_replayed == 2 and third.stats.n_cached == 4
    assert {n: (outdir / n).read_bytes() for n in OUTPUTS} == before


def test_cli_sweep_of_a_directory_prints_the_summary(tmp_path: Path, capsys) -> None:
    (tmp_path / "calls").mkdir()
    for suffix in (".wav", ".json"):
        (tmp_path / "calls" / (SHORT + suffix)).write_bytes((DATA / (SHORT + suffix)).read_bytes())
    code = main(["sweep", str(tmp_path / "calls"), "--param", "min-endpointing-delay=0.3,0.8",
                 "--workers", "1", "-o", str(tmp_path / "out"), "--json", "--quiet"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["config"] for c in doc["configs"]] == ["min_endpointing_delay=0.3",
                                                     "min_endpointing_delay=0.8"]


@pytest.mark.parametrize("param", ["nope=1,2", "min_endpointing_delay=abc",
                                   "min_endpointing_delay", "min_endpointing_delay=0.3,"])
def test_bad_param_is_one_line_and_exit_2(param: str, tmp_path: Path, capsys) -> None:
    code = main(["sweep", str(DATA), "--param", param, "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("turnengine: error: --param")
    assert not (tmp_path / "out").exists()
