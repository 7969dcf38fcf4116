"""Hysteresis kernel (SPEC 3.2): rule, streaming == one-shot, compiled == reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import run_hysteresis

from turnengine import _kernels
from turnengine._kernels.codes import EventCode, WindowFlag

W = 512


def make(reference: bool, **kw):
    args = dict(window_size=W, activation_threshold=0.5, deactivation_threshold=0.35,
                min_speech_windows=2, min_silence_windows=3, smoothing_alpha=0.0, min_volume=0.0)
    args.update(kw)
    return _kernels.load("hysteresis", reference=reference).Hysteresis(**args)


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_start_and_end_follow_the_livekit_rule(ref):
    # speech needs 2 windows >= 0.5; while speaking 0.4 (> 0.35) stays speech; 3 quiet end it.
    p = np.array([0.9, 0.1, 0.9, 0.6, 0.4, 0.4, 0.2, 0.3, 0.36, 0.1, 0.1, 0.1, 0.1],
                 dtype=np.float32)
    flags, _, events = run_hysteresis(make(ref), p, len(p), W)
    # START decided after window 3 (began at window 2); 0.36 at window 8 is speech again while
    # speaking, so the silence count restarts and END comes after windows 9-11.
    assert events == [
        (EventCode.START_OF_SPEECH, 4 * W, 2 * W),
        (EventCode.END_OF_SPEECH, 12 * W, 9 * W),
    ]
    speaking = (flags & WindowFlag.SPEAKING) != 0
    assert speaking.tolist()[:4] == [False, False, False, True]


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_deactivation_threshold_holds_speech(ref):
    p = np.array([0.9, 0.9, 0.4, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.2], dtype=np.float32)
    _, _, events = run_hysteresis(make(ref), p, len(p), W)
    # START after window 2 (index 1); 0.4 > 0.35 keeps it; END after three 0.2 windows.
    assert events == [(EventCode.START_OF_SPEECH, 2 * W, 0),
                      (EventCode.END_OF_SPEECH, 9 * W, 6 * W)]


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_below_activation_never_starts(ref):
    p = np.full(50, 0.49, dtype=np.float32)
    flags, _, events = run_hysteresis(make(ref), p, 50, W)
    assert events == [] and not flags.any()


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_min_volume_gate_vetoes_quiet_windows(ref):
    p = np.full(10, 0.9, dtype=np.float32)
    rms = np.full(10, 0.001, dtype=np.float32)
    _, _, gated = run_hysteresis(make(ref, min_volume=0.01), p, 10, W, rms=rms)
    _, _, loud = run_hysteresis(make(ref, min_volume=0.01), p, 10, W, rms=rms * 100)
    assert gated == [] and loud[0][0] == EventCode.START_OF_SPEECH


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_smoothing_is_exponential(ref):
    p = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    _, smoothed, _ = run_hysteresis(make(ref, smoothing_alpha=0.35), p, 3, W)
    np.testing.assert_allclose(smoothed, [1.0, 0.35, 0.35 * 0.35], rtol=1e-6)


def _real_probs() -> np.ndarray:
    rng = np.random.default_rng(7)
    # Bursty probabilities shaped like a VAD's output on speech with pauses.
    segs = [rng.uniform(0.0, 0.3, rng.integers(5, 40)) if i % 2 else
            rng.uniform(0.3, 1.0, rng.integers(1, 60)) for i in range(60)]
    return np.concatenate(segs).astype(np.float32)


@pytest.mark.parametrize("chunk", [1, 7, 160, 511, 4096])
@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_chunked_equals_one_shot(ref, chunk):
    p = _real_probs()
    one = run_hysteresis(make(ref, smoothing_alpha=0.35, min_silence_windows=18), p, len(p), W)
    many = run_hysteresis(make(ref, smoothing_alpha=0.35, min_silence_windows=18), p, chunk, W)
    assert np.array_equal(one[0], many[0])
    assert np.array_equal(one[1], many[1])
    assert one[2] == many[2] and len(one[2]) > 10


def test_compiled_equals_reference_bit_for_bit():
    p = _real_probs()
    rms = np.abs(np.sin(np.arange(len(p)))).astype(np.float32) * 0.05
    kw = dict(smoothing_alpha=0.35, min_silence_windows=18, min_volume=0.01)
    c = run_hysteresis(make(False, **kw), p, 97, W, rms=rms)
    r = run_hysteresis(make(True, **kw), p, 97, W, rms=rms)
    assert np.array_equal(c[0], r[0]) and np.array_equal(c[1], r[1]) and c[2] == r[2]


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_bad_arguments_raise_and_leave_state_unchanged(ref):
    h = make(ref)
    p = np.full(4, 0.9, dtype=np.float32)
    small = np.zeros(2, np.uint8)
    with pytest.raises(ValueError, match="length >= 4"):
        h.process(p, None, 0, small, np.zeros(4, np.float32), np.zeros(4, np.int32),
                  np.zeros(4, np.int64), np.zeros(4, np.int64))
    assert not h.speaking and h.speech_run == 0
    with pytest.raises(ValueError, match="event arrays"):
        h.process(p, None, 0, np.zeros(4, np.uint8), np.zeros(4, np.float32),
                  np.zeros(1, np.int32), np.zeros(1, np.int64), np.zeros(1, np.int64))
    assert h.speech_run == 0
    for kw in ({"min_speech_windows": 0}, {"activation_threshold": 1.5}, {"window_size": 0}):
        with pytest.raises(ValueError):
            make(ref, **kw)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, width=32), min_size=1, max_size=300),
       st.integers(1, 50), st.floats(0, 0.9))
def test_property_any_chunking_same_result_and_twins_agree(probs, chunk, alpha):
    p = np.array(probs, dtype=np.float32)
    kw = dict(smoothing_alpha=alpha)
    c1 = run_hysteresis(make(False, **kw), p, len(p), W)
    c2 = run_hysteresis(make(False, **kw), p, chunk, W)
    r = run_hysteresis(make(True, **kw), p, chunk, W)
    assert c1[2] == c2[2] == r[2]
    assert np.array_equal(c1[0], c2[0]) and np.array_equal(c1[0], r[0])
    # START/END alternate, starting with START.
    kinds = [e[0] for e in c1[2]]
    assert kinds == [EventCode.START_OF_SPEECH, EventCode.END_OF_SPEECH] * (len(kinds) // 2) + (
        [EventCode.START_OF_SPEECH] if len(kinds) % 2 else [])


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_bound_step_equals_process(ref):
    p = _real_probs()
    a = make(ref, smoothing_alpha=0.35, min_silence_windows=18)
    want = run_hysteresis(a, p, 64, W)
    b = make(ref, smoothing_alpha=0.35, min_silence_windows=18)
    probs, rms = np.zeros(64, np.float32), np.zeros(64, np.float32)
    flags, smoothed = np.zeros(64, np.uint8), np.zeros(64, np.float32)
    code, sample, aux = np.zeros(64, np.int32), np.zeros(64, np.int64), np.zeros(64, np.int64)
    b.bind(probs, rms, flags, smoothed, code, sample, aux)
    events, all_flags = [], []
    for start in range(0, len(p), 64):
        n = min(64, len(p) - start)
        probs[:n] = p[start:start + n]
        k = b.step(n, start * W)
        events += [(int(code[i]), int(sample[i]), int(aux[i])) for i in range(k)]
        all_flags.append(flags[:n].copy())
    assert events == want[2]
    assert np.array_equal(np.concatenate(all_flags), want[0])
    with pytest.raises(ValueError, match="n <= 64"):
        b.step(65, 0)
    with pytest.raises(ValueError, match="bind"):
        make(ref).step(1, 0)


def _runs_from_flags(flags: np.ndarray) -> np.ndarray:
    """The raw speech/silence runs recounted in Python from the RAW_SPEECH flags."""
    speech = silence = 0
    out = []
    for f in flags.tolist():
        if f & WindowFlag.RAW_SPEECH:
            speech, silence = speech + 1, 0
        else:
            speech, silence = 0, silence + 1
        out.append((speech, silence))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("chunk", [1, 7, 160, 511, 4096])
def test_runs_out_chunked_equals_one_shot_and_twins_agree(chunk):
    p = _real_probs()
    kw = dict(smoothing_alpha=0.35, min_silence_windows=18)
    results = []
    for ref, step in ((False, len(p)), (False, chunk), (True, chunk)):
        h = make(ref, **kw)
        runs = np.full((len(p), 2), -1, np.int64)
        flags, _, events = run_hysteresis(h, p, step, W, runs=runs)
        assert (h.speech_run, h.silence_run) == tuple(runs[-1])
        results.append((flags, runs, events))
    flags, runs, events = results[0]
    assert np.array_equal(runs, _runs_from_flags(flags))
    assert runs[:, 0].max() > 10 and runs[:, 1].max() > 10
    for other in results[1:]:
        assert np.array_equal(other[0], flags) and np.array_equal(other[1], runs)
        assert other[2] == events


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_runs_out_through_bind_and_step_and_after_force_silence(ref):
    p = _real_probs()
    want = np.zeros((len(p), 2), np.int64)
    run_hysteresis(make(ref), p, 64, W, runs=want)
    h = make(ref)
    probs, rms = np.zeros(64, np.float32), np.zeros(64, np.float32)
    flags, smoothed = np.zeros(64, np.uint8), np.zeros(64, np.float32)
    code, sample, aux = np.zeros(64, np.int32), np.zeros(64, np.int64), np.zeros(64, np.int64)
    runs = np.zeros((64, 2), np.int64)
    h.bind(probs, rms, flags, smoothed, code, sample, aux, runs_out=runs)
    got = []
    for start in range(0, len(p), 64):
        n = min(64, len(p) - start)
        probs[:n] = p[start:start + n]
        h.step(n, start * W)
        got.append(runs[:n].copy())
    assert np.array_equal(np.concatenate(got), want)
    # force_silence restarts both runs: the next window counts from 1.
    h.force_silence()
    probs[:2] = (0.9, 0.9)
    h.step(2, len(p) * W)
    assert runs[:2].tolist() == [[1, 0], [2, 0]]
    # Binding without runs_out stops writing them.
    h.bind(probs, rms, flags, smoothed, code, sample, aux)
    runs[:] = -1
    h.step(2, (len(p) + 2) * W)
    assert (runs == -1).all()


@pytest.mark.parametrize("ref", [False, True], ids=["compiled", "reference"])
def test_bad_runs_out_raises_and_leaves_state_unchanged(ref):
    h = make(ref)
    p = np.full(4, 0.9, dtype=np.float32)
    outs = (np.zeros(4, np.uint8), np.zeros(4, np.float32), np.zeros(4, np.int32),
            np.zeros(4, np.int64), np.zeros(4, np.int64))
    with pytest.raises(TypeError, match="expected runs_out as an int64 numpy array, got int32"):
        h.process(p, None, 0, *outs, runs_out=np.zeros((4, 2), np.int32))
    with pytest.raises(ValueError, match=r"shape \(>= 4, 2\), got shape \(4, 3\)"):
        h.process(p, None, 0, *outs, runs_out=np.zeros((4, 3), np.int64))
    with pytest.raises(ValueError, match=r"shape \(>= 4, 2\), got shape \(3, 2\)"):
        h.process(p, None, 0, *outs, runs_out=np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        h.process(p, None, 0, *outs, runs_out=np.zeros((4, 2), np.int64, order="F"))
    read_only = np.zeros((4, 2), np.int64)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        h.process(p, None, 0, *outs, runs_out=read_only)
    with pytest.raises(ValueError, match=r"shape \(>= 4, 2\)"):
        h.bind(p, p, *outs, runs_out=np.zeros((2, 2), np.int64))
    assert not h.speaking and h.speech_run == 0
