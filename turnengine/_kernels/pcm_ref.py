"""Pure-Python reference twin of ``ext/pcm.pyx``: PCM intake, down-mix and streaming resampler.

Same classes, signatures and float32 results as the compiled ``turnengine._kernels.pcm``.  The
parts both twins share (rates, filter designs, argument checks) live in ``pcm_spec``; the names
are re-exported here.

The resampler is a rational polyphase FIR (up ``L``, low-pass, down ``M``) as in
``scipy.signal.resample_poly``, run as a stream: the last ``taps_per_phase - 1`` down-mixed input
samples and the filter phase carry over from one call to the next, so any chunking of a signal
gives bit-identical output.  Each output is ``sum_k coef[phase, k] * x[j - T + 1 + k]`` accumulated
in float64 in a fixed order (``SUM_LANES`` interleaved partial sums, oldest sample first), then
rounded to float32.
"""

from __future__ import annotations

import numpy as np

from .pcm_spec import (
    CONVERSIONS,
    FILTER_CUTOFF_HZ,
    FILTER_DELAY_OUT,
    FILTER_KAISER_BETA,
    NATIVE_RATES_HZ,
    RATIOS,
    RESAMPLED_RATE_HZ,
    SUM_LANES,
    SUPPORTED_RATES_HZ,
    UPSAMPLE_CUTOFF_HZ,
    UPSAMPLE_DELAY_OUT,
    UPSAMPLE_KAISER_BETA,
    FilterSpec,
    check_count,
    check_out,
    check_rates,
    check_sample_rate,
    check_samples,
    check_window_rms_args,
    find_nonfinite,
    nonfinite_error,
    resampler_delay,
    resampler_design,
)

__all__ = [
    "CONVERSIONS", "FILTER_CUTOFF_HZ", "FILTER_DELAY_OUT", "FILTER_KAISER_BETA", "NATIVE_RATES_HZ",
    "RATIOS", "RESAMPLED_RATE_HZ", "SUM_LANES", "SUPPORTED_RATES_HZ", "UPSAMPLE_CUTOFF_HZ",
    "UPSAMPLE_DELAY_OUT", "UPSAMPLE_KAISER_BETA", "FilterSpec", "Intake", "check_count",
    "check_out", "check_rates", "check_sample_rate", "check_samples", "check_window_rms_args",
    "find_nonfinite", "nonfinite_error", "resampler_delay", "resampler_design", "window_rms",
]

_F32 = np.float32
_F64 = np.float64
_MIX_BLOCK = 8192  # outputs per vectorised step of the reference twin (bounds its memory)


