"""Specification of the PCM intake kernel, shared by ``ext/pcm.pyx`` and ``pcm_ref.py``.

Both twins import this module, so they cannot drift apart: the supported rates and
conversions, the resampler's filter designs (``resampler_design``, ``resampler_delay``), the
summation order (``SUM_LANES``) and the argument checks (identical error messages).  Plain
Python and numpy (scipy only when a filter is designed); no kernel state lives here.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

SUPPORTED_RATES_HZ = (8000, 16000, 24000, 32000, 44100, 48000)
NATIVE_RATES_HZ = (8000, 16000)
RESAMPLED_RATE_HZ = 16000

#: (up, down) per input rate for the default output rate (``output_rate_hz=None``);
#: output rate = input * up / down.
RATIOS = {
    8000: (1, 1),
    16000: (1, 1),
    24000: (2, 3),
    32000: (1, 2),
    44100: (160, 441),
    48000: (1, 3),
}

#: (up, down) per supported (input rate, output rate): every default conversion of ``RATIOS``,
#: plus 8 kHz telephony audio up-sampled to 16 kHz (L=2, M=1) for 16 kHz models.
CONVERSIONS = {
    **{(rate, rate * up // down): (up, down) for rate, (up, down) in RATIOS.items()},
    (8000, 16000): (2, 1),
}

#: Low-pass for 24/32/44.1/48 kHz -> 16 kHz (Kaiser-window FIR from scipy.signal.firwin).
#: The filter spans 2 * FILTER_DELAY_OUT output samples (2.75 ms), has its -6 dB point at
#: FILTER_CUTOFF_HZ, >= 66 dB attenuation from 8 kHz up (the output Nyquist frequency, so no
#: aliasing into the band) and < 0.1 dB droop up to 6.5 kHz.  Its length ``2 * down * D + 1`` at
#: the up-sampled rate makes the group delay exactly ``D`` output samples at every rate.
FILTER_DELAY_OUT = 22
FILTER_CUTOFF_HZ = 7200.0
FILTER_KAISER_BETA = 6.5

#: Anti-imaging low-pass for 8 kHz -> 16 kHz (L=2, M=1; Kaiser-window FIR from firwin, 97 taps
#: at 16 kHz).  The 8 kHz source holds nothing above 4 kHz, and the zero-stuffed signal mirrors
#: its 0-4 kHz band into 4-8 kHz: the filter has its -6 dB point at UPSAMPLE_CUTOFF_HZ, >= 63 dB
#: attenuation from 4 kHz up (the images) and < 0.08 dB droop up to 3.4 kHz (the telephone band).
#: Group delay UPSAMPLE_DELAY_OUT output samples (3 ms).
UPSAMPLE_DELAY_OUT = 48
UPSAMPLE_CUTOFF_HZ = 3675.0
UPSAMPLE_KAISER_BETA = 6.0


class FilterSpec(NamedTuple):
    """Kaiser-window low-pass of one conversion (``scipy.signal.firwin`` arguments)."""

    cutoff_hz: float  # -6 dB point, at the up-sampled rate
    kaiser_beta: float
    delay_out: int  # group delay in output samples; the filter has 2 * down * delay_out + 1 taps


_DOWN_FILTER = FilterSpec(FILTER_CUTOFF_HZ, FILTER_KAISER_BETA, FILTER_DELAY_OUT)
_UP_FILTER = FilterSpec(UPSAMPLE_CUTOFF_HZ, UPSAMPLE_KAISER_BETA, UPSAMPLE_DELAY_OUT)

_F32 = np.float32
_F64 = np.float64
_RATES_TEXT = ", ".join(str(r) for r in SUPPORTED_RATES_HZ)
_CONVERSIONS_TEXT = ", ".join(
    f"{rate} -> " + " or ".join(str(o) for i, o in sorted(CONVERSIONS) if i == rate) + " Hz"
    for rate in SUPPORTED_RATES_HZ
)
#: The dot product of each output runs as SUM_LANES interleaved float64 partial sums (lane j
#: takes taps j, j + 4, ...), combined as (s0 + s1) + (s2 + s3); taps_per_phase is padded with zero
#: taps to a multiple of it.  Fixed order, so results do not depend on chunking.
SUM_LANES = 4


def check_sample_rate(sample_rate_hz: object) -> int:
    """Validate an input sample rate and return it as int.

    Raises
    ------
    TypeError
        If ``sample_rate_hz`` is not an integer (bool is refused).
    ValueError
        If the rate is not one of ``SUPPORTED_RATES_HZ``.
    """
    if isinstance(sample_rate_hz, (bool, np.bool_)) or not isinstance(
        sample_rate_hz, (int, np.integer)
    ):
        raise TypeError(
            f"sample_rate_hz must be an int, got {type(sample_rate_hz).__name__} {sample_rate_hz!r}"
        )
    rate = int(sample_rate_hz)
    if rate not in RATIOS:
        raise ValueError(f"unsupported sample rate {rate} Hz; expected one of {_RATES_TEXT}")
    return rate


def check_rates(sample_rate_hz: object, output_rate_hz: object = None) -> tuple[int, int]:
    """Validate an input rate and a requested output rate; return both as int.

    ``output_rate_hz=None`` picks the default output for the input rate: 8000 and 16000 Hz pass
    through, 24000/32000/44100/48000 Hz go to 16000 Hz.  Otherwise ``(sample_rate_hz,
    output_rate_hz)`` must be one of ``CONVERSIONS``: a default conversion, or 8000 -> 16000 Hz.

    Raises
    ------
    TypeError
        If either rate is not an integer (bool is refused; ``output_rate_hz`` may be None).
    ValueError
        If the input rate is not one of ``SUPPORTED_RATES_HZ``, or the conversion is not one of
        ``CONVERSIONS``.
    """
    rate = check_sample_rate(sample_rate_hz)
    if output_rate_hz is None:
        up, down = RATIOS[rate]
        return rate, rate * up // down
    if isinstance(output_rate_hz, (bool, np.bool_)) or not isinstance(
        output_rate_hz, (int, np.integer)
    ):
        raise TypeError(
            "output_rate_hz must be an int or None, got "
            f"{type(output_rate_hz).__name__} {output_rate_hz!r}"
        )
    out_rate = int(output_rate_hz)
    if (rate, out_rate) not in CONVERSIONS:
        raise ValueError(
            f"unsupported conversion {rate} Hz -> {out_rate} Hz; supported: {_CONVERSIONS_TEXT}"
        )
    return rate, out_rate


def _filter_spec(rate: int, out_rate: int) -> FilterSpec | None:
    """The low-pass of a (checked) conversion, or None when it is the identity."""
    if rate == out_rate:
        return None
    return _UP_FILTER if out_rate > rate else _DOWN_FILTER


def resampler_delay(sample_rate_hz: int, output_rate_hz: int | None = None) -> int:
    """Group delay of the conversion's low-pass in output samples (0 at a native rate).

    48 for 8000 -> 16000 Hz, 22 for 24/32/44.1/48 kHz -> 16000 Hz, 0 for 8000 -> 8000 and
    16000 -> 16000 Hz.  Raises as ``check_rates``.
    """
    spec = _filter_spec(*check_rates(sample_rate_hz, output_rate_hz))
    return 0 if spec is None else spec.delay_out


def resampler_design(
    sample_rate_hz: int, output_rate_hz: int | None = None
) -> tuple[int, int, np.ndarray]:
    """Design the polyphase low-pass for one conversion (cached; computed once per conversion).

    Parameters
    ----------
    sample_rate_hz : int
        Input rate, one of ``SUPPORTED_RATES_HZ``.
    output_rate_hz : int, optional
        Output rate; None picks the default for the input rate (see ``check_rates``).

    Returns
    -------
    up, down : int
        Rational factors, ``output_rate = sample_rate_hz * up / down``.
    coef : ndarray of float64, shape ``(up, taps_per_phase)``, read-only
        ``coef[p, k]`` multiplies the input sample ``taps_per_phase - 1 - k`` steps before the
        newest one used by an output of phase ``p`` (rows are time-reversed, oldest tap first).
        ``taps_per_phase`` is a multiple of ``SUM_LANES``.  Native rates give
        ``up = down = 1`` and ``coef = [[1.0]]``.

    Raises
    ------
    TypeError, ValueError
        As ``check_rates``.

    Notes
    -----
    Source: ``scipy.signal.firwin`` with a Kaiser window, cutoff and beta from the conversion's
    ``FilterSpec`` (``FILTER_*`` when going down to 16 kHz, ``UPSAMPLE_*`` for 8 -> 16 kHz) at
    the up-sampled rate, ``2 * down * delay_out + 1`` taps, gain ``up`` (to make up for the zeros
    inserted by up-sampling), zero-padded to ``up`` phases of equal length.
    """
    return _design(*check_rates(sample_rate_hz, output_rate_hz))


@functools.cache
def _design(rate: int, out_rate: int) -> tuple[int, int, np.ndarray]:
    up, down = CONVERSIONS[(rate, out_rate)]
    spec = _filter_spec(rate, out_rate)
    if spec is None:
        coef = np.ones((1, 1), dtype=_F64)
    else:
        from scipy import signal

        n_taps = 2 * down * spec.delay_out + 1
        h = signal.firwin(
            n_taps,
            spec.cutoff_hz,
            window=("kaiser", spec.kaiser_beta),
            fs=float(rate * up),
        ) * float(up)
        taps = -(-n_taps // up)  # taps per phase
        taps += -taps % SUM_LANES  # whole groups of SUM_LANES (zero taps at the oldest end)
        padded = np.zeros(up * taps, dtype=_F64)
        padded[:n_taps] = h
        # padded[p + t * up] is tap t of phase p; reverse t so the oldest input comes first.
        coef = np.ascontiguousarray(padded.reshape(taps, up).T[:, ::-1])
    coef.setflags(write=False)
    return up, down, coef


def check_pcm_array(x: object, ndims: tuple[int, ...], shape_text: str) -> np.ndarray:
    """``x`` as a C-contiguous int16 or float32 numpy array with ``ndims`` dimensions (the
    checks the intake and the feature kernel share; ``shape_text`` says what was expected).

    Raises
    ------
    TypeError
        Not a numpy array of int16 or float32.
    ValueError
        Another number of dimensions, or not C-contiguous.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"expected a numpy array of int16 or float32 samples, got {type(x).__name__}"
        )
    if x.dtype != np.int16 and x.dtype != np.float32:
        raise TypeError(
            f"expected int16 or float32 samples, got {x.dtype} array of shape {x.shape}"
        )
    if x.ndim not in ndims:
        raise ValueError(f"expected {shape_text}, got {x.ndim}-D array of shape {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(
            f"expected a C-contiguous array, got a strided view of shape {x.shape} "
            "(use np.ascontiguousarray)"
        )
    return x


