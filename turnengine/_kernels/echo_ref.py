"""Reference twin of the echo-canceller kernel (``ext/echo.pyx``): same class, signatures and
numbers (float64 throughout; within 1e-6 of the compiled kernel on the test signals).

Algorithm (one block of ``BLOCK`` = 64 samples at a time; constants in ``echo_spec``)
------------------------------------------------------------------------------------
1. **Far-end spectra.**  Each playout block is transformed with the block before it (2 * BLOCK
   real FFT, overlap-save) and kept in a ring covering the delay range plus the filter.
2. **Delay.**  The log-energy envelopes of playout and microphone blocks are cross-correlated
   over lags 0..``MAX_DELAY_S`` (recursive normalised cross-covariance, updated on active
   playout blocks only).  A peak above ``NCC_MIN`` held ``LOCK_BLOCKS`` blocks locks the delay;
   later a peak outside the filter's span moves it only if it holds ``MOVE_BLOCKS`` blocks,
   beats the current delay's correlation by ``NCC_MARGIN`` and the filter is not cancelling
   (foreground ERLE below ``KEEP_ERLE_DB``).  Once the filter cancels, every
   ``RECENTER_BLOCKS`` blocks the delay is read off the filter itself (its most energetic
   partition, the direct path).  A move shifts the filters' partitions, so what they learnt is
   kept.  (Envelope correlation as in WebRTC's delay estimators.)
3. **Linear filter, two paths.**  A partitioned-block frequency-domain adaptive filter
   (PBFDAF; Soo and Pang 1990) of ``PARTITIONS`` blocks starting ``PRE_BLOCKS`` before the
   delay.  The background filter adapts on every active playout block with a normalised step
   (``STEP / PARTITIONS`` over the smoothed far-end power per bin); the gradient constraint is
   applied to one partition per block in turn.  The foreground filter, whose error is the
   output, takes the background's weights when the background's error power is below
   ``COPY_RATIO`` of its own (and below the microphone's); the background is reset to the
   foreground when its error grows past ``RESET_RATIO`` times (it diverged in double talk).
   Two-path adaptation as in Ochiai et al. 1977 and Speex's MDF.
4. **Residual-echo suppressor.**  On a square-root-Hann STFT of the foreground error (hop
   ``BLOCK``), per bin: the ratio of error power to echo-estimate power (|sum W X|^2), smoothed,
   is tracked by its minimum (which only rises by ``RATIO_RISE`` per block, so double talk,
   where the ratio jumps, does not lift it: minimum statistics as in Martin 2001); the residual
   echo is ``SUPPRESSION`` x that minimum x the echo estimate, held with a decay of
   ``RESIDUAL_DECAY`` per block for the room's tail; the gain is ``1 - residual / error``
   floored at ``GAIN_MIN``.  Overlap-add resynthesis: the output lags the input by ``BLOCK``
   samples.
5. Per block the delay in use (samples, -1 before the first lock) is written out.
"""

from __future__ import annotations

import math

import numpy as np

from .echo_spec import (
    BINS,
    BLOCK,
    COPY_RATIO,
    DELAY_SMOOTHING,
    ECHO_FLOOR,
    ERLE_SMOOTHING,
    ERROR_SMOOTHING,
    FAR_ACTIVE_POWER,
    GAIN_MIN,
    KEEP_ERLE_DB,
    LOCK_BLOCKS,
    MOVE_BLOCKS,
    NCC_MARGIN,
    NCC_MIN,
    NEAR_HOLD,
    NEAR_RATIO,
    PARTITIONS,
    POWER_FLOOR,
    POWER_SMOOTHING,
    PRE_BLOCKS,
    RATIO_RISE,
    RATIO_SMOOTHING,
    RECENTER_BLOCKS,
    RESET_RATIO,
    RESIDUAL_DECAY,
    STEP,
    SUPPRESSION,
    SUPPRESSION_NEAR,
    analysis_window,
    check_process,
    check_rate,
    max_delay_blocks,
)

__all__ = ["EchoCanceller", "BLOCK"]

_LOG_ACTIVE = math.log(BLOCK * FAR_ACTIVE_POWER + 1e-7)