class Intake:
    """Reference PCM intake; see the compiled ``turnengine._kernels.pcm.Intake``."""

    def __init__(self, sample_rate_hz: int, output_rate_hz: int | None = None) -> None:
        rate, out_rate = check_rates(sample_rate_hz, output_rate_hz)
        up, down, coef = resampler_design(rate, out_rate)
        delay = resampler_delay(rate, out_rate)
        self._rate = rate
        self._up = up
        self._down = down
        self._coef = coef
        self._taps = coef.shape[1]
        self._out_rate = out_rate
        self._delay = delay
        self.reset()

    def reset(self) -> None:
        """Forget the history and the clock: back to the state after construction."""
        self._hist = np.zeros(self._taps - 1, dtype=_F32)
        self._next_q = 0  # up-sampled-rate position of the next output, relative to consumed
        self._consumed = 0
        self._produced = 0

    @property
    def sample_rate_hz(self) -> int:
        return self._rate

    @property
    def output_rate_hz(self) -> int:
        return self._out_rate

    @property
    def delay_samples(self) -> int:
        return self._delay

    @property
    def up(self) -> int:
        return self._up

    @property
    def down(self) -> int:
        return self._down

    @property
    def taps_per_phase(self) -> int:
        return self._taps

    @property
    def consumed(self) -> int:
        return self._consumed

    @property
    def produced(self) -> int:
        return self._produced

    def max_output(self, n_frames: int) -> int:
        n = check_count(n_frames, "n_frames", 0)
        return -(-n * self._up // self._down)

    def process(self, x, out) -> int:
        x2, scale = check_samples(x)
        n, n_channels = x2.shape
        check_out(out, self.max_output(n), f"max_output({n})")
        if x2.dtype == np.float32:
            bad = find_nonfinite(x2)
            if bad >= 0:
                raise nonfinite_error(bad)
        # Down-mix: float64 sum in channel order, times the scale, rounded to float32.
        acc = x2[:, 0].astype(_F64)
        for c in range(1, n_channels):
            acc += x2[:, c]
        mono = (acc * scale).astype(_F32)

        up, down, taps = self._up, self._down, self._taps
        if up == down:  # native rate: the filter is [1.0]
            out[:n] = mono
            self._consumed += n
            self._produced += n
            return n
        q0 = self._next_q
        count = max(0, -(-(n * up - q0) // down))
        if count:
            buf = np.concatenate([self._hist, mono])
            q = q0 + down * np.arange(count, dtype=np.int64)
            starts = q // up  # index in buf of the oldest sample used by each output
            phases = q % up
            offsets = np.arange(taps, dtype=np.int64)
            for b in range(0, count, _MIX_BLOCK):
                sl = slice(b, min(b + _MIX_BLOCK, count))
                prod = buf[starts[sl, None] + offsets].astype(_F64) * self._coef[phases[sl]]
                # Lane j sums taps j, j + 4, ... in order (oldest first), exactly as the kernel.
                lanes = np.add.accumulate(
                    prod.reshape(prod.shape[0], taps // SUM_LANES, SUM_LANES), axis=1
                )[:, -1, :]
                acc = (lanes[:, 0] + lanes[:, 1]) + (lanes[:, 2] + lanes[:, 3])
                out[sl] = acc.astype(_F32)
            self._hist = buf[n:].copy()
        else:
            self._hist = np.concatenate([self._hist, mono])[n:]
        self._next_q = q0 + count * down - n * up
        self._consumed += n
        self._produced += count
        return count


def window_rms(samples, window: int, out) -> int:
    """Reference ``window_rms``; see the compiled ``turnengine._kernels.pcm.window_rms``."""
    win, n_win = check_window_rms_args(samples, window, out)
    if n_win:
        x = samples.astype(_F64).reshape(n_win, win)
        acc = np.add.accumulate(x * x, axis=1)[:, -1]
        out[:n_win] = np.sqrt(acc * (1.0 / win)).astype(_F32)
    return n_win


def intake_many(intakes: list[Intake], frames: np.ndarray, out: np.ndarray, pending: np.ndarray,
                consumed: np.ndarray) -> None:
    """Reference ``intake_many``; see the compiled ``turnengine._kernels.pcm.intake_many``."""
    n = len(intakes)
    if not (frames.shape[0] == out.shape[0] == pending.shape[0] == consumed.shape[0] == n):
        raise ValueError(f"expected frames, out, pending and consumed for {n} streams, got "
                         f"{frames.shape[0]}, {out.shape[0]}, {pending.shape[0]} and "
                         f"{consumed.shape[0]}")
    m, cap = frames.shape[1], out.shape[1]
    if m < 1:
        raise ValueError("expected at least one frame per stream, got 0")
    for name, a, dtype in (("frames", frames, np.int16), ("out", out, np.float32),
                           ("pending", pending, np.int64), ("consumed", consumed, np.int64)):
        if not isinstance(a, np.ndarray) or a.dtype != dtype or not a.flags.c_contiguous:
            raise ValueError(f"expected {name} as a C-contiguous {np.dtype(dtype)} array, got "
                             f"{getattr(a, 'dtype', type(a).__name__)}")
    for i, it in enumerate(intakes):
        if not isinstance(it, Intake):
            raise TypeError(f"expected Intake, got {type(it).__name__}")
        if not 0 <= consumed[i] <= pending[i]:
            raise ValueError(f"stream {i}: expected 0 <= consumed <= {pending[i]}, got "
                             f"{consumed[i]}")
        need = int(pending[i] - consumed[i]) + it.max_output(m)
        if need > cap:
            raise ValueError(f"stream {i}: expected a row of length >= {need}, got {cap}")
    for i, it in enumerate(intakes):
        drop, keep = int(consumed[i]), int(pending[i] - consumed[i])
        out[i, :keep] = out[i, drop:drop + keep].copy()
        pending[i] = keep + it.process(frames[i], out[i, keep:])
