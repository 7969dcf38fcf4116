"""Timers kernel (SPEC 4-7): endpointing, interruption, away; streaming; compiled == reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import run_hysteresis, run_timers

from turnengine import _kernels
from turnengine._kernels.codes import AgentState, EventCode, TurnDetection, UserState

W = 512
SR = 16000
EC = EventCode


def timers(ref: bool, delay_s=0.5, min_int_s=0.5, away_s=15.0, mode=TurnDetection.VAD,
           allow=True):
    return _kernels.load("timers", reference=ref).Timers(
        W, int(delay_s * SR), int(min_int_s * SR), -1 if away_s is None else int(away_s * SR),
        int(mode), allow)


def hyst(ref: bool, min_silence=18):
    return _kernels.load("hysteresis", reference=ref).Hysteresis(W, 0.5, 0.35, 2, min_silence,
                                                                   0.0, 0.0)


def speech(pattern: list[tuple[float, int]]) -> np.ndarray:
    """Probabilities from (value, n_windows) runs."""
    return np.concatenate([np.full(n, v, np.float32) for v, n in pattern])


def drive(ref, probs, chunk=10_000, **kw):
    h = hyst(ref)
    flags, _, hev = run_hysteresis(h, probs, len(probs), W)
    t = timers(ref, **kw)
    return t, run_timers(t, flags, hev, chunk, W)


REFS = pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])


@REFS
def test_turn_commits_at_end_of_speech_when_delay_is_shorter_than_min_silence(ref):
    p = speech([(0.0, 10), (0.9, 40), (0.0, 40)])
    _, ev = drive(ref, p)
    kinds = [e[0] for e in ev]
    assert kinds == [EC.START_OF_SPEECH, EC.END_OF_SPEECH, EC.USER_TURN_COMPLETED]
    end, turn = ev[1], ev[2]
    assert end[2] == 50 * W            # back-dated end: last speech window
    assert turn[1] == end[1] == 68 * W  # 18 silent windows later; 0.5 s already passed
    assert turn[2] == end[2]


@REFS
def test_turn_commits_at_last_speaking_plus_a_long_delay(ref):
    p = speech([(0.0, 10), (0.9, 40), (0.0, 200)])
    _, ev = drive(ref, p, delay_s=2.0)
    turn = [e for e in ev if e[0] == EC.USER_TURN_COMPLETED][0]
    deadline = 50 * W + 2 * SR
    assert deadline <= turn[1] < deadline + W  # first window end at or after the deadline


@REFS
def test_new_speech_cancels_a_pending_turn(ref):
    p = speech([(0.9, 30), (0.0, 20), (0.9, 30), (0.0, 150)])
    _, ev = drive(ref, p, delay_s=2.0)
    kinds = [e[0] for e in ev]
    assert kinds == [EC.START_OF_SPEECH, EC.END_OF_SPEECH, EC.START_OF_SPEECH,
                     EC.END_OF_SPEECH, EC.USER_TURN_COMPLETED]


@REFS
def test_away_after_timeout_of_mutual_listening_and_noise_does_not_reset_it(ref):
    # Sub-threshold "noise" probabilities never start speech, so they never reset the timer.
    p = speech([(0.3, 600)])  # 19.2 s
    t, ev = drive(ref, p, away_s=15.0)
    assert [e[0] for e in ev] == [EC.USER_AWAY]
    assert 15 * SR <= ev[0][1] < 15 * SR + W and ev[0][2] == 15 * SR
    assert t.user_state == UserState.AWAY


@REFS
def test_away_disabled(ref):
    _, ev = drive(ref, speech([(0.0, 600)]), away_s=None)
    assert ev == []


@REFS
def test_away_deadline_rearms_after_speech(ref):
    p = speech([(0.0, 100), (0.9, 30), (0.0, 600)])
    _, ev = drive(ref, p, away_s=10.0)
    away = [e for e in ev if e[0] == EC.USER_AWAY][0]
    end = [e for e in ev if e[0] == EC.END_OF_SPEECH][0]
    assert away[2] == end[1] + 10 * SR  # armed when both became listening again


@REFS
def test_interruption_after_min_interruption_duration(ref):
    h, t = hyst(ref), timers(ref, min_int_s=0.5)
    t.set_agent_state(AgentState.SPEAKING, True)
    p = speech([(0.0, 10), (0.9, 60), (0.0, 30)])
    flags, _, hev = run_hysteresis(h, p, len(p), W)
    ev = run_timers(t, flags, hev, 7, W)
    inter = [e for e in ev if e[0] == EC.AGENT_INTERRUPTED]
    assert len(inter) == 1
    onset = inter[0][2]
    assert onset == 10 * W
    assert onset + SR // 2 <= inter[0][1] < onset + SR // 2 + W
    assert t.agent_state == AgentState.LISTENING
    # the interrupting utterance is a user turn
    assert ev[-1][0] == EC.USER_TURN_COMPLETED


@REFS
def test_short_speech_during_agent_speech_is_a_backchannel_not_a_turn(ref):
    h, t = hyst(ref), timers(ref, min_int_s=0.5)
    t.set_agent_state(AgentState.SPEAKING, True)
    p = speech([(0.0, 10), (0.9, 10), (0.0, 40)])  # 0.32 s < 0.5 s
    flags, _, hev = run_hysteresis(h, p, len(p), W)
    ev = run_timers(t, flags, hev, 10_000, W)
    assert [e[0] for e in ev] == [EC.START_OF_SPEECH, EC.END_OF_SPEECH, EC.USER_BACKCHANNEL]
    assert t.agent_state == AgentState.SPEAKING


@REFS
def test_uninterruptible_speech_is_not_interrupted(ref):
    h, t = hyst(ref), timers(ref)
    t.set_agent_state(AgentState.SPEAKING, False)
    p = speech([(0.9, 100), (0.0, 30)])
    flags, _, hev = run_hysteresis(h, p, len(p), W)
    ev = run_timers(t, flags, hev, 10_000, W)
    assert EC.AGENT_INTERRUPTED not in [e[0] for e in ev]


@REFS
def test_advance_fires_deadlines_exactly_in_time_order(ref):
    t = timers(ref, away_s=3.0)
    fired = t.advance(10 * SR)
    assert fired == [(EC.USER_AWAY, 3 * SR, 3 * SR)]
    assert t.now == 10 * SR
    with pytest.raises(ValueError):
        t.advance(-1)


@REFS
def test_stt_mode_waits_for_a_final_transcript(ref):
    h, t = hyst(ref), timers(ref, mode=TurnDetection.STT)
    p = speech([(0.9, 30), (0.0, 100)])
    flags, _, hev = run_hysteresis(h, p, len(p), W)
    ev = run_timers(t, flags, hev, 10_000, W)
    assert EC.USER_TURN_COMPLETED not in [e[0] for e in ev]
    fired = t.final_transcript()
    assert [e[0] for e in fired] == [EC.USER_TURN_COMPLETED]
    assert fired[0][1] == t.now


@REFS
def test_manual_mode_never_commits_by_itself(ref):
    h, t = hyst(ref), timers(ref, mode=TurnDetection.MANUAL)
    p = speech([(0.9, 30), (0.0, 300)])
    flags, _, hev = run_hysteresis(h, p, len(p), W)
    ev = run_timers(t, flags, hev, 10_000, W)
    assert EC.USER_TURN_COMPLETED not in [e[0] for e in ev]
    assert t.turn_open and t.commit() == 30 * W and not t.turn_open


@REFS
def test_process_rejects_bad_arguments_without_changing_state(ref):
    t = timers(ref)
    flags = np.zeros(4, np.uint8)
    with pytest.raises(ValueError, match="event arrays"):
        t.process(flags, np.zeros(0, np.int64), 0, np.zeros(3, np.int32), np.zeros(3, np.int64),
                  np.zeros(3, np.int64))
    flags[1] = 4  # START without its hysteresis event
    with pytest.raises(ValueError, match="hyst_aux"):
        t.process(flags, np.zeros(0, np.int64), 0, np.zeros(32, np.int32),
                  np.zeros(32, np.int64), np.zeros(32, np.int64))
    assert t.now == 0 and t.user_state == UserState.LISTENING
    with pytest.raises(ValueError):
        timers(ref, delay_s=-1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.3, 0.9]), st.integers(1, 80)), min_size=1,
                max_size=30),
       st.integers(1, 64), st.sampled_from([0, 3]), st.booleans())
def test_property_chunking_and_twins_agree(pattern, chunk, agent, interruptible):
    p = speech(pattern)
    results = []
    for ref, c in ((False, len(p)), (False, chunk), (True, chunk)):
        h, t = hyst(ref), timers(ref, away_s=2.0)
        t.set_agent_state(agent, interruptible)
        flags, _, hev = run_hysteresis(h, p, len(p), W)
        results.append((run_timers(t, flags, hev, c, W), t.user_state, t.agent_state, t.now))
    assert results[0] == results[1] == results[2]
    times = [e[1] for e in results[0][0]]
    assert times == sorted(times)


@REFS
@pytest.mark.parametrize("stop_on_event", [False, True])
def test_bound_step_equals_process(ref, stop_on_event):
    p = speech([(0.0, 10), (0.9, 40), (0.0, 40), (0.9, 20), (0.0, 500)])
    flags, _, hev = run_hysteresis(hyst(ref), p, len(p), W)
    want = run_timers(timers(ref, away_s=3.0), flags, hev, 16, W)
    t = timers(ref, away_s=3.0)
    fl, haux = np.zeros(16, np.uint8), np.zeros(16, np.int64)
    code, sample, aux = np.zeros(128, np.int32), np.zeros(128, np.int64), np.zeros(128, np.int64)
    t.bind(fl, haux, code, sample, aux)
    got, j, calls = [], 0, 0
    for a in range(0, len(p), 16):
        n = min(16, len(p) - a)
        fl[:n] = flags[a:a + n]
        m = int(((fl[:n] & 12) != 0).sum())
        haux[:m] = [e[2] for e in hev[j:j + m]]
        j += m
        w = jh = 0
        while w < n:
            k, used, used_h = t.step(w, n - w, jh, m, a * W + w * W, stop_on_event)
            calls += 1
            window_events = [(int(code[i]), int(sample[i]), int(aux[i])) for i in range(k)]
            if stop_on_event and k:
                # it stopped right after the window that emitted: all events share its time
                assert {e[1] for e in window_events} == {(a + w + used) * W}
            got += window_events
            w += used
            jh += used_h
    assert got == want and len(got) >= 5
    assert calls > (len(p) + 15) // 16 if stop_on_event else calls == (len(p) + 15) // 16
    with pytest.raises(ValueError, match="hysteresis events remain"):
        fl[0] = 4
        t.step(0, 1, 0, 0, t.now)


def model_timers(ref, predict_s=0.2, delay_s=0.5):
    return _kernels.load("timers", reference=ref).Timers(
        W, int(delay_s * SR), int(0.5 * SR), -1, int(TurnDetection.VAD), True,
        predict_after=int(predict_s * SR))


def drive_until(t, flags, hev):
    return run_timers(t, flags, hev, 10_000, W)


@REFS
def test_speculative_prediction_after_0_2_s_of_silence_and_commit_on_answer(ref):
    p = speech([(0.0, 5), (0.9, 30), (0.0, 60)])
    flags, _, hev = run_hysteresis(hyst(ref), p, len(p), W)
    t = model_timers(ref)
    ev = drive_until(t, flags, hev)
    kinds = [e[0] for e in ev]
    assert kinds == [EC.START_OF_SPEECH, EC.EOT_PREDICT, EC.END_OF_SPEECH]  # no turn yet
    predict = ev[1]
    last_voiced = 35 * W
    assert predict[2] == last_voiced
    assert last_voiced + int(0.2 * SR) <= predict[1] < last_voiced + int(0.2 * SR) + W
    assert t.awaiting_model
    fired = t.model_answer(int(0.5 * SR))  # likely done: min delay, already passed -> now
    assert [e[0] for e in fired] == [EC.USER_TURN_COMPLETED] and fired[0][1] == t.now


@REFS
def test_unlikely_answer_waits_the_long_delay_and_new_speech_cancels(ref):
    p = speech([(0.9, 30), (0.0, 25), (0.9, 30), (0.0, 200)])
    flags, _, hev = run_hysteresis(hyst(ref), p, len(p), W)
    t = model_timers(ref)
    # run up to the first END, answer "unlikely" (3 s), then let the user go on
    first_end = next(i for i in range(len(flags)) if flags[i] & 8)
    ev = run_timers(t, flags[:first_end + 1], hev[:2], 10_000, W)
    assert [e[0] for e in ev][-1] == EC.END_OF_SPEECH
    assert t.model_answer(int(3.0 * SR)) == []
    assert t.endpoint_deadline == 30 * W + 3 * SR
    rest = run_timers(t, flags[first_end + 1:], hev[2:], 10_000, W,
                      start=(first_end + 1) * W)
    kinds = [e[0] for e in rest]
    assert kinds[0] == EC.START_OF_SPEECH and EC.USER_TURN_COMPLETED not in kinds
    assert kinds.count(EC.EOT_PREDICT) == 1  # a fresh prediction for the new pause


@REFS
def test_prediction_at_end_when_min_silence_is_shorter_than_the_prediction_point(ref):
    h = _kernels.load("hysteresis", reference=ref).Hysteresis(W, 0.5, 0.35, 2, 3, 0.0, 0.0)
    p = speech([(0.9, 20), (0.0, 20)])
    flags, _, hev = run_hysteresis(h, p, len(p), W)
    t = model_timers(ref, predict_s=0.5)
    ev = drive_until(t, flags, hev)
    assert [e[0] for e in ev] == [EC.START_OF_SPEECH, EC.END_OF_SPEECH, EC.EOT_PREDICT]
    assert ev[1][1] == ev[2][1]


@REFS
def test_set_endpoint_delay_changes_the_fixed_delay(ref):
    t = timers(ref, delay_s=0.5)
    t.set_endpoint_delay(int(2.0 * SR))
    p = speech([(0.9, 30), (0.0, 150)])
    flags, _, hev = run_hysteresis(hyst(ref), p, len(p), W)
    ev = drive_until(t, flags, hev)
    turn = [e for e in ev if e[0] == EC.USER_TURN_COMPLETED][0]
    assert 30 * W + 2 * SR <= turn[1] < 30 * W + 2 * SR + W
    with pytest.raises(ValueError):
        t.set_endpoint_delay(-1)
