"""Whisper log-mel feature kernel (ext/features.pyx) and its reference twin (features_ref.py).

Every API test runs against both the compiled kernel and the numpy twin (``feat`` fixture).  The
definition is checked against transformers' ``WhisperFeatureExtractor(chunk_length=8)`` with
``do_normalize=True`` on the last 8 s zero-padded at the start, as Pipecat feeds Smart Turn v3.
Real audio: tests/data/*.wav (16 kHz int16 speech).
"""

from __future__ import annotations

import functools
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turnengine import _kernels
from turnengine._kernels import features_ref, load

DATA = Path(__file__).parent / "data"
CLIPS = sorted(p.stem for p in DATA.glob("*.wav"))
CHUNKS = (1, 7, 160, 511, 4096)
SHAPE = (80, 800)
WIN = 128000
HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(params=[False, True], ids=["compiled", "reference"])
def feat(request):
    return load("features", reference=request.param)


@pytest.fixture(scope="module")
def compiled():
    return load("features", reference=False)


@functools.cache
def clip(name: str = "C2_composed_real_multi_clean") -> np.ndarray:
    x, rate = sf.read(DATA / f"{name}.wav", dtype="int16")
    assert rate == 16000 and x.ndim == 1
    x.setflags(write=False)
    return x


def f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / np.float32(32768.0)


def stream(mod, x: np.ndarray, chunk: int, scale: bool = True) -> tuple[np.ndarray, int]:
    f = mod.WhisperFeatures()
    for a in range(0, x.shape[0], chunk):
        f.push(np.ascontiguousarray(x[a : a + chunk]))
    out = np.empty(SHAPE, np.float32)
    covered = f.features(out, scale)
    return out, covered


@functools.cache
def hf_extractor():
    if os.environ.get("CI"):
        import transformers  # noqa: F401  (CI installs the dev extra: never skip there)
    else:
        pytest.importorskip("transformers")
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(chunk_length=8)


def hf_features(x: np.ndarray) -> np.ndarray:
    """Smart Turn v3's features as Pipecat computes them, with transformers itself."""
    y = f32(x) if x.dtype == np.int16 else x
    y = y[-WIN:] if y.shape[0] >= WIN else np.pad(y, (WIN - y.shape[0], 0))
    return hf_extractor()(
        y, sampling_rate=16000, return_tensors="np", padding="max_length", max_length=WIN,
        truncation=True, do_normalize=True,
    ).input_features[0]


# -- the definition -------------------------------------------------------------------------------
def test_mel_filters_are_whispers():
    np.testing.assert_allclose(features_ref.mel_filters(), hf_extractor().mel_filters,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CLIPS)
@pytest.mark.parametrize("fraction", [0.3, 1.0])
def test_equals_whisper_feature_extractor_on_real_speech(feat, name, fraction):
    """Shorter than 8 s (zero padding at the start) and longer (the last 8 s)."""
    x = clip(name)
    x = np.ascontiguousarray(x[: int(x.shape[0] * fraction)])
    want = hf_features(x)
    got = feat.whisper_log_mel(x)
    assert got.shape == SHAPE and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)  # measured <= 6e-6


def test_digital_silence(feat):
    """All zeros: log10(1e-10) = -10 everywhere, (-10 + 4) / 4 = -1.5 (as transformers)."""
    for n in (0, 1000, 200000):
        got = feat.whisper_log_mel(np.zeros(n, np.int16))
        np.testing.assert_allclose(got, np.full(SHAPE, -1.5, np.float32), rtol=0, atol=1e-6)


@pytest.mark.parametrize("n", [1, 399, 1000, 50000, WIN - 160, WIN, WIN + 160, WIN + 7, 300001])
def test_compiled_equals_reference(compiled, n):
    x = np.ascontiguousarray(clip()[:n])
    for scale, atol in ((False, 1e-5), (True, 1e-5)):  # measured 1e-6 and 2e-7
        np.testing.assert_allclose(compiled.whisper_log_mel(x, scale),
                                   features_ref.whisper_log_mel(x, scale), rtol=0, atol=atol)


