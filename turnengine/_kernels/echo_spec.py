"""Constants and argument checks shared by the echo-canceller kernel (``ext/echo.pyx``) and its
reference twin (``echo_ref``).  The algorithm is described in ``echo_ref``'s module notes.

The values were chosen on ../shared/audio/echo (docs/echo.md says how); the aside set judges
them.
"""

from __future__ import annotations

import numpy as np

#: Samples per block (4 ms at 16 kHz): the canceller's hop and its filter partition length.
BLOCK = 64
#: Frequency bins of the 2 * BLOCK real FFT.
BINS = BLOCK + 1
#: Filter partitions (blocks): the linear filter spans PARTITIONS * BLOCK samples (40 ms at
#: 16 kHz) starting PRE_BLOCKS before the estimated delay.
PARTITIONS = 10
PRE_BLOCKS = 4
#: Longest playout-to-microphone delay searched (seconds).
MAX_DELAY_S = 0.5
#: Normalised step of the background filter (per partition: STEP / PARTITIONS).
STEP = 1.0
#: Regularisation of the step's far-end power normalisation (per bin, float samples^2).
POWER_FLOOR = 1e-4
#: Far-end power smoothing per block.
POWER_SMOOTHING = 0.9
#: A block whose energy (sum of squares) is below BLOCK * FAR_ACTIVE_POWER is silent playout.
FAR_ACTIVE_POWER = 1e-7
#: Error-power smoothing per block for the two-path comparison.
ERROR_SMOOTHING = 0.9
#: The foreground takes the background filter when the background error is below this share
#: of the foreground's (and below the microphone's); the background is reset to the foreground
#: when its error exceeds this multiple (divergence in double talk).
COPY_RATIO = 0.5
RESET_RATIO = 4.0
#: Delay estimator: smoothing of the log-energy envelopes' statistics per active block, the
#: normalised cross-correlation a peak needs, blocks a first peak must hold to lock, blocks a
#: new peak outside the filter must hold to move it, its margin over the current delay's
#: correlation, and the foreground ERLE (dB) above which the delay is kept whatever.
DELAY_SMOOTHING = 0.98
NCC_MIN = 0.4
LOCK_BLOCKS = 10
MOVE_BLOCKS = 50
NCC_MARGIN = 0.2
KEEP_ERLE_DB = 6.0
#: Every RECENTER_BLOCKS blocks, once the foreground cancels (ERLE above KEEP_ERLE_DB), the
#: delay is read off the foreground filter itself: the partition holding most of its energy
#: (the direct path) becomes the delay, and the filters are shifted to keep PRE_BLOCKS before it.
RECENTER_BLOCKS = 64
#: Smoothing of the foreground ERLE estimate (per active block).
ERLE_SMOOTHING = 0.99
#: Residual-echo suppressor: smoothing of the per-bin |E|^2/|Y|^2 ratio, the rate at which
#: its tracked minimum may rise per block, the over-estimation applied to it, the decay of the
#: residual estimate per block (the room's tail), and the smallest gain.
RATIO_SMOOTHING = 0.8
RATIO_RISE = 0.002
SUPPRESSION = 10.0
RESIDUAL_DECAY = 0.95
#: Dominant near-end: when the error's power exceeds NEAR_RATIO times the over-estimated
#: residual echo, the user is talking over the echo; the over-estimation drops to
#: SUPPRESSION_NEAR for NEAR_HOLD blocks (as AEC3's dominant-nearend detector).
NEAR_RATIO = 0.5
SUPPRESSION_NEAR = 3.0
NEAR_HOLD = 12
GAIN_MIN = 0.03
#: A bin's echo estimate below this power is not used to track the ratio.
ECHO_FLOOR = 1e-9 * 2 * BLOCK
#: Samples of delay the suppressor's overlap-add adds to the output.
LATENCY = BLOCK


def max_delay_blocks(sample_rate: int) -> int:
    """Delay search range in blocks at ``sample_rate``."""
    return int(round(MAX_DELAY_S * sample_rate / BLOCK))


def analysis_window() -> np.ndarray:
    """Periodic square-root Hann window of 2 * BLOCK samples (analysis and synthesis: their
    product is a Hann window, which overlap-adds to one at a hop of BLOCK)."""
    n = np.arange(2 * BLOCK)
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * n / (2 * BLOCK)))


def check_rate(sample_rate: int) -> int:
    """The model rate, or ValueError."""
    if sample_rate not in (8000, 16000):
        raise ValueError(f"expected a sample rate of 8000 or 16000 Hz, got {sample_rate}")
    return int(sample_rate)


def check_process(mic: np.ndarray, far: np.ndarray, out: np.ndarray,
                  delays: np.ndarray, stats: np.ndarray) -> int:
    """Blocks in one ``process`` call, or ValueError/TypeError (nothing has changed)."""
    for name, a, dtype in (("mic", mic, np.float32), ("far", far, np.float32),
                           ("out", out, np.float32), ("delays", delays, np.int64)):
        if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != 1:
            raise TypeError(f"{name}: expected a 1-D {np.dtype(dtype).name} array, got "
                            f"{getattr(a, 'dtype', type(a).__name__)} "
                            f"{getattr(a, 'shape', '')}")
    n = mic.shape[0]
    if n % BLOCK:
        raise ValueError(f"mic: expected a whole number of {BLOCK}-sample blocks, got {n} "
                         "samples")
    if far.shape[0] != n:
        raise ValueError(f"far: expected {n} samples (as mic), got {far.shape[0]}")
    if out.shape[0] < n:
        raise ValueError(f"out: expected room for {n} samples, got {out.shape[0]}")
    if delays.shape[0] < n // BLOCK:
        raise ValueError(f"delays: expected room for {n // BLOCK} blocks, got "
                         f"{delays.shape[0]}")
    if (not isinstance(stats, np.ndarray) or stats.dtype != np.float64 or stats.ndim != 2
            or stats.shape[1] != 3 or not stats.flags.c_contiguous):
        raise TypeError(f"stats: expected a C-contiguous float64 array of shape (n, 3), got "
                        f"{getattr(stats, 'dtype', type(stats).__name__)} "
                        f"{getattr(stats, 'shape', '')}")
    if stats.shape[0] < n // BLOCK:
        raise ValueError(f"stats: expected room for {n // BLOCK} blocks, got {stats.shape[0]}")
    return n // BLOCK
