"""Reference twin of ``ext/features.pyx``: Whisper log-mel features for the end-of-turn model.

Same class, signatures and numbers (within 1e-3 after the final scaling, tighter before it) as
the compiled ``turnengine._kernels.features``.  This module holds the definition; the constants,
the filter-bank design and the argument checks live in ``features_spec``, which both twins
import (the names are re-exported here).

Definition (SPEC 5; Smart Turn v3 as Pipecat runs it)
----------------------------------------------------
Pipecat's ``LocalSmartTurnAnalyzerV3`` (``pipecat/audio/turn/smart_turn/local_smart_turn_v3.py``)
keeps the last 8 s of the turn's 16 kHz audio, zero-pads it *at the start* to exactly
128000 samples, and computes ``WhisperFeatureExtractor(chunk_length=8)(audio,
sampling_rate=16000, do_normalize=True)`` (vendored numpy copy in ``_whisper_features.py``):

1. waveform normalisation over the 128000 padded samples: ``x = (x - mean) / sqrt(var + 1e-7)``
   (population variance; the zero padding counts);
2. STFT: n_fft 400, hop 160, periodic Hann window, ``center=True`` with reflect padding of 200
   samples at both ends (801 frames), power spectrum ``|X|^2`` of the 201 bins;
3. Slaney mel filter bank, 80 filters from 0 to 8000 Hz, Slaney area normalisation;
4. ``log10(max(mel, 1e-10))``; the last (801st) frame is dropped -> shape (80, 800);
5. ``max(x, x.max() - 8)`` with the maximum over the whole (80, 800) array, then ``(x + 4) / 4``.

int16 input is scaled by 1/32768 to float32, as Pipecat does.

Streaming
---------
``WhisperFeatures`` takes the audio of one turn in chunks of any size; ``features(out)`` then
returns the definition above applied to the turn so far, truncated to a whole number of hops
(the last ``pending_samples < 160`` samples wait for the next call), so the frame grid is
anchored at the turn start and a frame never changes once computed.  The compiled kernel
computes each frame's power-mel as soon as its 400 samples have arrived and keeps the last 800
in a ring, so ``features`` only has the 3 frames touched by reflect padding and the final
normalisation left.  This twin simply keeps the last 8 s of audio and applies the definition in
numpy (float64) when asked.
"""


from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .features_spec import (
    DYNAMIC_RANGE,
    FEATURES_SHAPE,
    HALF_WINDOW,
    HOP_LENGTH,
    MEL_FLOOR,
    N_BINS,
    N_FFT,
    N_FRAMES,
    N_MELS,
    NORM_EPS,
    SAMPLE_RATE_HZ,
    WINDOW_SAMPLES,
    check_features_out,
    check_samples,
    hann_window,
    mel_filters,
    nonfinite_error,
    to_float32,
)

__all__ = [
    "DYNAMIC_RANGE", "FEATURES_SHAPE", "HALF_WINDOW", "HOP_LENGTH", "MEL_FLOOR", "N_BINS", "N_FFT",
    "N_FRAMES", "N_MELS", "NORM_EPS", "SAMPLE_RATE_HZ", "WINDOW_SAMPLES", "WhisperFeatures",
    "check_features_out", "check_samples", "hann_window", "mel_filters", "nonfinite_error",
    "to_float32", "whisper_log_mel",
]

_F32 = np.float32
_F64 = np.float64


# -- the definition --------------------------------------------------------------------------------
def _log_mel_window(x: npt.NDArray[np.float32], scale: bool) -> npt.NDArray[np.float32]:
    """Features of exactly 128000 samples (already zero-padded at the start)."""
    x64 = x.astype(_F64)
    mean = x64.mean()
    var = max(float(np.mean(x64 * x64)) - mean * mean, 0.0)
    x64 = (x64 - mean) / np.sqrt(var + NORM_EPS)
    padded = np.pad(x64, (HALF_WINDOW, HALF_WINDOW), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]  # (801, 400)
    spec = np.fft.rfft(frames * hann_window(), axis=-1)
    power = spec.real**2 + spec.imag**2  # (801, 201)
    mel = np.maximum(MEL_FLOOR, power[:-1] @ mel_filters())  # drop the last frame: (800, 80)
    log_spec = np.log10(mel).T
    if scale:
        log_spec = np.maximum(log_spec, log_spec.max() - DYNAMIC_RANGE)
        log_spec = (log_spec + 4.0) / 4.0
    return np.ascontiguousarray(log_spec, dtype=_F32)