def check_samples(x: object) -> tuple[np.ndarray, float]:
    """Validate an input chunk; return it as ``(n_frames, n_channels)`` and its down-mix scale.

    A 1-D array is taken as mono, shape ``(n_frames, 1)`` (a view, no copy).  The scale is
    ``1 / n_channels`` for float32 and ``1 / (32768 * n_channels)`` for int16.

    Raises
    ------
    TypeError
        If ``x`` is not a numpy array of native-endian int16 or float32.
    ValueError
        If ``x`` is not 1-D or 2-D, not C-contiguous, or has no frame or no channel.
    """
    x = check_pcm_array(x, (1, 2), "a 2-D array of shape (n_frames, n_channels) (or 1-D mono)")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    n_frames, n_channels = x.shape
    if n_frames < 1 or n_channels < 1:
        raise ValueError(f"expected at least 1 frame and 1 channel, got array of shape {x.shape}")
    scale = 1.0 / n_channels
    if x.dtype == np.int16:
        scale = 1.0 / (32768.0 * n_channels)
    return x, scale


def find_nonfinite(x: np.ndarray) -> int:
    """Index of the first frame of a float32 chunk holding NaN or inf, or -1 if all finite."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return -1
    return int(np.flatnonzero(bad.any(axis=1))[0])


def nonfinite_error(frame: int) -> ValueError:
    """The error raised for a float32 chunk holding NaN/inf at ``frame``."""
    return ValueError(f"expected finite float32 samples in [-1, 1], got NaN/inf at frame {frame}")


def check_out(out: object, need: int, what: str) -> int:
    """Validate an output buffer: writable, 1-D, C-contiguous float32 of length >= ``need``.

    Returns its length.  ``what`` names the bound in the error (e.g. ``"max_output(480)"``).

    Raises
    ------
    TypeError
        If ``out`` is not a float32 numpy array.
    ValueError
        If it is not 1-D, not C-contiguous, read-only, or shorter than ``need``.
    """
    if not isinstance(out, np.ndarray) or out.dtype != np.float32:
        got = f"{out.dtype} array" if isinstance(out, np.ndarray) else type(out).__name__
        raise TypeError(f"expected out as a float32 numpy array, got {got}")
    if out.ndim != 1 or not out.flags.c_contiguous:
        raise ValueError(
            f"expected out as a 1-D C-contiguous float32 array, got shape {out.shape} "
            f"with strides {out.strides}"
        )
    if not out.flags.writeable:
        raise ValueError("expected a writable out array, got a read-only one")
    if out.shape[0] < need:
        raise ValueError(f"expected out of length >= {need} ({what}), got length {out.shape[0]}")
    return int(out.shape[0])


def check_count(value: object, name: str, minimum: int) -> int:
    """Validate a non-bool integer argument >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)



def check_window_rms_args(samples: Any, window: Any, out: Any) -> tuple[int, int]:
    """Validate ``window_rms`` arguments (shared by both twins); return ``(window, n_windows)``.

    Raises
    ------
    TypeError, ValueError
        As documented on ``window_rms``.
    """
    win = check_count(window, "window", 1)
    if not isinstance(samples, np.ndarray) or samples.dtype != np.float32:
        got = (
            f"{samples.dtype} array"
            if isinstance(samples, np.ndarray)
            else (type(samples).__name__)
        )
        raise TypeError(f"expected samples as a float32 numpy array, got {got}")
    if samples.ndim != 1 or not samples.flags.c_contiguous:
        raise ValueError(
            f"expected samples as a 1-D C-contiguous float32 array, got shape {samples.shape}"
        )
    n = samples.shape[0]
    if n % win:
        raise ValueError(
            f"expected a number of samples that is a multiple of window={win}, got {n}"
        )
    n_win = n // win
    check_out(out, n_win, f"len(samples) // window = {n_win}")
    return win, n_win
