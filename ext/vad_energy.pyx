# Model-free "energy" VAD kernel: log energy against an adaptive noise floor plus a voicing cue.
#
# Reference twin: turnengine/_kernels/vad_energy_ref.py (same API, same numbers within 1e-5).  The
# constants, the filter design and the argument checks live in
# turnengine/_kernels/vad_energy_spec.py, which both twins import so they cannot drift apart.
# Design note with measurements: docs/energy_vad.md.
"""Model-free ``energy`` VAD: one speech probability per 10 ms window, no model file.

Per window: high-passed (100 Hz) log energy against an adaptive noise floor (quantile tracker with
a noise-spread estimate, bounded by minimum statistics), plus a voicing cue (peak-held normalized
autocorrelation at pitch lags of the 1 kHz low-passed signal decimated to 4 kHz), combined by a
logistic into [0, 1]; a probability >= 0.5 means speech.  Sources: ITU-T G.729 Annex B (energy
against a running noise estimate), R. Martin 2001 (minimum statistics), P. Boersma 1993
(autocorrelation voicing).  Details: turnengine/_kernels/vad_energy_ref.py, docs/energy_vad.md.
"""

from libc.math cimport exp, isfinite, log10, sqrt
from libc.stdint cimport int64_t
from libc.string cimport memmove, memset

from _common cimport KE_BAD_LENGTH, KE_NONFINITE, KE_OUTPUT_TOO_SMALL
include "_codes.pxi"

import numpy as np

from turnengine._kernels import vad_energy_spec as _spec
from turnengine._kernels.vad_energy_spec import (
    butter2,
    check_probs_out,
    check_sample_rate,
    check_samples,
    nonfinite_error,
)

cdef enum:
    _VOICING_RATE_HZ = 4000
    _WINDOW = 80            # voicing window, 20 ms at 4 kHz
    _LAG_MIN = 10           # 400 Hz
    _LAG_MAX = 64           # 62.5 Hz
    _HISTORY = 144          # _WINDOW + _LAG_MAX decimated samples
    _STARTUP = 10
    _BLOCK = 100

# Tunables, copied once from the spec module (the single source of truth).
cdef double VOICING_EPS = _spec.VOICING_EPS
cdef double ENERGY_EPS = _spec.ENERGY_EPS
cdef double FLOOR_QUANTILE = _spec.FLOOR_QUANTILE
cdef double FLOOR_STEP = _spec.FLOOR_STEP
cdef double SPREAD_INIT_DB = _spec.SPREAD_INIT_DB
cdef double SPREAD_ALPHA = _spec.SPREAD_ALPHA
cdef double SPREAD_MIN_DB = _spec.SPREAD_MIN_DB
cdef double SPREAD_MAX_DB = _spec.SPREAD_MAX_DB
cdef double NOISE_SPREADS = _spec.NOISE_SPREADS
cdef double MARGIN_MIN_DB = _spec.MARGIN_MIN_DB
cdef double MARGIN_MAX_DB = _spec.MARGIN_MAX_DB
cdef double SLOW_RISE_DB = _spec.SLOW_RISE_DB
cdef double ABS_THRESHOLD_DB = _spec.ABS_THRESHOLD_DB
cdef double ENERGY_CLAMP = _spec.ENERGY_CLAMP
cdef double VOICING_HOLD_DECAY = _spec.VOICING_HOLD_DECAY
cdef double VOICING_REF = _spec.VOICING_REF
cdef double VOICING_WEIGHT = _spec.VOICING_WEIGHT
cdef double BIAS = _spec.BIAS
cdef double _BIG = _spec.NO_MINIMUM

if (_spec.VOICING_RATE_HZ, _spec.VOICING_WINDOW, _spec.LAG_MIN, _spec.LAG_MAX, _spec.HISTORY,
        _spec.STARTUP_WINDOWS, _spec.BLOCK_WINDOWS) != (
        _VOICING_RATE_HZ, _WINDOW, _LAG_MIN, _LAG_MAX, _HISTORY, _STARTUP, _BLOCK):
    raise ImportError("ext/vad_energy.pyx and vad_energy_spec.py disagree on integer constants")


cdef struct EnergyVADState:
    int64_t window          # samples per 10 ms window
    int64_t decimation      # sample_rate / 4000
    double hp[5]            # high-pass b0, b1, b2, a1, a2
    double lp[5]            # low-pass b0, b1, b2, a1, a2
    double hp_z1, hp_z2     # transposed direct form II states
    double lp_z1, lp_z2
    double hist[_HISTORY]   # decimated low-passed signal, newest last
    double floor_db         # adaptive noise floor m
    double spread_db        # lower-side noise spread v
    double block_min_db     # minimum energy in the current block
    double prev_block_min_db
    double vhold            # peak-held voicing
    int64_t n_windows       # windows processed since reset


