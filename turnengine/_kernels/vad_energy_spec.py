"""Specification of the ``energy`` VAD kernel, shared by ``ext/vad_energy.pyx`` and its twin.

Both ``ext/vad_energy.pyx`` and ``vad_energy_ref.py`` import this module, so they cannot drift
apart: the constants (see the algorithm in ``vad_energy_ref`` and ``docs/energy_vad.md``), the
filter design ``butter2`` and the argument checks (identical error messages).  Plain Python and
numpy; no kernel state lives here.
"""

from __future__ import annotations

import math

import numpy as np

SUPPORTED_RATES_HZ = (8000, 16000)
_RATES_TEXT = "8000 or 16000"

# Filters and voicing analysis.
HIGHPASS_HZ = 100.0  # energy and voicing both use the high-passed signal
LOWPASS_HZ = 1000.0  # anti-alias before decimating to VOICING_RATE_HZ
VOICING_RATE_HZ = 4000  # decimated rate of the voicing analysis
VOICING_WINDOW = 80  # 20 ms at 4 kHz
LAG_MIN = 10  # 2.5 ms, 400 Hz pitch
LAG_MAX = 64  # 16 ms, 62.5 Hz pitch
HISTORY = VOICING_WINDOW + LAG_MAX  # decimated samples kept (144)
VOICING_EPS = 1e-12  # in sqrt(e_a * e_b + eps): near-silent windows are unvoiced

# Log energy and the adaptive noise floor (all in dB).
ENERGY_EPS = 1e-10  # -100 dBFS for digital silence
STARTUP_WINDOWS = 10  # running-mean start-up of the floor
FLOOR_QUANTILE = 0.2  # quantile the floor tracker settles at
FLOOR_STEP = 0.05  # tracker step, in units of the spread
SPREAD_INIT_DB = 1.0
SPREAD_ALPHA = 0.02  # smoothing of the lower-side spread
SPREAD_MIN_DB = 0.5
SPREAD_MAX_DB = 5.0
NOISE_SPREADS = 3.0  # a window within 3 spreads above the floor is noise-like
MARGIN_MIN_DB = 6.0
MARGIN_MAX_DB = 15.0
SLOW_RISE_DB = 0.005  # floor rise per window while frames are far above it
BLOCK_WINDOWS = 100  # minimum-statistics block (floor >= min over the last 1-2 s)
ABS_THRESHOLD_DB = -60.0  # never call anything quieter than this speech
ENERGY_CLAMP = 4.0  # |le| <= 4 logits

# Voicing cue and the logistic combination.
VOICING_HOLD_DECAY = 0.01  # peak-hold decay per window
VOICING_REF = 0.5  # held voicing above this argues for speech, below against
VOICING_WEIGHT = 6.0
BIAS = 4.0  # = ENERGY_CLAMP: even a loud window needs held voicing >= VOICING_REF

NO_MINIMUM = 1e300  # "no minimum yet" for the block minima (dB)


def check_sample_rate(sample_rate_hz: object) -> int:
    """Validate the sample rate and return it as int.

    Raises
    ------
    TypeError
        If ``sample_rate_hz`` is not an integer (bool is refused).
    ValueError
        If the rate is not 8000 or 16000.
    """
    if isinstance(sample_rate_hz, (bool, np.bool_)) or not isinstance(
        sample_rate_hz, (int, np.integer)
    ):
        raise TypeError(
            f"sample_rate_hz must be an int ({_RATES_TEXT}), got "
            f"{type(sample_rate_hz).__name__} {sample_rate_hz!r}"
        )
    rate = int(sample_rate_hz)
    if rate not in SUPPORTED_RATES_HZ:
        raise ValueError(f"unsupported sample rate {rate} Hz; expected {_RATES_TEXT}")
    return rate


def butter2(cutoff_hz: float, sample_rate_hz: int, highpass: bool) -> tuple[float, ...]:
    """2nd-order Butterworth biquad ``(b0, b1, b2, a1, a2)`` by the bilinear transform.

    Same coefficients as ``scipy.signal.butter(2, cutoff_hz / (sample_rate_hz / 2), ...)``,
    computed in closed form with ``math`` so both twins get the same bits.
    """
    k = math.tan(math.pi * cutoff_hz / sample_rate_hz)
    kk = k * k
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + kk)
    a1 = 2.0 * (kk - 1.0) * norm
    a2 = (1.0 - math.sqrt(2.0) * k + kk) * norm
    if highpass:
        b0 = norm
        return (b0, -2.0 * b0, b0, a1, a2)
    b0 = kk * norm
    return (b0, 2.0 * b0, b0, a1, a2)


def check_samples(samples: object, window_size: int) -> int:
    """Validate a chunk of samples; return its number of windows.

    Raises
    ------
    TypeError
        If ``samples`` is not a float32 numpy array.
    ValueError
        If it is not 1-D and C-contiguous, or its length is not a multiple of ``window_size``.
    """
    if not isinstance(samples, np.ndarray) or samples.dtype != np.float32:
        got = (
            f"{samples.dtype} array of shape {samples.shape}"
            if isinstance(samples, np.ndarray)
            else type(samples).__name__
        )
        raise TypeError(f"expected samples as a float32 numpy array, got {got}")
    if samples.ndim != 1 or not samples.flags.c_contiguous:
        raise ValueError(
            "expected samples as a 1-D C-contiguous float32 array, got shape "
            f"{samples.shape} with strides {samples.strides}"
        )
    n = samples.shape[0]
    if n % window_size:
        raise ValueError(
            f"expected a whole number of {window_size}-sample windows (10 ms), got {n} samples "
            f"({n // window_size} windows + {n % window_size})"
        )
    return n // window_size


def check_probs_out(probs_out: object, n_windows: int) -> int:
    """Validate the output buffer: writable 1-D C-contiguous float32 of length >= n_windows.

    Raises
    ------
    TypeError
        If ``probs_out`` is not a float32 numpy array.
    ValueError
        If it is not 1-D and C-contiguous, is read-only, or is shorter than ``n_windows``.
    """
    if not isinstance(probs_out, np.ndarray) or probs_out.dtype != np.float32:
        got = (
            f"{probs_out.dtype} array"
            if isinstance(probs_out, np.ndarray)
            else type(probs_out).__name__
        )
        raise TypeError(f"expected probs_out as a float32 numpy array, got {got}")
    if probs_out.ndim != 1 or not probs_out.flags.c_contiguous:
        raise ValueError(
            "expected probs_out as a 1-D C-contiguous float32 array, got shape "
            f"{probs_out.shape} with strides {probs_out.strides}"
        )
    if not probs_out.flags.writeable:
        raise ValueError("expected a writable probs_out array, got a read-only one")
    if probs_out.shape[0] < n_windows:
        raise ValueError(
            f"expected probs_out of length >= {n_windows} (one per window), got length "
            f"{probs_out.shape[0]}"
        )
    return int(probs_out.shape[0])


def nonfinite_error(index: int) -> ValueError:
    """The error raised for a chunk holding NaN/inf at sample ``index``."""
    return ValueError(f"expected finite float32 samples in [-1, 1], got NaN/inf at sample {index}")