class EchoCanceller:
    """Acoustic echo canceller on model-rate float32 audio (see the module notes).

    Parameters
    ----------
    sample_rate_hz : int
        8000 or 16000.

    Raises
    ------
    ValueError
        Another rate.
    """

    def __init__(self, sample_rate_hz: int) -> None:
        self._rate = check_rate(sample_rate_hz)
        self._lags = max_delay_blocks(self._rate)
        self._ring_len = self._lags + PARTITIONS + 2
        self._win = analysis_window()
        self.reset()

    @property
    def sample_rate_hz(self) -> int:
        return self._rate

    @property
    def block_size(self) -> int:
        return BLOCK

    @property
    def delay_samples(self) -> int:
        """Playout-to-microphone delay in use (samples; -1 before the first lock)."""
        return self._delay * BLOCK if self._delay >= 0 else -1

    @property
    def erle_db(self) -> float:
        """The foreground filter's ERLE estimate over active playout (dB; 0 before any)."""
        return self._erle

    @property
    def blocks(self) -> int:
        """Blocks processed since the start (or the last reset)."""
        return self._b

    def reset(self) -> None:
        """Forget everything (a new call)."""
        L, M = self._lags, PARTITIONS
        self._ring = np.zeros((self._ring_len, BINS), np.complex128)
        self._xprev = np.zeros(BLOCK)
        self._fhist = np.zeros(L + 1)
        self._cov = np.zeros(L + 1)
        self._vf = np.full(L + 1, 1e-6)
        self._vd = 1e-6
        self._mf = self._md = 0.0
        self._cand = -1
        self._cand_n = 0
        self._delay = -1
        self._start = -1
        self._wb = np.zeros((M, BINS), np.complex128)
        self._wf = np.zeros((M, BINS), np.complex128)
        self._p = np.zeros(BINS)
        self._sb = self._sf = 0.0
        self._pd = self._pe = 1e-9
        self._erle = 0.0
        self._eprev = np.zeros(BLOCK)
        self._ola = np.zeros(BLOCK)
        self._res = np.zeros(BINS)
        self._rs = np.ones(BINS)
        self._rmin = np.ones(BINS)
        self._near = 0
        self._b = 0

    def process(self, mic: np.ndarray, far: np.ndarray, out: np.ndarray,
                delays: np.ndarray, stats: np.ndarray) -> int:
        """Cancel the echo of ``far`` in ``mic``, a block at a time.

        Parameters
        ----------
        mic, far : numpy.ndarray of float32, shape (n_blocks * BLOCK,)
            Microphone and playout of the same instants.
        out : numpy.ndarray of float32, shape (>= n_blocks * BLOCK,)
            Receives the echo-reduced microphone, ``BLOCK`` samples late.
        delays : numpy.ndarray of int64, shape (>= n_blocks,)
            Receives the delay in use per block (samples, -1 before the first lock).
        stats : numpy.ndarray of float64, shape (>= n_blocks, 3), C-contiguous
            Receives per block the microphone energy, the output energy (sums of squares) and
            1.0 where the playout block is active (else 0.0): the engine's ERLE.

        Returns
        -------
        int
            Blocks processed.

        Raises
        ------
        TypeError, ValueError
            Wrong dtypes, shapes or lengths (nothing changes).
        """
        n = check_process(mic, far, out, delays, stats)
        for i in range(n):
            s = i * BLOCK
            d = mic[s:s + BLOCK].astype(np.float64)
            x = far[s:s + BLOCK].astype(np.float64)
            o = self._block(d, x)
            out[s:s + BLOCK] = o
            delays[i] = self.delay_samples
            o32 = o.astype(np.float32).astype(np.float64)  # what the caller gets
            stats[i, 0] = float(d @ d)
            stats[i, 1] = float(o32 @ o32)
            stats[i, 2] = 1.0 if float(x @ x) > BLOCK * FAR_ACTIVE_POWER else 0.0
        return n

    # -- one block ------------------------------------------------------------------------------
    def _block(self, d: np.ndarray, x: np.ndarray) -> np.ndarray:
        b = self._b
        x0 = np.fft.rfft(np.concatenate([self._xprev, x]))
        self._xprev = x
        self._ring[b % self._ring_len] = x0
        sx, sd = float(x @ x), float(d @ d)
        active = sx > BLOCK * FAR_ACTIVE_POWER
        self._track_delay(math.log(sx + 1e-7), math.log(sd + 1e-7), active)
        echo = np.zeros(BINS, np.complex128)
        e = d
        if self._start >= 0:
            e, echo = self._filter(d, sd, active)
            if b % RECENTER_BLOCKS == RECENTER_BLOCKS - 1 and self._erle > KEEP_ERLE_DB:
                self._recenter()
        self._b += 1
        return self._suppress(e, echo)

    def _track_delay(self, ef: float, ed: float, active: bool) -> None:
        self._fhist[1:] = self._fhist[:-1]
        self._fhist[0] = ef
        if not active:
            return
        a = DELAY_SMOOTHING
        self._mf = a * self._mf + (1 - a) * ef
        self._md = a * self._md + (1 - a) * ed
        f = self._fhist - self._mf
        dd = ed - self._md
        self._cov = a * self._cov + (1 - a) * dd * f
        self._vf = a * self._vf + (1 - a) * f * f
        self._vd = a * self._vd + (1 - a) * dd * dd
        # argmax of the normalised cross-correlation without a square root per lag: the signed
        # square cov |cov| / vf orders the lags as cov / sqrt(vf vd) does (vd is common)
        best = int(np.argmax(self._cov * np.abs(self._cov) / self._vf))
        ncc_best = self._ncc(best)
        if ncc_best < NCC_MIN:
            self._cand_n = 0
            return
        if best == self._cand:
            self._cand_n += 1
        else:
            self._cand, self._cand_n = best, 1
        if self._delay < 0:
            if self._cand_n >= LOCK_BLOCKS:
                self._set_delay(best)
            return
        lo = self._start + (1 if self._start > 0 else 0)
        hi = self._start + PARTITIONS - 2
        if (not lo <= best <= hi and self._cand_n >= MOVE_BLOCKS and self._erle < KEEP_ERLE_DB
                and ncc_best > self._ncc(self._delay) + NCC_MARGIN):
            self._set_delay(best)

    def _ncc(self, lag: int) -> float:
        return float(self._cov[lag] / math.sqrt(self._vf[lag] * self._vd + 1e-12))

    def _set_delay(self, delay: int) -> None:
        start = max(delay - PRE_BLOCKS, 0)
        if self._start >= 0 and start != self._start:
            shift = start - self._start
            for w in (self._wb, self._wf):
                old = w.copy()
                w[:] = 0
                for m in range(PARTITIONS):
                    if 0 <= m + shift < PARTITIONS:
                        w[m] = old[m + shift]
        self._delay, self._start = delay, start

    def _recenter(self) -> None:
        energy = np.sum(self._wf.real ** 2 + self._wf.imag ** 2, axis=1)
        peak = int(np.argmax(energy))
        if self._start + peak != self._delay:
            self._set_delay(self._start + peak)

    def _filter(self, d: np.ndarray, sd: float, active: bool) -> tuple[np.ndarray, np.ndarray]:
        """Both filters on block ``d``: the foreground error and echo spectrum; adapts."""
        b, M = self._b, PARTITIONS
        X = self._ring[[(b - self._start - m) % self._ring_len for m in range(M)]]
        yb_spec = np.sum(self._wb * X, axis=0)
        yf_spec = np.sum(self._wf * X, axis=0)
        eb = d - np.fft.irfft(yb_spec)[BLOCK:]
        e = d - np.fft.irfft(yf_spec)[BLOCK:]
        xs = X[0].real ** 2 + X[0].imag ** 2
        self._p = POWER_SMOOTHING * self._p + (1 - POWER_SMOOTHING) * xs
        pn = np.maximum(self._p, xs) + POWER_FLOOR
        a = ERROR_SMOOTHING
        self._sb = a * self._sb + (1 - a) * float(eb @ eb)
        self._sf = a * self._sf + (1 - a) * float(e @ e)
        if active:
            g = ERLE_SMOOTHING
            self._pd = g * self._pd + (1 - g) * sd
            self._pe = g * self._pe + (1 - g) * float(e @ e)
            self._erle = 10.0 * math.log10(self._pd / self._pe)
        if self._fhist[self._start] > _LOG_ACTIVE:  # the far block now reaching the mic
            self._adapt(X, eb, pn, sd)
        return e, yf_spec

    def _adapt(self, X: np.ndarray, eb: np.ndarray, pn: np.ndarray, sd: float) -> None:
        err = np.fft.rfft(np.concatenate([np.zeros(BLOCK), eb]))
        g = (STEP / PARTITIONS) * err / pn
        self._wb += np.conj(X) * g
        j = self._b % PARTITIONS  # gradient constraint, one partition per block
        w = np.fft.irfft(self._wb[j])
        w[BLOCK:] = 0.0
        self._wb[j] = np.fft.rfft(w)
        if self._sb < COPY_RATIO * self._sf and self._sb < sd:
            self._wf[:] = self._wb
            self._sf = self._sb
        elif self._sb > RESET_RATIO * self._sf:
            self._wb[:] = self._wf
            self._sb = self._sf

    def _suppress(self, e: np.ndarray, echo: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(self._win * np.concatenate([self._eprev, e]))
        self._eprev = e
        rf = spec.real ** 2 + spec.imag ** 2
        yp = echo.real ** 2 + echo.imag ** 2
        ratio = np.where(yp > ECHO_FLOOR, rf / (yp + 1e-15), self._rs)
        self._rs = RATIO_SMOOTHING * self._rs + (1 - RATIO_SMOOTHING) * ratio
        self._rmin = np.where(self._rs < self._rmin, self._rs, self._rmin * (1 + RATIO_RISE))
        res = np.maximum(np.minimum(self._rmin, 1.0) * yp, RESIDUAL_DECAY * self._res)
        self._res = res
        if float(rf.sum()) > NEAR_RATIO * SUPPRESSION * float(res.sum()):
            self._near = NEAR_HOLD
        elif self._near:
            self._near -= 1
        over = SUPPRESSION_NEAR if self._near else SUPPRESSION
        gain = np.maximum(GAIN_MIN, 1.0 - over * res / (rf + 1e-12))
        o = np.fft.irfft(spec * gain) * self._win
        out = self._ola + o[:BLOCK]
        self._ola = o[BLOCK:]
        return out
