"""Timers kernel: the endpointing timer that starts at silence, model re-scoring (issue 11).

``from_silence``: the endpointing delay runs from the last voiced window, so a turn can commit
inside the VAD's hangover; the kernel then ends the speech segment itself, swallows the VAD's
own END of it, and resumes speech on ``restart_windows`` voiced windows before that END.
``predict_interval``: the model is asked again while the user stays silent.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import run_hysteresis, run_timers

from turnengine import _kernels
from turnengine._kernels.codes import EventCode, TurnDetection, UserState

W = 512
SR = 16000
EC = EventCode
REFS = pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])


def speech(pattern: list[tuple[float, int]]) -> np.ndarray:
    return np.concatenate([np.full(n, v, np.float32) for v, n in pattern])


def flags_of(ref: bool, probs: np.ndarray, min_silence: int = 18):
    h = _kernels.load("hysteresis", reference=ref).Hysteresis(W, 0.5, 0.35, 2, min_silence,
                                                                0.0, 0.0)
    flags, _, hev = run_hysteresis(h, probs, len(probs), W)
    return flags, hev


def silence_timers(ref: bool, delay_w: int = 6, restart: int = 2, predict_w: int = -1,
                   interval_w: int = -1, away_s: float | None = None, from_silence=True):
    return _kernels.load("timers", reference=ref).Timers(
        W, delay_w * W, int(0.5 * SR), -1 if away_s is None else int(away_s * SR),
        int(TurnDetection.VAD), True, predict_after=predict_w * W if predict_w >= 0 else -1,
        from_silence=from_silence, restart_windows=restart,
        predict_interval=interval_w * W if interval_w >= 0 else -1)


@REFS
def test_turn_commits_inside_the_hangover_and_ends_the_segment_there(ref):
    # 30 voiced windows end at window 35; the VAD would end the segment 18 windows later.
    flags, hev = flags_of(ref, speech([(0.0, 5), (0.9, 30), (0.0, 60)]))
    t = silence_timers(ref, delay_w=6)
    ev = run_timers(t, flags, hev, 10_000, W)
    assert [e[0] for e in ev] == [EC.START_OF_SPEECH, EC.END_OF_SPEECH,
                                  EC.USER_TURN_COMPLETED]
    _, end, turn = ev
    assert end[2] == turn[2] == 35 * W             # back-dated to the last voiced window
    assert end[1] == turn[1] == 41 * W             # 6 windows of silence, not 18
    assert t.user_state == UserState.LISTENING and not t.vad_segment_open  # VAD END swallowed


@REFS
def test_without_from_silence_the_hangover_is_the_floor(ref):
    flags, hev = flags_of(ref, speech([(0.0, 5), (0.9, 30), (0.0, 60)]))
    ev = run_timers(silence_timers(ref, delay_w=6, from_silence=False), flags, hev, 10_000, W)
    assert [e[1] for e in ev if e[0] == EC.USER_TURN_COMPLETED] == [53 * W]


@REFS
def test_speech_resumed_inside_the_vad_segment_starts_a_new_utterance(ref):
    # Commit after 6 silent windows, then 3 voiced windows before the VAD's hangover ran out.
    p = speech([(0.9, 30), (0.0, 10), (0.9, 3), (0.0, 60)])
    flags, hev = flags_of(ref, p)
    assert sum(1 for f in flags if f & 8) == 1    # one VAD segment only
    t = silence_timers(ref, delay_w=6, restart=2)
    ev = run_timers(t, flags, hev, 10_000, W)
    kinds = [e[0] for e in ev]
    assert kinds == [EC.START_OF_SPEECH, EC.END_OF_SPEECH, EC.USER_TURN_COMPLETED,
                     EC.START_OF_SPEECH, EC.END_OF_SPEECH, EC.USER_TURN_COMPLETED]
    restart = ev[3]
    assert restart[1] == 42 * W and restart[2] == 40 * W  # 2 voiced windows, back-dated
    assert ev[4][2] == 43 * W                             # the VAD's own END, back-dated
    assert ev[5][1] == 49 * W                             # 6 windows after the last voice


@REFS
def test_a_single_voiced_window_below_restart_windows_does_not_resume(ref):
    p = speech([(0.9, 30), (0.0, 10), (0.9, 1), (0.0, 60)])
    flags, hev = flags_of(ref, p)
    ev = run_timers(silence_timers(ref, delay_w=6, restart=2), flags, hev, 10_000, W)
    assert [e[0] for e in ev] == [EC.START_OF_SPEECH, EC.END_OF_SPEECH,
                                  EC.USER_TURN_COMPLETED]


@REFS
def test_rescoring_asks_again_and_a_likely_answer_commits_at_once(ref):
    flags, hev = flags_of(ref, speech([(0.9, 30), (0.0, 100)]))
    t = silence_timers(ref, delay_w=4, predict_w=2, interval_w=3)
    out: list[tuple[int, int, int]] = []
    # Step window by window and answer each request: "unlikely" (long delay) twice, then
    # "likely" (the minimum delay, already passed): the turn commits at the third answer.
    answers = [80 * W, 80 * W, 4 * W]
    for i in range(len(flags)):
        got = run_timers(t, flags[i:i + 1], hev[:1] if flags[i] & 12 else [], 1, W, start=i * W)
        out += got
        if any(e[0] == EC.EOT_PREDICT for e in got):
            assert t.awaiting_model
            out += t.model_answer(answers.pop(0))
        if any(e[0] == EC.USER_TURN_COMPLETED for e in out):
            break
    asks = [e[1] for e in out if e[0] == EC.EOT_PREDICT]
    assert asks == [32 * W, 35 * W, 38 * W]       # at 2 windows of silence, then every 3
    (turn,) = [e for e in out if e[0] == EC.USER_TURN_COMPLETED]
    assert turn[1] == 38 * W and turn[2] == 30 * W and not answers


@REFS
def test_voice_after_a_prediction_reports_the_pause_resumed(ref):
    flags, hev = flags_of(ref, speech([(0.9, 30), (0.0, 4), (0.9, 10), (0.0, 5)]))
    t = silence_timers(ref, delay_w=30, predict_w=2)
    ev = run_timers(t, flags, hev, 10_000, W)
    kinds = [e[0] for e in ev]
    assert kinds == [EC.START_OF_SPEECH, EC.EOT_PREDICT, EC.EOT_RESUMED, EC.EOT_PREDICT]
    assert [e[1] for e in ev[1:]] == [32 * W, 35 * W, 46 * W] and t.awaiting_model


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.3, 0.4, 0.9]), st.integers(1, 40)),
                min_size=1, max_size=30),
       st.integers(1, 64), st.integers(1, 30), st.integers(1, 3), st.booleans())
def test_property_from_silence_chunking_and_twins_agree(pattern, chunk, delay_w, restart, away):
    p = speech(pattern)
    results = []
    for ref, c in ((False, len(p)), (False, chunk), (True, chunk)):
        flags, hev = flags_of(ref, p)
        t = silence_timers(ref, delay_w=delay_w, restart=restart, away_s=1.0 if away else None)
        ev = run_timers(t, flags, hev, c, W)
        results.append((ev, t.user_state, t.now, t.vad_segment_open))
    assert results[0] == results[1] == results[2]
    ev = results[0][0]
    assert [e[1] for e in ev] == sorted(e[1] for e in ev)
    # START and END alternate, and a turn only ever follows an END
    bounds = [e[0] for e in ev if e[0] in (EC.START_OF_SPEECH, EC.END_OF_SPEECH)]
    assert bounds == [EC.START_OF_SPEECH, EC.END_OF_SPEECH] * (len(bounds) // 2) + (
        [EC.START_OF_SPEECH] if len(bounds) % 2 else [])
    state = "listening"
    for code, _, _ in ev:
        if code == EC.START_OF_SPEECH:
            state = "speaking"
        elif code == EC.END_OF_SPEECH:
            state = "listening"
        elif code == EC.USER_TURN_COMPLETED:
            assert state == "listening"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.4, 0.9]), st.integers(1, 40)), min_size=1,
                max_size=20),
       st.integers(1, 8), st.integers(1, 4), st.lists(st.booleans(), min_size=1, max_size=50))
def test_property_rescoring_twins_agree(pattern, delay_w, interval_w, likely):
    p = speech(pattern)
    results = []
    for ref in (False, True):
        flags, hev = flags_of(ref, p)
        t = silence_timers(ref, delay_w=delay_w, predict_w=2, interval_w=interval_w)
        answers, out, j = list(likely), [], 0
        for i in range(len(flags)):
            m = 1 if flags[i] & 12 else 0
            got = run_timers(t, flags[i:i + 1], hev[j:j + m], 1, W, start=i * W)
            j += m
            out += got
            if any(e[0] == EC.EOT_PREDICT for e in got):
                yes = answers.pop(0) if len(answers) > 1 else answers[0]
                out += t.model_answer(delay_w * W if yes else 60 * W)
        results.append((out, t.now, t.user_state, t.awaiting_model))
    assert results[0] == results[1]


@REFS
def test_bad_restart_windows_is_refused(ref):
    with pytest.raises(ValueError, match="restart_windows"):
        silence_timers(ref, restart=0)