cdef inline double _clamp(double x, double lo, double hi) noexcept nogil:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


cdef double _voicing(const double* hist) noexcept nogil:
    """Peak normalized autocorrelation of the newest _WINDOW samples over lags _LAG_MIN.._LAG_MAX.

    The lagged energies come from a running sum of squares (prefix sums, in sample order, as the
    reference's ``np.cumsum``); the cross products use four partial sums so the loop pipelines.
    """
    cdef const double* a = hist + _LAG_MAX
    cdef const double* b
    cdef double prefix[_HISTORY + 1]
    cdef double ea, eb, r, best = 0.0, s0, s1, s2, s3
    cdef Py_ssize_t i, lag
    prefix[0] = 0.0
    for i in range(_HISTORY):
        prefix[i + 1] = prefix[i] + hist[i] * hist[i]
    ea = prefix[_HISTORY] - prefix[_LAG_MAX]
    if ea < 0.0:  # rounding in the prefix difference
        ea = 0.0
    for lag in range(_LAG_MIN, _LAG_MAX + 1):
        b = hist + _LAG_MAX - lag
        s0 = s1 = s2 = s3 = 0.0
        for i in range(0, _WINDOW, 4):
            s0 += a[i] * b[i]
            s1 += a[i + 1] * b[i + 1]
            s2 += a[i + 2] * b[i + 2]
            s3 += a[i + 3] * b[i + 3]
        eb = prefix[_HISTORY - lag] - prefix[_LAG_MAX - lag]
        if eb < 0.0:
            eb = 0.0
        r = ((s0 + s1) + (s2 + s3)) / sqrt(ea * eb + VOICING_EPS)
        if r > best:
            best = r
    return best


cdef double _window_step(EnergyVADState* s, double energy_db, double voicing) noexcept nogil:
    """Advance the floor/voicing trackers by one window; return its probability."""
    cdef int64_t t = s.n_windows
    cdef double m, v, vhold, margin, thr, le, logit, prob, dev, low
    if t == 0:
        s.floor_db = energy_db
    m = s.floor_db
    v = s.spread_db
    vhold = voicing
    if s.vhold - VOICING_HOLD_DECAY > vhold:
        vhold = s.vhold - VOICING_HOLD_DECAY
    s.vhold = vhold
    margin = _clamp(NOISE_SPREADS * v, MARGIN_MIN_DB, MARGIN_MAX_DB)
    thr = m + margin
    if thr < ABS_THRESHOLD_DB:
        thr = ABS_THRESHOLD_DB
    le = _clamp(energy_db - thr, -ENERGY_CLAMP, ENERGY_CLAMP)
    logit = le + VOICING_WEIGHT * (vhold - VOICING_REF) - BIAS
    prob = 1.0 / (1.0 + exp(-logit))

    dev = energy_db - m
    if energy_db < s.block_min_db:
        s.block_min_db = energy_db
    if t < _STARTUP:
        if dev < 0.0:
            m = energy_db
        else:
            m += dev / <double>(t + 2)
    else:
        if dev < 0.0:
            m -= FLOOR_STEP * (1.0 - FLOOR_QUANTILE) * v
            v += SPREAD_ALPHA * (-dev - v)
        elif dev < NOISE_SPREADS * v:
            m += FLOOR_STEP * FLOOR_QUANTILE * v
        else:
            m += SLOW_RISE_DB
        v = _clamp(v, SPREAD_MIN_DB, SPREAD_MAX_DB)
    if t % _BLOCK == _BLOCK - 1:
        low = s.block_min_db
        if s.prev_block_min_db < low:
            low = s.prev_block_min_db
        if low > m:
            m = low
        s.prev_block_min_db = s.block_min_db
        s.block_min_db = _BIG
    s.floor_db = m
    s.spread_db = v
    s.n_windows = t + 1
    return prob