def test_unscaled_is_log10_of_normalised_mel(feat):
    x = np.ascontiguousarray(clip()[:160000])
    raw = feat.whisper_log_mel(x, scale=False)
    scaled = feat.whisper_log_mel(x)
    want = (np.maximum(raw, raw.max() - 8.0) + 4.0) / 4.0
    np.testing.assert_allclose(scaled, want, rtol=0, atol=1e-6)
    assert raw.min() >= -10.0 - 1e-6


# -- streaming ----------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", CHUNKS)
def test_chunked_equals_one_shot(feat, chunk):
    x = np.ascontiguousarray(clip()[: 12 * 16000 + 77])  # past 8 s, with a partial hop
    if chunk == 1 and feat is features_ref:
        x = x[: 3 * 16000 + 77]  # one Python call per sample: keep the twin's run short
    one, c1 = stream(feat, x, x.shape[0])
    got, c2 = stream(feat, x, chunk)
    assert c1 == c2
    if feat is features_ref:
        np.testing.assert_allclose(got, one, rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, one)  # bit-exact


def test_int16_and_float32_give_the_same_features(feat):
    x = np.ascontiguousarray(clip()[:100000])
    a, _ = stream(feat, x, 511)
    b, _ = stream(feat, f32(x), 511)
    np.testing.assert_array_equal(a, b)


