"""The echo set's scorer (turnengine/tools/eval/echo.py): each rule of the metric of
../shared/audio/echo/README.md on hand-made event times, pooling per echo level, the label file
pairing and one CLI run on a checked-in sample (tests/data/echo)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from turnengine.cli import main
from turnengine.tools.eval.echo import EchoLabels, is_echo_labels, score_echo_clip
from turnengine.tools.eval.echo_report import EchoResult, format_echo_table
from turnengine.tools.eval.events import agent_from_events
from turnengine.tools.eval.runner import labelled_clips

ECHO = Path(__file__).parent / "data" / "echo"
approx = pytest.approx


def hand_echo(**overrides: Any) -> EchoLabels:
    """Agent speaks 1-7 s and 9-15 s (0.2 agent-minutes); barge-in at 3.0 (utterance 0, unit
    3.0-5.0), backchannel at 11.0-11.2; user speech 3.0-5.0 and 11.0-11.2."""
    data: dict[str, Any] = {
        "clip": "hand", "echo_to_user_db": -6,
        "agent_speech": [{"start_s": 1.0, "end_s": 7.0}, {"start_s": 9.0, "end_s": 15.0}],
        "barge_ins": [{"t_s": 3.0, "agent_index": 0}],
        "backchannel_details": [{"start_s": 11.0, "end_s": 11.2}],
        "segments": [{"start_s": 3.0, "end_s": 5.0}, {"start_s": 11.0, "end_s": 11.2}],
        "user_segments": [], "scenario": {"agent": []},
    }
    data.update(overrides)
    return EchoLabels.from_dict(data)


def test_an_interruption_soon_after_the_barge_in_is_a_hit_with_its_latency():
    s = score_echo_clip(hand_echo(), [3.6], [(1.0, 3.6)])
    assert s.hit_latencies_s == approx((0.6,)) and s.n_hits == 1
    assert (s.n_false, s.n_backchannel_interruptions, s.n_preempted) == (0, 0, 0)
    assert s.to_dict()["recall"] == 1.0


def test_hit_window_ends_at_1_5_s_and_a_later_one_in_user_speech_is_a_late_false():
    s = score_echo_clip(hand_echo(), [4.5], [(1.0, 4.5)])
    assert s.n_hits == 1
    s = score_echo_clip(hand_echo(), [4.6], [(1.0, 4.6)])
    assert s.n_hits == 0 and s.n_false == 1 and s.n_false_in_user_speech == 1


def test_a_barge_in_is_matched_once():
    # 3.5 is the hit; 3.9 is after the same onset: not a second hit, and not false either
    # (a user onset lies in the second before it).
    s = score_echo_clip(hand_echo(), [3.5, 3.9], [(1.0, 3.5), (3.8, 3.9)])
    assert s.n_hits == 1 and s.hit_latencies_s == approx((0.5,))
    assert s.n_false == 0 and s.n_near_onset == 1


def test_backchannel_interruption_window_is_1_s():
    assert score_echo_clip(hand_echo(), [11.9], []).n_backchannel_interruptions == 1
    late = score_echo_clip(hand_echo(), [12.1], [])
    assert late.n_backchannel_interruptions == 0 and late.n_false == 1
    assert late.n_false_in_user_speech == 0


def test_false_interruptions_per_agent_minute_and_utterances_cut():
    s = score_echo_clip(hand_echo(), [1.5, 2.0, 9.6], [(1.0, 1.5)])
    assert s.n_false == 3 and s.n_utterances_cut == 2
    assert s.agent_minutes == approx(0.2)
    assert s.to_dict()["false_per_agent_minute"] == approx(15.0)


def test_barge_in_preempted_when_the_echo_already_stopped_the_agent():
    s = score_echo_clip(hand_echo(), [1.6], [(1.0, 1.6)])
    assert s.n_preempted == 1 and s.n_false == 1 and s.n_hits == 0
    # The agent resumed (false interruption, resumed=True) before the user spoke: not
    # pre-empted.
    s = score_echo_clip(hand_echo(), [1.6, 3.4], [(1.0, 1.6), (2.5, 3.4)])
    assert s.n_preempted == 0 and s.n_hits == 1


def test_interruption_before_an_onset_is_not_matched_to_it():
    s = score_echo_clip(hand_echo(), [2.9], [(1.0, 2.9)])
    assert s.n_hits == 0 and s.n_false == 1 and s.n_preempted == 1


def test_pooling_per_echo_level_sums_counts_and_agent_minutes():
    a = score_echo_clip(hand_echo(), [3.5], [(1.0, 3.5)])
    b = score_echo_clip(hand_echo(clip="b"), [1.5], [(1.0, 1.5)])
    c = score_echo_clip(hand_echo(clip="c", echo_to_user_db=6), [2.0, 10.0], [])
    result = EchoResult.from_clips([a, b, c])
    assert [p.label for p in result.levels] == ["-6 dB", "+6 dB"]
    minus6 = result.levels[0]
    assert (minus6.n_hits, minus6.n_barge_ins, minus6.n_false) == (1, 2, 1)
    assert minus6.false_per_agent_minute == approx(1 / 0.4)
    assert result.overall.n_false == 3 and result.overall.agent_minutes == approx(0.6)
    table = format_echo_table(result)
    assert table.splitlines()[-1].startswith("| all | 3 |")
    assert json.loads(json.dumps(result.to_dict()))["overall"]["n_hits"] == 1


def test_agent_from_events_reads_interruptions_and_speaking_intervals():
    events = [
        {"type": "agent_state_changed", "stream_time": 1.0, "old_state": "listening",
         "new_state": "speaking"},
        {"type": "agent_interrupted", "stream_time": 1.5},
        {"type": "agent_state_changed", "stream_time": 1.5, "old_state": "speaking",
         "new_state": "listening"},
        {"type": "agent_state_changed", "stream_time": 9.0, "old_state": "listening",
         "new_state": "speaking"},
    ]
    assert agent_from_events(events) == ([1.5], [(1.0, 1.5), (9.0, None)])


def test_labels_need_the_echo_keys():
    assert not is_echo_labels({"segments": []})
    with pytest.raises(ValueError, match="missing"):
        EchoLabels.from_dict({"segments": []}, "x.json")


def test_mic_files_pair_with_their_labels_and_playout_files_do_not(tmp_path):
    for name in ("a.mic.wav", "a.playout.wav", "a.json", "b.wav", "b.json", "c.wav"):
        (tmp_path / name).write_bytes(b"")
    pairs = [(a.name, j.name) for a, j in labelled_clips(tmp_path)]
    assert pairs == [("a.mic.wav", "a.json"), ("b.wav", "b.json")]


@pytest.mark.parametrize("reference", [False, True])
def test_cli_eval_scores_an_echo_sample(tmp_path, capsys, reference):
    name = "dev_08_barge_bc_e2u_0"
    for suffix in (".mic.wav", ".playout.wav", ".json"):
        (tmp_path / (name + suffix)).write_bytes((ECHO / (name + suffix)).read_bytes())
    flags = [] if reference else ["--no-playout"]
    assert main(["eval", str(tmp_path), "--json", "--quiet", *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    overall = out["overall"]
    assert out["metric"] == "echo" and overall["n_clips"] == 1
    assert (overall["n_barge_ins"], overall["n_backchannels"]) == (2, 1)
    assert overall["n_agent_utterances"] == 3
    # The counts must add up whatever they are.
    clip = out["clips"][0]
    assert clip["n_interruptions"] == (clip["n_hits"] + clip["n_false"]
                                       + clip["n_backchannel_interruptions"]
                                       + clip["n_near_onset"])
    if not reference:  # docs/echo.md: the echo cuts the agent before the user speaks
        assert (clip["n_false"], clip["n_preempted"], clip["n_hits"]) == (2, 2, 0)
    else:  # with the playout (aec3): both barge-ins, nothing false
        assert (clip["n_false"], clip["n_preempted"], clip["n_hits"]) == (0, 0, 2)


def test_the_python_api_uses_the_playout_with_the_default_canceller(tmp_path):
    from turnengine.tools.eval.echo_runner import evaluate_echo_directory

    name = "dev_08_barge_bc_e2u_0"
    for suffix in (".mic.wav", ".playout.wav", ".json"):
        (tmp_path / (name + suffix)).write_bytes((ECHO / (name + suffix)).read_bytes())
    clip = evaluate_echo_directory(tmp_path).clips[0]
    assert (clip.n_hits, clip.n_false) == (2, 0)