cdef int64_t _process(EnergyVADState* s, const float* x, int64_t n_samples, float* out,
                      int64_t out_len) noexcept nogil:
    """Score n_samples / window windows into out; return the count or a KernelError (< 0).

    On an error the state is untouched (all checks run before the first window).
    """
    cdef int64_t win = s.window
    cdef int64_t dec = s.decimation
    cdef int64_t per_window = win // dec
    cdef int64_t n_windows, w, i, k
    cdef double xs, y, yl, esum, energy_db, hz1, hz2, lz1, lz2
    cdef double hb0 = s.hp[0], hb1 = s.hp[1], hb2 = s.hp[2], ha1 = s.hp[3], ha2 = s.hp[4]
    cdef double lb0 = s.lp[0], lb1 = s.lp[1], lb2 = s.lp[2], la1 = s.lp[3], la2 = s.lp[4]
    cdef const float* frame
    if n_samples % win != 0:
        return KE_BAD_LENGTH
    n_windows = n_samples // win
    if out_len < n_windows:
        return KE_OUTPUT_TOO_SMALL
    for i in range(n_samples):
        if not isfinite(x[i]):
            return KE_NONFINITE
    # Filter states live in locals inside the loop (the stores to s.hist could alias them).
    hz1 = s.hp_z1
    hz2 = s.hp_z2
    lz1 = s.lp_z1
    lz2 = s.lp_z2
    for w in range(n_windows):
        frame = x + w * win
        esum = 0.0
        memmove(&s.hist[0], &s.hist[per_window], (_HISTORY - per_window) * sizeof(double))
        k = _HISTORY - per_window
        for i in range(win):
            xs = _clamp(<double>frame[i], -1.0, 1.0)
            y = hb0 * xs + hz1
            hz1 = hb1 * xs - ha1 * y + hz2
            hz2 = hb2 * xs - ha2 * y
            esum += y * y
            yl = lb0 * y + lz1
            lz1 = lb1 * y - la1 * yl + lz2
            lz2 = lb2 * y - la2 * yl
            if i % dec == dec - 1:
                s.hist[k] = yl
                k += 1
        energy_db = 10.0 * log10(esum / <double>win + ENERGY_EPS)
        out[w] = <float>_window_step(s, energy_db, _voicing(&s.hist[0]))
    s.hp_z1 = hz1
    s.hp_z2 = hz2
    s.lp_z1 = lz1
    s.lp_z2 = lz2
    return n_windows


cdef class EnergyVAD:
    """Streaming model-free VAD: one speech probability in [0, 1] per 10 ms window.

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

    Notes
    -----
    The state (filters, noise floor, voicing history) is a C struct; feeding a signal in chunks
    of any whole number of windows gives the same probabilities as one call.  The work runs
    without the GIL.  Algorithm and measurements: ``docs/energy_vad.md``.
    """

    cdef EnergyVADState s
    cdef int _rate

    def __init__(self, sample_rate_hz):
        cdef int j
        rate = check_sample_rate(sample_rate_hz)
        self._rate = rate
        hp = butter2(_spec.HIGHPASS_HZ, rate, True)
        lp = butter2(_spec.LOWPASS_HZ, rate, False)
        for j in range(5):
            self.s.hp[j] = hp[j]
            self.s.lp[j] = lp[j]
        self.s.window = rate // 100
        self.s.decimation = rate // _VOICING_RATE_HZ
        self.reset()

    @property
    def sample_rate_hz(self):
        """Input rate in Hz (8000 or 16000)."""
        return self._rate

    @property
    def window_size(self):
        """Samples per 10 ms window: 80 at 8 kHz, 160 at 16 kHz."""
        return self.s.window

    def reset(self):
        """Forget the filters, the noise floor and the voicing history (start of a new stream)."""
        self.s.hp_z1 = 0.0
        self.s.hp_z2 = 0.0
        self.s.lp_z1 = 0.0
        self.s.lp_z2 = 0.0
        memset(&self.s.hist[0], 0, _HISTORY * sizeof(double))
        self.s.floor_db = 0.0
        self.s.spread_db = SPREAD_INIT_DB
        self.s.block_min_db = _BIG
        self.s.prev_block_min_db = _BIG
        self.s.vhold = 0.0
        self.s.n_windows = 0

    def process(self, samples, probs_out):
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
        cdef const float[::1] xv
        cdef float[::1] ov
        cdef int64_t n_windows, out_len, n
        n_windows = check_samples(samples, self.s.window)
        out_len = check_probs_out(probs_out, n_windows)
        if n_windows == 0:
            return 0
        xv = samples
        ov = probs_out
        with nogil:
            n = _process(&self.s, &xv[0], xv.shape[0], &ov[0], out_len)
        if n == KE_NONFINITE:
            raise nonfinite_error(int(np.flatnonzero(~np.isfinite(samples))[0]))
        if n < 0:  # pragma: no cover - the checks above make these unreachable
            raise ValueError(f"energy VAD kernel error {n}")
        return n
