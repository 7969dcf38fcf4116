"""Reference twin of the model-free ``energy`` VAD kernel (``ext/vad_energy.pyx``).

Same class, same signature and the same numbers (within 1e-5 per window) as the compiled
``turnengine._kernels.vad_energy``.  The constants, the filter design and the argument checks
live in ``vad_energy_spec``, which both twins import; the names are re-exported here.

Algorithm (one 10 ms window at a time; see ``docs/energy_vad.md``)
-----------------------------------------------------------------
1. **Log energy.**  A 2nd-order Butterworth high-pass at 100 Hz removes DC, hum fundamentals and
   the sub-speech rumble that dominates pink noise; ``E = 10 log10(mean(y^2) + 1e-10)`` dBFS.
2. **Adaptive noise floor** ``m`` (dB) with a noise spread ``v`` (dB): a stochastic quantile
   tracker (q = 0.2) whose step is proportional to the spread, so it falls quickly when frames
   are far below it (the spread grows) and rises slowly; frames far above the floor (speech) only
   lift it by 0.005 dB per window.  Minimum statistics bound it from below: at the end of each
   1 s block the floor is raised to the minimum energy of the last 1-2 s if that is higher
   (Martin 2001).  The first 10 windows are a start-up phase (running mean with min bias).  The
   spread ``v`` is the mean depth of frames below the floor (lower side only, so speech cannot
   inflate it), clamped to [0.5, 5] dB.
3. **Energy evidence** ``le = clip(E - thr, -4, 4)`` with ``thr = max(m + clip(3 v, 6, 15), -60)``
   dBFS: the threshold sits three noise spreads above the floor, so a fluctuating floor (babble)
   needs a larger rise than a steady one (pink, fan), and never below -60 dBFS.
4. **Spectral cue: voicing.**  The high-passed signal is low-passed (Butterworth, 1 kHz) and
   decimated to 4 kHz; the peak normalized autocorrelation over lags 2.5-16 ms (400-62.5 Hz
   pitch) on a 20 ms window measures harmonic structure, which voiced speech has (0.8-0.95) and
   broadband/pink noise has not (0.3-0.5).  A peak-hold ``vh`` (decays 0.01 per window, so a
   vowel carries the consonants around it for ~0.3 s) is the cue.
5. ``p = sigmoid(le + 6 (vh - 0.5) - 4)``.  As ``le <= 4``, even a loud window needs held
   voicing >= 0.5 to reach 0.5: energy bursts without pitch (clicks, rustle, noise gusts) stay
   below; a weak window needs more voicing.  ``p >= 0.5`` means speech; designed for the engine's
   hysteresis (activation 0.5, deactivation 0.35, min speech 50 ms, min silence 550 ms).

Sources: energy against a running background-noise estimate as in ITU-T G.729 Annex B; the
minimum-statistics noise estimator of R. Martin, "Noise power spectral density estimation based
on optimal smoothing and minimum statistics", IEEE TSAP 9(5), 2001; the normalized
autocorrelation voicing measure as in P. Boersma, "Accurate short-term analysis of the
fundamental frequency and the harmonics-to-noise ratio of a sampled sound", IFA Proc. 17, 1993.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

from .vad_energy_spec import (
    ABS_THRESHOLD_DB,
    BIAS,
    BLOCK_WINDOWS,
    ENERGY_CLAMP,
    ENERGY_EPS,
    FLOOR_QUANTILE,
    FLOOR_STEP,
    HIGHPASS_HZ,
    HISTORY,
    LAG_MAX,
    LAG_MIN,
    LOWPASS_HZ,
    MARGIN_MAX_DB,
    MARGIN_MIN_DB,
    NO_MINIMUM,
    NOISE_SPREADS,
    SLOW_RISE_DB,
    SPREAD_ALPHA,
    SPREAD_INIT_DB,
    SPREAD_MAX_DB,
    SPREAD_MIN_DB,
    STARTUP_WINDOWS,
    SUPPORTED_RATES_HZ,
    VOICING_EPS,
    VOICING_HOLD_DECAY,
    VOICING_RATE_HZ,
    VOICING_REF,
    VOICING_WEIGHT,
    VOICING_WINDOW,
    butter2,
    check_probs_out,
    check_sample_rate,
    check_samples,
    nonfinite_error,
)

__all__ = ["SUPPORTED_RATES_HZ", "EnergyVAD", "butter2", "check_probs_out", "check_sample_rate",
           "check_samples", "nonfinite_error"]


class EnergyVAD:
    """Reference energy VAD; see the compiled ``turnengine._kernels.vad_energy.EnergyVAD``.

    Parameters
    ----------
    sample_rate_hz : int
        8000 or 16000.

    Raises
    ------
    TypeError
        If ``sample_rate_hz`` is not an int.
    ValueError
        If it is not 8000 or 16000.
    """

    def __init__(self, sample_rate_hz: int) -> None:
        rate = check_sample_rate(sample_rate_hz)
        self._rate = rate
        self._window = rate // 100
        self._decimation = rate // VOICING_RATE_HZ
        hp = butter2(HIGHPASS_HZ, rate, highpass=True)
        lp = butter2(LOWPASS_HZ, rate, highpass=False)
        self._hp_b = np.array(hp[:3])
        self._hp_a = np.array((1.0, hp[3], hp[4]))
        self._lp_b = np.array(lp[:3])
        self._lp_a = np.array((1.0, lp[3], lp[4]))
        self.reset()

    @property
    def sample_rate_hz(self) -> int:
        """Input rate in Hz (8000 or 16000)."""
        return self._rate

    @property
    def window_size(self) -> int:
        """Samples per 10 ms window: 80 at 8 kHz, 160 at 16 kHz."""
        return self._window

    def reset(self) -> None:
        """Forget the filters, the noise floor and the voicing history (start of a new stream)."""
        self._hp_z = np.zeros(2)
        self._lp_z = np.zeros(2)
        self._hist = np.zeros(HISTORY)
        self._floor = 0.0
        self._spread = SPREAD_INIT_DB
        self._block_min = NO_MINIMUM
        self._prev_block_min = NO_MINIMUM
        self._vhold = 0.0
        self._n_windows = 0

    def process(self, samples, probs_out) -> int:
        """Score each 10 ms window of ``samples``; write one speech probability per window.

        Parameters
        ----------
        samples : ndarray of float32, shape ``(n_windows * window_size,)``
            C-contiguous mono audio at ``sample_rate_hz``, values in [-1, 1] (clipped there).
        probs_out : ndarray of float32, shape ``(>= n_windows,)``
            C-contiguous, writable; receives the probabilities in [0, 1] (>= 0.5 means speech).

        Returns
        -------
        int
            ``n_windows``, the number of probabilities written to ``probs_out[:n_windows]``.

        Raises
        ------
        TypeError
            If ``samples`` or ``probs_out`` is not a float32 numpy array.
        ValueError
            If ``samples`` is not 1-D C-contiguous, its length is not a multiple of
            ``window_size`` or it holds NaN/inf; if ``probs_out`` is too short, strided or
            read-only.  The state is unchanged in every case.
        """
        n_windows = check_samples(samples, self._window)
        check_probs_out(probs_out, n_windows)
        if n_windows == 0:
            return 0
        bad = ~np.isfinite(samples)
        if bad.any():
            raise nonfinite_error(int(np.flatnonzero(bad)[0]))
        x = np.clip(samples.astype(np.float64), -1.0, 1.0)
        yh, self._hp_z = lfilter(self._hp_b, self._hp_a, x, zi=self._hp_z)
        yl, self._lp_z = lfilter(self._lp_b, self._lp_a, yh, zi=self._lp_z)
        dec = self._decimation
        win = self._window
        per_window = win // dec
        yd = yl[dec - 1 :: dec]
        hist = self._hist
        for w in range(n_windows):
            frame = yh[w * win : (w + 1) * win]
            energy_db = 10.0 * math.log10(float(np.dot(frame, frame)) / win + ENERGY_EPS)
            hist = np.concatenate((hist[per_window:], yd[w * per_window : (w + 1) * per_window]))
            probs_out[w] = self._window_step(energy_db, _voicing(hist))
        self._hist = hist
        return n_windows

    def _window_step(self, energy_db: float, voicing: float) -> float:
        """Advance the floor/voicing trackers by one window; return its probability."""
        t = self._n_windows
        if t == 0:
            self._floor = energy_db
        m = self._floor
        v = self._spread
        vhold = max(voicing, self._vhold - VOICING_HOLD_DECAY)
        self._vhold = vhold
        margin = min(max(NOISE_SPREADS * v, MARGIN_MIN_DB), MARGIN_MAX_DB)
        thr = max(m + margin, ABS_THRESHOLD_DB)
        le = min(max(energy_db - thr, -ENERGY_CLAMP), ENERGY_CLAMP)
        logit = le + VOICING_WEIGHT * (vhold - VOICING_REF) - BIAS
        prob = 1.0 / (1.0 + math.exp(-logit))

        dev = energy_db - m
        self._block_min = min(self._block_min, energy_db)
        if t < STARTUP_WINDOWS:
            if dev < 0.0:
                m = energy_db
            else:
                m += dev / (t + 2)
        else:
            if dev < 0.0:
                m -= FLOOR_STEP * (1.0 - FLOOR_QUANTILE) * v
                v += SPREAD_ALPHA * (-dev - v)
            elif dev < NOISE_SPREADS * v:
                m += FLOOR_STEP * FLOOR_QUANTILE * v
            else:
                m += SLOW_RISE_DB
            v = min(max(v, SPREAD_MIN_DB), SPREAD_MAX_DB)
        if t % BLOCK_WINDOWS == BLOCK_WINDOWS - 1:
            low = min(self._block_min, self._prev_block_min)
            if low > m:
                m = low
            self._prev_block_min = self._block_min
            self._block_min = NO_MINIMUM
        self._floor = m
        self._spread = v
        self._n_windows = t + 1
        return prob


def _voicing(hist: np.ndarray) -> float:
    """Peak normalized autocorrelation of the newest VOICING_WINDOW samples over the pitch lags.

    Lagged energies from prefix sums of squares (as the compiled kernel does, in sample order).
    """
    prefix = np.concatenate(((0.0,), np.cumsum(hist * hist)))
    ea = max(prefix[HISTORY] - prefix[LAG_MAX], 0.0)
    a = hist[LAG_MAX:]
    # window j of ``views`` starts at sample j; lag L uses the window starting at LAG_MAX - L
    n_lags = LAG_MAX - LAG_MIN + 1
    views = sliding_window_view(hist[: n_lags - 1 + VOICING_WINDOW], VOICING_WINDOW)
    ab = views @ a
    starts = np.arange(n_lags)
    eb = np.maximum(prefix[starts + VOICING_WINDOW] - prefix[starts], 0.0)
    r = ab / np.sqrt(ea * eb + VOICING_EPS)
    return max(0.0, float(r.max()))