def test_features_of_the_turn_so_far(feat):
    """At any time, ``features`` is the definition applied to the audio so far (whole hops)."""
    x = np.ascontiguousarray(clip()[:300000])
    f = feat.WhisperFeatures()
    out = np.empty(SHAPE, np.float32)
    pos = 0
    for stop in (150, 400, 4000, 16000 + 33, WIN, WIN + 160, WIN + 1000, 200000, 300000):
        f.push(np.ascontiguousarray(x[pos:stop]))
        pos = stop
        whole = stop - stop % 160
        assert f.n_samples == stop
        assert f.pending_samples == stop % 160
        assert f.n_frames == (0 if stop < 200 else (stop - 200) // 160 + 1)
        covered = f.features(out)
        assert covered == min(whole, WIN)
        np.testing.assert_allclose(out, features_ref.whisper_log_mel(x[:whole]), rtol=0,
                                   atol=1e-5)


def test_ring_past_8_s_equals_a_fresh_turn_on_the_last_8_s(compiled):
    """After 20 s, only the last 8 s count: bit-identical to a turn that held just them."""
    x = np.ascontiguousarray(clip()[: 20 * 16000])
    long_, c1 = stream(compiled, x, 4096)
    short, c2 = stream(compiled, np.ascontiguousarray(x[-WIN:]), 4096)
    assert c1 == c2 == WIN
    np.testing.assert_array_equal(long_, short)
    # And the 12 s that fell out of the window leave no trace.
    y = x.copy()
    y[: x.shape[0] - WIN] = 0
    other, _ = stream(compiled, y, 4096)
    np.testing.assert_array_equal(other, long_)


def test_reset_starts_a_new_turn(feat):
    x = np.ascontiguousarray(clip()[:150000])
    f = feat.WhisperFeatures()
    f.push(np.ascontiguousarray(clip()[200000:350000]))
    f.reset()
    assert (f.n_samples, f.n_frames, f.pending_samples) == (0, 0, 0)
    f.push(x)
    out = np.empty(SHAPE, np.float32)
    f.features(out)
    want, _ = stream(feat, x, x.shape[0])
    np.testing.assert_array_equal(out, want)


def test_push_returns_completed_frames(feat):
    f = feat.WhisperFeatures()
    assert f.push(np.zeros(199, np.int16)) == 0
    assert f.push(np.zeros(1, np.int16)) == 1  # frame 0 spans samples -200 .. 199
    assert f.push(np.zeros(160 * 10, np.int16)) == 10
    assert f.push(np.zeros(0, np.int16)) == 0
    assert f.n_frames == 11


@HYPOTHESIS
@given(
    n=st.integers(0, 6000),
    cuts=st.lists(st.integers(0, 6000), max_size=8),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_any_chunking_is_bit_exact(compiled, n, cuts, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 3000).astype(np.int16)
    bounds = sorted({0, n, *(c for c in cuts if c <= n)})
    f = compiled.WhisperFeatures()
    for a, b in itertools.pairwise(bounds):
        f.push(np.ascontiguousarray(x[a:b]))
    out = np.empty(SHAPE, np.float32)
    f.features(out)
    one, _ = stream(compiled, x, max(n, 1))
    np.testing.assert_array_equal(out, one)


@HYPOTHESIS
@given(n=st.integers(0, 140000), seed=st.integers(0, 2**31 - 1), level=st.sampled_from([1, 3000]))
def test_property_compiled_equals_definition_for_any_length(compiled, n, seed, level):
    """Any turn length (the hop grid, frame -1, the 8 s edge, quiet or loud audio)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * level).astype(np.int16)
    got, covered = stream(compiled, x, 4096)
    whole = n - n % 160
    assert covered == min(whole, WIN)
    np.testing.assert_allclose(got, features_ref.whisper_log_mel(x[:whole]), rtol=0, atol=1e-5)


# -- bad input ----------------------------------------------------------------------------------
def _state(f) -> tuple[int, int, np.ndarray]:
    out = np.empty(SHAPE, np.float32)
    f.features(out)
    return f.n_samples, f.n_frames, out


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.zeros(100, np.float64), TypeError, "expected int16 or float32 samples, got float64"),
        (np.zeros(100, np.int32), TypeError, "expected int16 or float32"),
        ([0.0] * 100, TypeError, "got list"),
        (np.zeros((50, 2), np.int16), ValueError, "expected a 1-D array"),
        (np.zeros(200, np.int16)[::2], ValueError, "C-contiguous"),
        (np.array([0.0, 0.1, np.nan], np.float32), ValueError, "NaN/inf at sample 2"),
        (np.array([np.inf], np.float32), ValueError, "NaN/inf at sample 0"),
    ],
)
def test_bad_input_is_refused_and_leaves_the_state_unchanged(feat, bad, exc, match):
    f = feat.WhisperFeatures()
    f.push(np.ascontiguousarray(clip()[:20000]))
    before = _state(f)
    with pytest.raises(exc, match=match):
        f.push(bad)
    after = _state(f)
    assert before[:2] == after[:2]
    np.testing.assert_array_equal(before[2], after[2])
    with pytest.raises(exc, match=match):
        feat.whisper_log_mel(bad)


@pytest.mark.parametrize(
    "out, exc",
    [
        (np.empty(SHAPE, np.float64), TypeError),
        (np.empty((80, 801), np.float32), ValueError),
        (np.empty((800, 80), np.float32), ValueError),
        (np.empty((80, 1600), np.float32)[:, ::2], ValueError),
        ("nope", TypeError),
    ],
)
def test_bad_out_is_refused(feat, out, exc):
    f = feat.WhisperFeatures()
    with pytest.raises(exc, match="expected out"):
        f.features(out)


def test_read_only_out_is_refused(feat):
    out = np.empty(SHAPE, np.float32)
    out.setflags(write=False)
    with pytest.raises(ValueError, match="writable"):
        feat.WhisperFeatures().features(out)


def test_loader_selects_the_twin(monkeypatch):
    monkeypatch.setenv(_kernels.ENV_PUREPYTHON, "1")
    assert load("features") is features_ref
    monkeypatch.setenv(_kernels.ENV_PUREPYTHON, "0")
    assert load("features").__name__ == "turnengine._kernels.features"
