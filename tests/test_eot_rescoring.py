"""End of turn (issue 11): the timer from silence, model re-scoring and eager turns, through the
whole engine."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA, comparable
from test_endpointing import SPEECH, SR, WINDOW, ScriptedModel, silence
from test_properties import check_invariants

from turnengine import TurnEngine
from turnengine.audio import read_audio
from turnengine.options import TurnEngineOptions
from turnengine.replay import replay_audio


def push(engine: TurnEngine, pcm: np.ndarray, chunk: int = 320) -> list:
    events = []
    for i in range(0, len(pcm), chunk):
        events += engine.push_audio(pcm[i:i + chunk])
    return events


def of(events, kind):
    return [e for e in events if e.type == kind]


def model_engine(model, **options) -> TurnEngine:
    return TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="inline",
                      **options)


def test_a_pause_scored_low_then_high_commits_at_the_second_score():
    model = ScriptedModel(0.1, 0.9)
    engine = model_engine(model, endpointing_start="silence", min_endpointing_delay=0.2,
                          eot_prediction_interval=0.1)
    events = push(engine, np.concatenate([SPEECH, silence(2.0)]))
    (turn,) = of(events, "user_turn_completed")
    (first, p1), (second, p2) = turn.eot_probabilities
    assert (p1, p2) == pytest.approx((0.1, 0.9)) and len(model.calls) == 2
    assert turn.stream_time == pytest.approx(second) and second > first
    assert turn.reason == "model_likely" and turn.eot_probability == pytest.approx(0.9)
    # single-shot, same answers: the first ("unlikely") is final, the turn waits 3 s
    single = model_engine(ScriptedModel(0.1, 0.9), endpointing_start="silence",
                          min_endpointing_delay=0.2, eot_prediction_interval=None)
    (late,) = of(push(single, np.concatenate([SPEECH, silence(4.0)])), "user_turn_completed")
    assert late.reason == "model_unlikely" and late.stream_time > turn.stream_time + 2.5


def test_likely_answers_before_min_endpointing_delay_wait_for_it():
    engine = model_engine(ScriptedModel(0.9), endpointing_start="silence",
                          min_endpointing_delay=0.6, eot_prediction_interval=0.1)
    events = push(engine, np.concatenate([SPEECH, silence(2.0)]))
    (turn,) = of(events, "user_turn_completed")
    assert turn.end_of_utterance_delay == pytest.approx(0.6, abs=WINDOW)
    assert turn.end_of_utterance_delay >= 0.6
    assert len(turn.eot_probabilities) >= 3  # asked at 0.2 s and again until the commit


@pytest.mark.parametrize("pause_s", [0.35, 0.8])  # inside the VAD hangover, and after it
def test_eager_end_of_turn_then_the_user_resumes(pause_s):
    model = ScriptedModel(0.95)
    engine = model_engine(model, endpointing_start="silence", min_endpointing_delay=1.5,
                          eot_prediction_interval=0.1, eager_eot_threshold=0.8)
    events = push(engine, np.concatenate([SPEECH, silence(pause_s), SPEECH, silence(2.5)]))
    kinds = [e.type for e in events if e.type in ("eager_end_of_turn", "turn_resumed",
                                                  "user_turn_completed")]
    assert kinds == ["eager_end_of_turn", "turn_resumed", "eager_end_of_turn",
                     "user_turn_completed"]
    eager, resumed, _, turn = (e for e in events if e.type in (
        "eager_end_of_turn", "turn_resumed", "user_turn_completed"))
    assert eager.eot_probability == pytest.approx(0.95)
    assert 3.0 < resumed.stream_time < 3.0 + pause_s + 0.3  # when the voice came back
    assert turn.stream_time > 6.0  # no turn for the first pause
    check_invariants(events, SR)


def test_eager_threshold_needs_a_model():
    with pytest.raises(ValueError, match="eager_eot_threshold"):
        TurnEngine(eager_eot_threshold=0.5)
    with pytest.raises(ValueError, match="eot_prediction_interval"):
        TurnEngine(eot_prediction_interval=0.0)
    with pytest.raises(ValueError, match="endpointing_start"):
        TurnEngine(endpointing_start="vad")


@pytest.mark.parametrize("delay", [0.1, 0.2, 0.35])
def test_commits_before_end_of_speech_keep_every_event_invariant(delay):
    for path in sorted(DATA.glob("*.wav")):
        audio = read_audio(path)
        options = TurnEngineOptions(endpointing_start="silence", min_endpointing_delay=delay)
        events = replay_audio(audio, options=options, vad="silero").events
        check_invariants(events, audio.sample_rate)
        turns = of(events, "user_turn_completed")
        assert turns, path.name
        for turn in turns:  # the delay now runs from the back-dated end of speech
            assert delay <= turn.end_of_utterance_delay < delay + WINDOW + 1e-9


def test_the_silence_timer_reaches_below_the_vad_hangover():
    audio = read_audio(DATA / "C2_composed_real_multi_clean.wav")
    lat = {}
    for start in ("end_of_speech", "silence"):
        options = TurnEngineOptions(endpointing_start=start, min_endpointing_delay=0.2)
        turns = of(replay_audio(audio, options=options, vad="silero").events,
                   "user_turn_completed")
        lat[start] = np.median([t.end_of_utterance_delay for t in turns])
    assert lat["end_of_speech"] >= 0.55  # floored at min_silence_duration
    assert lat["silence"] < 0.3


def test_replay_with_the_model_on_is_identical_across_chunk_sizes():
    from turnengine.eot import load_smart_turn

    model = load_smart_turn(warn=False)
    if model is None:
        pytest.fail("the smart-turn model is part of the dev extra; install '.[dev]'")
    audio = read_audio(DATA / "C2_composed_real_multi_clean.wav")
    options = TurnEngineOptions(endpointing_start="silence", min_endpointing_delay=0.3,
                                eot_prediction_interval=0.1, eager_eot_threshold=0.7)
    runs = []
    for chunk_ms in (10.0, 20.0, 64.0, 333.0):
        events = replay_audio(audio, options=options, vad="silero", turn_detector="smart-turn",
                              eot_model=model, chunk_ms=chunk_ms).events
        runs.append(comparable(e for e in events if e.type != "metrics_collected"))
    assert all(r == runs[0] for r in runs[1:])
    assert any(d["type"] == "eager_end_of_turn" for d in runs[0])
    assert any(len(d.get("eot_probabilities", [])) > 1 for d in runs[0])
