"""The echo path on the command line: ``run --playout``, ``eval`` with and without the
playout and with either backend, ``plot --playout``, and a scenario read from an echo label
file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from turnengine.cli import main
from turnengine.scenario import Scenario

ECHO = Path(__file__).parent / "data" / "echo"
NAME = ECHO / "dev_08_barge_bc_e2u_0"


def _interruptions(out: str) -> list[float]:
    return [json.loads(line)["stream_time"] for line in out.splitlines()
            if line.startswith("{") and json.loads(line)["type"] == "agent_interrupted"]


def test_run_with_the_playout_interrupts_only_for_the_user(capsys):
    labels = json.loads(Path(f"{NAME}.json").read_text())
    assert main(["run", f"{NAME}.mic.wav", "--scenario", f"{NAME}.json", "--json"]) == 0
    without = _interruptions(capsys.readouterr().out)
    assert main(["run", f"{NAME}.mic.wav", "--scenario", f"{NAME}.json", "--json",
                 "--playout", f"{NAME}.playout.wav"]) == 0
    got = _interruptions(capsys.readouterr().out)
    onsets = [b["t_s"] for b in labels["barge_ins"]]
    assert len(got) == len(onsets) and all(0 < t - o < 1.5 for t, o in zip(got, onsets,
                                                                          strict=True))
    assert any(not any(0 < t - o < 1.5 for o in onsets) for t in without)  # echo did


@pytest.mark.parametrize("bad, message", [
    ("rate", "11025"),
    ("long", "longer than"),
    ("missing", "no such audio file"),
])
def test_run_refuses_a_bad_playout_in_one_line(tmp_path: Path, capsys, bad, message):
    far, rate = sf.read(f"{NAME}.playout.wav", dtype="int16")
    path = tmp_path / "far.wav"
    if bad == "rate":
        sf.write(path, far[: far.shape[0] * 11025 // rate], 11025)
    elif bad == "long":
        sf.write(path, np.concatenate([far, far]), rate)
    assert main(["run", f"{NAME}.mic.wav", "--playout", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err.lower()


def test_run_with_a_playout_at_another_rate(tmp_path: Path, capsys):
    from scipy.signal import resample_poly

    far, rate = sf.read(f"{NAME}.playout.wav", dtype="float32")
    path = tmp_path / "far48.wav"
    sf.write(path, resample_poly(far, 3, 1), rate * 3)  # a 48 kHz TTS, a 16 kHz microphone
    labels = json.loads(Path(f"{NAME}.json").read_text())
    assert main(["run", f"{NAME}.mic.wav", "--scenario", f"{NAME}.json", "--json",
                 "--playout", str(path)]) == 0
    got = _interruptions(capsys.readouterr().out)
    onsets = [b["t_s"] for b in labels["barge_ins"]]
    assert len(got) == len(onsets) and all(0 < t - o < 1.5 for t, o in zip(got, onsets,
                                                                          strict=True))


@pytest.mark.parametrize("flags, hits, false", [
    ([], 2, 0),
    (["--echo-canceller", "aec3"], 2, 0),
    (["--no-playout"], 0, 2),
])
def test_eval_scores_the_sample_each_way(tmp_path: Path, capsys, flags, hits, false):
    for suffix in (".mic.wav", ".playout.wav", ".json"):
        (tmp_path / (NAME.name + suffix)).write_bytes(Path(f"{NAME}{suffix}").read_bytes())
    assert main(["eval", str(tmp_path), "--json", "--quiet", *flags]) == 0
    clip = json.loads(capsys.readouterr().out)["clips"][0]
    assert (clip["n_hits"], clip["n_false"]) == (hits, false)


def test_an_echo_label_file_is_a_scenario():
    scenario = Scenario.load(f"{NAME}.json")
    labels = json.loads(Path(f"{NAME}.json").read_text())
    assert [a.start_s for a in scenario.agent] == [a["start_s"] for a in labels["scenario"]
                                                   ["agent"]]


def test_a_file_with_agent_and_scenario_keys_is_read_as_a_scenario_itself(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"agent": [], "scenario": {"agent": []}}))
    with pytest.raises(ValueError, match="unknown key"):
        Scenario.load(path)
