"""``turnengine sweep`` inputs and executors' edges: JSONL manifests (scenario, playout, the
``label`` spelling), ``--grid`` files combined with ``--param``, model work in the tables, and
the one-line errors of ``--ray`` without Ray or without a reachable cluster."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA
from sweep_cases import LABELLED, ROOT, SCENARIO_CALL, SHORT, write_jsonl_manifest

from turnengine.cli import main
from turnengine.tools.eval.grid import SweepAxis
from turnengine.tools.eval.sweep import sweep_configs
from turnengine.tools.sweep import load_calls, run_sweep_archive
from turnengine.tools.sweep.ray_executor import RayOptions, RayUnavailable


def _sweep_json(capsys, argv: list[str]) -> dict:
    assert main(["sweep", *argv, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_jsonl_manifest_scenario_playout_and_failures(tmp_path: Path) -> None:
    calls = {c.name: c for c in load_calls(write_jsonl_manifest(tmp_path))}
    assert calls[str(DATA / (LABELLED + ".wav"))].labels == DATA / (LABELLED + ".json")
    configs = sweep_configs([SweepAxis("min_endpointing_delay", (0.3, 0.8))])
    out = run_sweep_archive(list(calls.values()), configs, tmp_path / "out")
    rows = {(r["call"], r["config"]): r for r in out.tables.call_rows}
    errors = {call: r["error"] for (call, _), r in rows.items() if r["error"]}
    playout_call = str(DATA / "A02_pocketsphinx_librivox_single_track.wav")
    assert set(errors) == {"missing.wav", "corrupt.wav"}
    assert errors["missing.wav"].startswith("FileNotFoundError")
    playout = rows[playout_call, "min_endpointing_delay=0.3"]["playout"]
    assert playout == str(DATA / (SHORT + ".wav"))
    # The scenario plays the agent: its speech is interrupted by the caller at least once.
    scenario_rows = [r for (call, _), r in rows.items() if call.endswith(SCENARIO_CALL + ".wav")]
    assert all(r["error"] is None for r in scenario_rows)
    assert sum(r["n_interruptions"] for r in scenario_rows) > 0
    # The playout call was replayed with its reference (push_playout): cached like the rest,
    # as the corrupt file's failure is.
    again = run_sweep_archive(list(calls.values()), configs, tmp_path / "out")
    assert again.stats.n_replayed == 0 and again.stats.n_unreadable == 2


def test_grid_file_combines_with_param(tmp_path: Path, capsys) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('[params]\nmin-endpointing-delay = [0.3, 0.8]\n'
                    'turn_detector = "none"\nmin_silence_duration = 0.5\n')
    doc = _sweep_json(capsys, [str(DATA / (SHORT + ".wav")).rsplit("/", 1)[0], "--grid",
                               str(grid), "--param", "min_interruption_duration=0.3,0.6",
                               "--workers", "1", "-o", str(tmp_path / "out")])
    labels = [c["config"] for c in doc["configs"]]
    assert len(labels) == 4
    assert labels[0] == ("min_endpointing_delay=0.3, turn_detector=none, "
                         "min_silence_duration=0.5, min_interruption_duration=0.3")
    assert [c["min_endpointing_delay"] for c in doc["configs"]] == [0.3, 0.3, 0.8, 0.8]
    assert doc["pairs"]["n_pairs"] == 4 * len(list(DATA.glob("*.wav")))


@pytest.mark.parametrize(("text", "message"), [
    ("[params]\nnope = [1]\n", "unknown name 'nope'"),
    ("[params]\nmin_endpointing_delay = []\n", "expected at least one value"),
    ("[params]\nmin_endpointing_delay = ['abc']\n", "min_endpointing_delay"),
    ("min_endpointing_delay = [0.3]\n", "expected one [params] table"),
    ("[params\n", "not TOML"),
])
def test_bad_grid_file_is_one_line_and_exit_2(text: str, message: str, tmp_path: Path,
                                              capsys) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(text)
    code = main(["sweep", str(DATA), "--grid", str(grid), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err and str(grid) in err


def test_grid_and_param_naming_the_same_option_is_refused(tmp_path: Path, capsys) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text("[params]\nmin_endpointing_delay = [0.3, 0.8]\n")
    code = main(["sweep", str(DATA), "--grid", str(grid), "--param",
                 "min-endpointing-delay=0.5", "-o", str(tmp_path / "out")])
    assert code == 2 and "also in --grid" in capsys.readouterr().err


def test_end_of_turn_model_work_is_counted(tmp_path: Path) -> None:
    calls = [c for c in load_calls(DATA) if c.name == SHORT + ".wav"]
    configs = sweep_configs([SweepAxis("turn_detector", (None, "smart-turn"))])
    out = run_sweep_archive(calls, configs, tmp_path / "out")
    no_model, model = out.tables.config_rows
    assert no_model["eot_inferences"] == 0 and model["eot_inferences"] >= 1
    cpu = list(csv.DictReader((tmp_path / "out" / "model_cpu.csv").open()))
    assert float(cpu[1]["eot_cpu_s"]) > 0 and float(cpu[1]["vad_cpu_s"]) > 0
    assert cpu[0]["eot_cpu_ms_per_inference"] == ""


def test_pool_sweep_never_imports_ray(tmp_path: Path) -> None:
    code = ("import sys; from turnengine.cli import main; "
            f"rc = main(['sweep', {str(DATA)!r}, '--param', 'min_endpointing_delay=0.3,0.8', "
            f"'--workers', '2', '-o', {str(tmp_path / 'out')!r}, '--quiet']); "
            "print('ray' in sys.modules, rc)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, check=True)
    assert done.stdout.split()[-2:] == ["False", "0"]


def test_ray_missing_says_how_to_install(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = main(["sweep", str(DATA), "--ray", "-o", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "pip install 'turnengine[ray]'" in err


def test_unreachable_ray_address_is_reported_at_once(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    calls = load_calls(DATA)[:1]
    configs = sweep_configs([])
    with pytest.raises(RayUnavailable, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        run_sweep_archive(calls, configs, tmp_path / "out",
                          ray=RayOptions(address=f"127.0.0.1:{port}", connect_timeout_s=2))


@pytest.mark.parametrize("argv", [["--ray", "127.0.0.1:6379", "--workers", "2"],
                                  ["--ray", "nohost"]])
def test_bad_ray_flags_are_one_line(argv: list[str], tmp_path: Path, capsys) -> None:
    code = main(["sweep", str(DATA), *argv, "-o", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code in (1, 2) and err.count("\n") == 1 and err.startswith("turnengine: error:")


@pytest.mark.parametrize(("n_calls", "n_configs", "slots"), [(1, 1, 1), (4, 2, 2), (100, 12, 2),
                                                              (3, 40, 8), (2000, 12, 64)])
def test_units_cover_every_pair_once_one_call_each(n_calls: int, n_configs: int,
                                                   slots: int) -> None:
    from turnengine.tools.sweep.units import MAX_UNIT_CONFIGS, make_units

    todo = [(c, k) for c in range(n_calls) for k in range(n_configs) if (c + k) % 5]
    units = make_units(todo, slots)
    assert sorted((c, k) for c, ks in units for k in ks) == sorted(todo)
    assert all(1 <= len(ks) <= MAX_UNIT_CONFIGS for _, ks in units)
    assert len(units) >= min(len(todo), 8 * slots) or max(len(ks) for _, ks in units) == 1