def whisper_log_mel(audio: np.ndarray, scale: bool = True) -> npt.NDArray[np.float32]:
    """Smart Turn v3 input features of a whole turn, shape ``(80, 800)`` float32.

    Parameters
    ----------
    audio : ndarray of int16 or float32, shape ``(n_samples,)``
        The turn's 16 kHz mono audio, any length; only the last 8 s count, and shorter audio is
        zero-padded at the start (Pipecat ``truncate_audio_to_last_n_seconds``).
    scale : bool
        Apply Whisper's dynamic-range clamp ``max(x, x.max() - 8)`` and ``(x + 4) / 4`` (the
        model's input).  False returns ``log10(max(mel, 1e-10))`` of the normalised waveform.

    Returns
    -------
    ndarray of float32, shape ``(80, 800)``
        ``WhisperFeatureExtractor(chunk_length=8)(..., do_normalize=True).input_features[0]``.

    Raises
    ------
    TypeError, ValueError
        As ``WhisperFeatures.push``.
    """
    x = to_float32(check_samples(audio))
    if not np.isfinite(x).all():
        raise nonfinite_error(int(np.flatnonzero(~np.isfinite(x))[0]))
    if x.shape[0] >= WINDOW_SAMPLES:
        x = x[x.shape[0] - WINDOW_SAMPLES :]
    else:
        x = np.concatenate([np.zeros(WINDOW_SAMPLES - x.shape[0], _F32), x])
    return _log_mel_window(x, scale)


class WhisperFeatures:
    """Streaming Smart Turn v3 features of one turn (reference twin).

    ``push`` the turn's 16 kHz audio chunk by chunk; ``features`` gives the (80, 800) model input
    of the last 8 s so far at any time.  ``reset`` starts a new turn.
    """

    def __init__(self) -> None:
        # The last <= WINDOW_SAMPLES + HOP_LENGTH samples live in _buf[:_len]; it is compacted
        # when full, so memory stays bounded whatever the turn length.
        self._buf = np.zeros(2 * (WINDOW_SAMPLES + HOP_LENGTH), _F32)
        self._len = 0
        self._n = 0

    def reset(self) -> None:
        """Start a new turn: forget all audio."""
        self._len = 0
        self._n = 0

    @property
    def n_samples(self) -> int:
        """Samples pushed since construction or ``reset()`` (int64)."""
        return self._n

    @property
    def n_frames(self) -> int:
        """Frames whose 400 samples have all arrived (frame ``k`` is centred on sample
        ``160 k``; samples before the turn are zero)."""
        return 0 if self._n < HALF_WINDOW else (self._n - HALF_WINDOW) // HOP_LENGTH + 1

    @property
    def pending_samples(self) -> int:
        """Trailing samples (< 160) that ``features`` leaves out until the hop is complete."""
        return self._n % HOP_LENGTH

    def push(self, samples: np.ndarray) -> int:
        """Append a chunk of the turn's audio.

        Parameters
        ----------
        samples : ndarray of int16 or float32, shape ``(n_samples,)``
            C-contiguous 16 kHz mono audio; int16 is scaled by 1/32768, float32 is expected in
            [-1, 1] (not clipped).  An empty chunk is a no-op.

        Returns
        -------
        int
            Number of frames completed by this chunk (``n_frames`` after minus before).

        Raises
        ------
        TypeError
            If ``samples`` is not a native-endian int16 or float32 numpy array.
        ValueError
            If it is not 1-D or not C-contiguous, or float32 samples hold NaN/inf.  The state is
            unchanged in every case.
        """
        x = to_float32(check_samples(samples))
        n = x.shape[0]
        if n == 0:
            return 0
        if x.dtype == _F32 and not np.isfinite(x).all():
            raise nonfinite_error(int(np.flatnonzero(~np.isfinite(x))[0]))
        before = self.n_frames
        keep = WINDOW_SAMPLES + HOP_LENGTH
        if n >= keep:
            self._buf[:keep] = x[n - keep :]
            self._len = keep
        else:
            if self._len + n > self._buf.shape[0]:
                tail = min(self._len, keep)
                self._buf[:tail] = self._buf[self._len - tail : self._len]
                self._len = tail
            self._buf[self._len : self._len + n] = x
            self._len += n
        self._n += n
        return self.n_frames - before

    def features(self, out: np.ndarray, scale: bool = True) -> int:
        """Write the model input for the turn so far into ``out``.

        The features are those of ``whisper_log_mel`` applied to the turn's audio truncated to
        a whole number of hops (the last ``pending_samples`` are left out).

        Parameters
        ----------
        out : ndarray of float32, shape ``(80, 800)``
            C-contiguous, writable; receives the features (mel bin, frame), oldest frame first.
        scale : bool
            Apply the dynamic-range clamp and ``(x + 4) / 4`` (True, the model input); False
            leaves ``log10(max(mel, 1e-10))`` of the normalised waveform.

        Returns
        -------
        int
            Samples of turn audio the features cover: ``min(n_samples - pending_samples,
            128000)``; the rest of the 8 s window is zero padding.

        Raises
        ------
        TypeError, ValueError
            If ``out`` is not a writable C-contiguous float32 array of shape (80, 800).
        """
        check_features_out(out)
        end = self._n - self._n % HOP_LENGTH
        covered = min(end, WINDOW_SAMPLES)
        drop = self._n - end
        audio = self._buf[self._len - drop - covered : self._len - drop]
        x = np.concatenate([np.zeros(WINDOW_SAMPLES - covered, _F32), audio])
        out[...] = _log_mel_window(x, scale)
        return covered
