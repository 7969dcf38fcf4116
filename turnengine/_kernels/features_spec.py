"""Specification of the Whisper log-mel feature kernel, shared by ``ext/features.pyx`` and its twin.

Both ``ext/features.pyx`` and ``features_ref.py`` import this module, so they cannot drift apart:
the constants of the definition (see ``features_ref``), the Hann window and the Slaney mel filter
bank, and the argument checks (identical error messages).  Plain Python and numpy; no kernel
state lives here.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from .pcm_spec import check_pcm_array

SAMPLE_RATE_HZ = 16000
N_FFT = 400
HOP_LENGTH = 160
N_BINS = N_FFT // 2 + 1  # 201
N_MELS = 80
N_FRAMES = 800
#: Samples in the model's window: 8 s at 16 kHz.
WINDOW_SAMPLES = N_FRAMES * HOP_LENGTH  # 128000
FEATURES_SHAPE = (N_MELS, N_FRAMES)
MEL_FLOOR = 1e-10
#: Whisper's dynamic range: log10 values below ``max - 8`` (80 dB) are raised to it.
DYNAMIC_RANGE = 8.0
#: Variance epsilon of the waveform normalisation (transformers ``zero_mean_unit_var_norm``).
NORM_EPS = 1e-7
#: Samples a frame needs beyond its centre on each side (``n_fft // 2``).
HALF_WINDOW = N_FFT // 2

_F32 = np.float32
_F64 = np.float64

@functools.cache
def hann_window() -> npt.NDArray[np.float64]:
    """Periodic Hann window of length 400, float64 (``torch.hann_window``; transformers
    ``window_function(400, "hann")``)."""
    w = np.hanning(N_FFT + 1)[:-1]
    w.setflags(write=False)
    return w


def _hz_to_mel(freq: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    freq = np.atleast_1d(np.asarray(freq, dtype=_F64))
    mels = 3.0 * freq / 200.0
    log_region = freq >= 1000.0
    mels[log_region] = 15.0 + np.log(freq[log_region] / 1000.0) * (27.0 / np.log(6.4))
    return mels


def _mel_to_hz(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    mels = np.atleast_1d(np.asarray(mels, dtype=_F64))
    freq = 200.0 * mels / 3.0
    log_region = mels >= 15.0
    freq[log_region] = 1000.0 * np.exp(np.log(6.4) / 27.0 * (mels[log_region] - 15.0))
    return freq


@functools.cache
def mel_filters() -> npt.NDArray[np.float64]:
    """The Slaney mel filter bank, shape ``(201, 80)`` float64.

    transformers ``mel_filter_bank(num_frequency_bins=201, num_mel_filters=80,
    min_frequency=0.0, max_frequency=8000.0, sampling_rate=16000, norm="slaney",
    mel_scale="slaney")``, which is what ``WhisperFeatureExtractor(feature_size=80)`` uses
    (and ``librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)``).
    """
    mel_edges = np.linspace(_hz_to_mel(np.array([0.0]))[0],
                            _hz_to_mel(np.array([SAMPLE_RATE_HZ / 2.0]))[0], N_MELS + 2)
    filter_freqs = _mel_to_hz(mel_edges)
    fft_freqs = np.linspace(0, SAMPLE_RATE_HZ // 2, N_BINS)
    filter_diff = np.diff(filter_freqs)
    slopes = filter_freqs[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / filter_diff[:-1]
    up = slopes[:, 2:] / filter_diff[1:]
    fb = np.maximum(np.zeros(1), np.minimum(down, up))
    fb *= (2.0 / (filter_freqs[2 : N_MELS + 2] - filter_freqs[:N_MELS]))[None, :]
    fb.setflags(write=False)
    return fb



# -- argument checks ----------------------------------------------------------------------------
def check_samples(x: object) -> np.ndarray:
    """Validate a chunk of 16 kHz mono samples; return it unchanged.

    Raises
    ------
    TypeError
        If ``x`` is not a numpy array of native-endian int16 or float32.
    ValueError
        If ``x`` is not 1-D or not C-contiguous.
    """
    return check_pcm_array(x, (1,), "a 1-D array of 16 kHz mono samples")


def nonfinite_error(index: int) -> ValueError:
    """The error raised for a float32 chunk holding NaN/inf at ``index``."""
    return ValueError(f"expected finite float32 samples in [-1, 1], got NaN/inf at sample {index}")


def check_features_out(out: object) -> np.ndarray:
    """Validate the output of ``features``: a writable C-contiguous float32 array (80, 800).

    Raises
    ------
    TypeError
        If ``out`` is not a float32 numpy array.
    ValueError
        If it has another shape, is not C-contiguous or is read-only.
    """
    if not isinstance(out, np.ndarray) or out.dtype != np.float32:
        got = f"{out.dtype} array" if isinstance(out, np.ndarray) else type(out).__name__
        raise TypeError(f"expected out as a float32 numpy array, got {got}")
    if out.shape != FEATURES_SHAPE or not out.flags.c_contiguous:
        raise ValueError(
            f"expected out as a C-contiguous float32 array of shape {FEATURES_SHAPE}, got shape "
            f"{out.shape} with strides {out.strides}"
        )
    if not out.flags.writeable:
        raise ValueError("expected a writable out array, got a read-only one")
    return out


def to_float32(x: np.ndarray) -> npt.NDArray[np.float32]:
    """int16 -> float32 scaled by 1/32768 (exact, as Pipecat does); float32 unchanged."""
    if x.dtype == np.int16:
        return x.astype(_F32) / _F32(32768.0)
    return x
