# Acoustic echo canceller kernel: the agent's playout removed from the microphone (issue 12).
#
# Reference twin: turnengine/_kernels/echo_ref.py (same API, the same numbers within 1e-6; the
# algorithm is described there).  Constants and argument checks: turnengine/_kernels/echo_spec.py,
# read once at construction, so the two twins cannot drift apart.  The 128-point real FFT is
# ext/echo_fft.h.  Per block of 64 samples: far-end spectrum into a ring, envelope delay
# estimator, two-path partitioned-block frequency-domain adaptive filter, residual-echo
# suppressor with overlap-add resynthesis; all in double precision.
"""Acoustic echo canceller: playout delay estimation, a two-path PBFDAF and a residual-echo
suppressor, on 64-sample blocks of model-rate float32 audio (details:
turnengine/_kernels/echo_ref.py, docs/echo.md)."""

from libc.math cimport fabs, log, log10, sqrt
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memmove, memset

import numpy as np

from turnengine._kernels import echo_spec as _spec
from turnengine._kernels.echo_spec import check_process, check_rate, max_delay_blocks

cdef extern from "echo_fft.h":
    ctypedef struct ef_tables:
        pass
    void ef_init(ef_tables *t)
    void ef_rfft(const ef_tables *t, const double *x, double *xr, double *xi) nogil
    void ef_irfft(const ef_tables *t, const double *xr, const double *xi, double *x) nogil

cdef ef_tables _TABLES
ef_init(&_TABLES)

cdef enum:
    N = 64      # echo_spec.BLOCK (checked at construction)
    K = 65      # echo_spec.BINS
    MAX_PARTITIONS = 64

BLOCK = N


cdef struct Params:
    int M, pre, lock, move, near_hold, recenter
    double step, power_floor, power_smoothing, far_active, error_smoothing, copy_ratio
    double reset_ratio, delay_smoothing, ncc_min, ncc_margin, keep_erle, erle_smoothing
    double ratio_smoothing, ratio_rise, suppression, suppression_near, near_ratio
    double residual_decay, gain_min, echo_floor, log_active


cdef class EchoCanceller:
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

    cdef int _rate, _lags, _ring_len
    cdef Params _p
    cdef double[::1] _win
    cdef double[:, ::1] _ring_r, _ring_i, _wb_r, _wb_i, _wf_r, _wf_i
    cdef double[::1] _xprev, _fhist, _cov, _vf, _pw, _eprev, _ola, _res, _rs, _rmin
    cdef double _vd, _mf, _md, _sb, _sf, _pd, _pe, _erle
    cdef int _cand, _cand_n, _delay, _start, _near
    cdef int64_t _b

    def __init__(self, int sample_rate_hz):
        self._rate = check_rate(sample_rate_hz)
        if _spec.BLOCK != N or not 0 < _spec.PARTITIONS <= MAX_PARTITIONS:
            raise ValueError("echo_spec.BLOCK must be 64 and PARTITIONS 1..64 for this build")
        self._lags = max_delay_blocks(self._rate)
        self._ring_len = self._lags + _spec.PARTITIONS + 2
        self._win = np.ascontiguousarray(_spec.analysis_window(), dtype=np.float64)
        p = &self._p
        p.M = _spec.PARTITIONS
        p.pre = _spec.PRE_BLOCKS
        p.lock = _spec.LOCK_BLOCKS
        p.move = _spec.MOVE_BLOCKS
        p.near_hold = _spec.NEAR_HOLD
        p.recenter = _spec.RECENTER_BLOCKS
        p.step = _spec.STEP
        p.power_floor = _spec.POWER_FLOOR
        p.power_smoothing = _spec.POWER_SMOOTHING
        p.far_active = _spec.FAR_ACTIVE_POWER
        p.error_smoothing = _spec.ERROR_SMOOTHING
        p.copy_ratio = _spec.COPY_RATIO
        p.reset_ratio = _spec.RESET_RATIO
        p.delay_smoothing = _spec.DELAY_SMOOTHING
        p.ncc_min = _spec.NCC_MIN
        p.ncc_margin = _spec.NCC_MARGIN
        p.keep_erle = _spec.KEEP_ERLE_DB
        p.erle_smoothing = _spec.ERLE_SMOOTHING
        p.ratio_smoothing = _spec.RATIO_SMOOTHING
        p.ratio_rise = _spec.RATIO_RISE
        p.suppression = _spec.SUPPRESSION
        p.suppression_near = _spec.SUPPRESSION_NEAR
        p.near_ratio = _spec.NEAR_RATIO
        p.residual_decay = _spec.RESIDUAL_DECAY
        p.gain_min = _spec.GAIN_MIN
        p.echo_floor = _spec.ECHO_FLOOR
        p.log_active = log(N * p.far_active + 1e-7)
        self.reset()

    @property
    def sample_rate_hz(self):
        return self._rate

    @property
    def block_size(self):
        return N

    @property
    def delay_samples(self):
        """Playout-to-microphone delay in use (samples; -1 before the first lock)."""
        return self._delay * N if self._delay >= 0 else -1

    @property
    def erle_db(self):
        """The foreground filter's ERLE estimate over active playout (dB; 0 before any)."""
        return self._erle

    @property
    def blocks(self):
        """Blocks processed since the start (or the last reset)."""
        return self._b

    def reset(self):
        """Forget everything (a new call)."""
        L, M, R = self._lags, self._p.M, self._ring_len
        self._ring_r = np.zeros((R, K))
        self._ring_i = np.zeros((R, K))
        self._wb_r = np.zeros((M, K))
        self._wb_i = np.zeros((M, K))
        self._wf_r = np.zeros((M, K))
        self._wf_i = np.zeros((M, K))
        self._xprev = np.zeros(N)
        self._fhist = np.zeros(L + 1)
        self._cov = np.zeros(L + 1)
        self._vf = np.full(L + 1, 1e-6)
        self._pw = np.zeros(K)
        self._eprev = np.zeros(N)
        self._ola = np.zeros(N)
        self._res = np.zeros(K)
        self._rs = np.ones(K)
        self._rmin = np.ones(K)
        self._vd = 1e-6
        self._mf = self._md = 0.0
        self._sb = self._sf = 0.0
        self._pd = self._pe = 1e-9
        self._erle = 0.0
        self._cand = -1
        self._cand_n = 0
        self._delay = -1
        self._start = -1
        self._near = 0
        self._b = 0

    def process(self, mic, far, out, delays, stats):
        """Cancel the echo of ``far`` in ``mic``, a block at a time.

        Parameters
        ----------
        mic, far : numpy.ndarray of float32, shape (n_blocks * 64,)
            Microphone and playout of the same instants.
        out : numpy.ndarray of float32, shape (>= n_blocks * 64,)
            Receives the echo-reduced microphone, 64 samples late.
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
        cdef int n = check_process(mic, far, out, delays, stats)
        cdef const float[::1] m = mic
        cdef const float[::1] f = far
        cdef float[::1] o = out
        cdef int64_t[::1] dl = delays
        cdef double[:, ::1] st = stats
        cdef int i
        with nogil:
            for i in range(n):
                self._block(&m[i * N], &f[i * N], &o[i * N], &st[i, 0])
                dl[i] = self._delay * N if self._delay >= 0 else -1
        return n

    # -- one block --------------------------------------------------------------------------------
    cdef void _block(self, const float *mic, const float *far, float *out,
                     double *stat) noexcept nogil:
        cdef double buf[2 * N]
        cdef double d[N]
        cdef double x[N]
        cdef double e[N]
        cdef double echo_r[K]
        cdef double echo_i[K]
        cdef double sx = 0.0, sd = 0.0
        cdef int j, row = <int>(self._b % self._ring_len)
        cdef bint active
        for j in range(N):
            d[j] = mic[j]
            x[j] = far[j]
            sx += x[j] * x[j]
            sd += d[j] * d[j]
        memcpy(buf, &self._xprev[0], N * sizeof(double))
        memcpy(&buf[N], x, N * sizeof(double))
        memcpy(&self._xprev[0], x, N * sizeof(double))
        ef_rfft(&_TABLES, buf, &self._ring_r[row, 0], &self._ring_i[row, 0])
        active = sx > N * self._p.far_active
        self._track_delay(log(sx + 1e-7), log(sd + 1e-7), active)
        memset(echo_r, 0, K * sizeof(double))
        memset(echo_i, 0, K * sizeof(double))
        memcpy(e, d, N * sizeof(double))
        if self._start >= 0:
            self._filter(d, sd, active, e, echo_r, echo_i)
            if (self._b % self._p.recenter == self._p.recenter - 1
                    and self._erle > self._p.keep_erle):
                self._recenter()
        self._b += 1
        self._suppress(e, echo_r, echo_i, out)
        stat[0] = sd
        stat[1] = 0.0
        for j in range(N):
            stat[1] += <double>out[j] * <double>out[j]
        stat[2] = 1.0 if active else 0.0

    cdef void _track_delay(self, double ef, double ed, bint active) noexcept nogil:
        cdef int L = self._lags, j, best = 0, lo, hi
        cdef double a = self._p.delay_smoothing, dd, fj, ncc, best_ncc = -1e300, cur_ncc
        memmove(&self._fhist[1], &self._fhist[0], L * sizeof(double))
        self._fhist[0] = ef
        if not active:
            return
        self._mf = a * self._mf + (1 - a) * ef
        self._md = a * self._md + (1 - a) * ed
        dd = ed - self._md
        self._vd = a * self._vd + (1 - a) * dd * dd
        for j in range(L + 1):
            fj = self._fhist[j] - self._mf
            self._cov[j] = a * self._cov[j] + (1 - a) * dd * fj
            self._vf[j] = a * self._vf[j] + (1 - a) * fj * fj
        for j in range(L + 1):  # signed square: the order of cov / sqrt(vf vd), no sqrt
            ncc = self._cov[j] * fabs(self._cov[j]) / self._vf[j]
            if ncc > best_ncc:
                best_ncc = ncc
                best = j
        best_ncc = self._cov[best] / sqrt(self._vf[best] * self._vd + 1e-12)
        if best_ncc < self._p.ncc_min:
            self._cand_n = 0
            return
        if best == self._cand:
            self._cand_n += 1
        else:
            self._cand = best
            self._cand_n = 1
        if self._delay < 0:
            if self._cand_n >= self._p.lock:
                self._set_delay(best)
            return
        lo = self._start + (1 if self._start > 0 else 0)
        hi = self._start + self._p.M - 2
        cur_ncc = self._cov[self._delay] / sqrt(self._vf[self._delay] * self._vd + 1e-12)
        if ((best < lo or best > hi) and self._cand_n >= self._p.move
                and self._erle < self._p.keep_erle and best_ncc > cur_ncc + self._p.ncc_margin):
            self._set_delay(best)

    cdef void _set_delay(self, int delay) noexcept nogil:
        cdef int start = delay - self._p.pre if delay > self._p.pre else 0
        cdef int shift, M = self._p.M
        if self._start >= 0 and start != self._start:
            shift = start - self._start
            _shift_rows(self._wb_r, self._wb_i, shift, M)
            _shift_rows(self._wf_r, self._wf_i, shift, M)
        self._delay = delay
        self._start = start

    cdef void _recenter(self) noexcept nogil:
        cdef int m, k, peak = 0
        cdef double en, best = -1.0
        for m in range(self._p.M):
            en = 0.0
            for k in range(K):
                en += self._wf_r[m, k] * self._wf_r[m, k] + self._wf_i[m, k] * self._wf_i[m, k]
            if en > best:
                best = en
                peak = m
        if self._start + peak != self._delay:
            self._set_delay(self._start + peak)

    cdef void _filter(self, const double *d, double sd, bint active, double *e,
                      double *yf_r, double *yf_i) noexcept nogil:
        cdef int M = self._p.M, R = self._ring_len, m, k, j, row
        cdef int rows[MAX_PARTITIONS]
        cdef double yb_r[K]
        cdef double yb_i[K]
        cdef double pn[K]
        cdef double tb[2 * N]
        cdef double tf[2 * N]
        cdef double eb[N]
        cdef double xs, sbe = 0.0, sfe = 0.0, a, g
        cdef double ps = self._p.power_smoothing
        for m in range(M):
            row = <int>((self._b - self._start - m) % R)
            rows[m] = row + R if row < 0 else row
        for k in range(K):
            yb_r[k] = yb_i[k] = yf_r[k] = yf_i[k] = 0.0
        for m in range(M):
            row = rows[m]
            _cmac(&self._wb_r[m, 0], &self._wb_i[m, 0], &self._ring_r[row, 0],
                  &self._ring_i[row, 0], yb_r, yb_i)
            _cmac(&self._wf_r[m, 0], &self._wf_i[m, 0], &self._ring_r[row, 0],
                  &self._ring_i[row, 0], yf_r, yf_i)
        ef_irfft(&_TABLES, yb_r, yb_i, tb)
        ef_irfft(&_TABLES, yf_r, yf_i, tf)
        for j in range(N):
            eb[j] = d[j] - tb[N + j]
            e[j] = d[j] - tf[N + j]
            sbe += eb[j] * eb[j]
            sfe += e[j] * e[j]
        row = rows[0]
        for k in range(K):
            xs = self._ring_r[row, k] * self._ring_r[row, k] + self._ring_i[row, k] * self._ring_i[row, k]
            self._pw[k] = ps * self._pw[k] + (1 - ps) * xs
            pn[k] = (self._pw[k] if self._pw[k] > xs else xs) + self._p.power_floor
        a = self._p.error_smoothing
        self._sb = a * self._sb + (1 - a) * sbe
        self._sf = a * self._sf + (1 - a) * sfe
        if active:
            g = self._p.erle_smoothing
            self._pd = g * self._pd + (1 - g) * sd
            self._pe = g * self._pe + (1 - g) * sfe
            self._erle = 10.0 * log10(self._pd / self._pe)
        if self._fhist[self._start] > self._p.log_active:
            self._adapt(rows, eb, pn, sd)

    cdef void _adapt(self, const int *rows, const double *eb, const double *pn,
                     double sd) noexcept nogil:
        cdef int M = self._p.M, m, k, row, j = <int>(self._b % M)
        cdef double buf[2 * N]
        cdef double er[K]
        cdef double ei[K]
        cdef double w[2 * N]
        cdef double s = self._p.step / M
        memset(buf, 0, N * sizeof(double))
        memcpy(&buf[N], eb, N * sizeof(double))
        ef_rfft(&_TABLES, buf, er, ei)
        for k in range(K):
            er[k] = s * er[k] / pn[k]
            ei[k] = s * ei[k] / pn[k]
        for m in range(M):
            row = rows[m]
            _cmac_conj(&self._ring_r[row, 0], &self._ring_i[row, 0], er, ei,
                       &self._wb_r[m, 0], &self._wb_i[m, 0])
        ef_irfft(&_TABLES, &self._wb_r[j, 0], &self._wb_i[j, 0], w)
        memset(&w[N], 0, N * sizeof(double))
        ef_rfft(&_TABLES, w, &self._wb_r[j, 0], &self._wb_i[j, 0])
        if self._sb < self._p.copy_ratio * self._sf and self._sb < sd:
            memcpy(&self._wf_r[0, 0], &self._wb_r[0, 0], M * K * sizeof(double))
            memcpy(&self._wf_i[0, 0], &self._wb_i[0, 0], M * K * sizeof(double))
            self._sf = self._sb
        elif self._sb > self._p.reset_ratio * self._sf:
            memcpy(&self._wb_r[0, 0], &self._wf_r[0, 0], M * K * sizeof(double))
            memcpy(&self._wb_i[0, 0], &self._wf_i[0, 0], M * K * sizeof(double))
            self._sb = self._sf

    cdef void _suppress(self, const double *e, const double *yr, const double *yi,
                        float *out) noexcept nogil:
        cdef double buf[2 * N]
        cdef double sr[K]
        cdef double si[K]
        cdef double rf[K]
        cdef double o[2 * N]
        cdef double yp, ratio, res, over, gain, sum_rf = 0.0, sum_res = 0.0
        cdef double rsm = self._p.ratio_smoothing
        cdef int j, k
        for j in range(N):
            buf[j] = self._win[j] * self._eprev[j]
            buf[N + j] = self._win[N + j] * e[j]
        memcpy(&self._eprev[0], e, N * sizeof(double))
        ef_rfft(&_TABLES, buf, sr, si)
        for k in range(K):
            rf[k] = sr[k] * sr[k] + si[k] * si[k]
            yp = yr[k] * yr[k] + yi[k] * yi[k]
            ratio = rf[k] / (yp + 1e-15) if yp > self._p.echo_floor else self._rs[k]
            self._rs[k] = rsm * self._rs[k] + (1 - rsm) * ratio
            if self._rs[k] < self._rmin[k]:
                self._rmin[k] = self._rs[k]
            else:
                self._rmin[k] = self._rmin[k] * (1 + self._p.ratio_rise)
            res = (self._rmin[k] if self._rmin[k] < 1.0 else 1.0) * yp
            if self._p.residual_decay * self._res[k] > res:
                res = self._p.residual_decay * self._res[k]
            self._res[k] = res
            sum_rf += rf[k]
            sum_res += res
        if sum_rf > self._p.near_ratio * self._p.suppression * sum_res:
            self._near = self._p.near_hold
        elif self._near:
            self._near -= 1
        over = self._p.suppression_near if self._near else self._p.suppression
        for k in range(K):
            gain = 1.0 - over * self._res[k] / (rf[k] + 1e-12)
            if gain < self._p.gain_min:
                gain = self._p.gain_min
            sr[k] *= gain
            si[k] *= gain
        ef_irfft(&_TABLES, sr, si, o)
        for j in range(N):
            out[j] = <float>(self._ola[j] + o[j] * self._win[j])
            self._ola[j] = o[N + j] * self._win[N + j]


cdef inline void _cmac(const double *wr, const double *wi, const double *xr,
                       const double *xi, double *yr, double *yi) noexcept nogil:
    """y += w * x over the K bins (complex, split re/im; contiguous: vectorised)."""
    cdef int k
    for k in range(K):
        yr[k] += wr[k] * xr[k] - wi[k] * xi[k]
        yi[k] += wr[k] * xi[k] + wi[k] * xr[k]


cdef inline void _cmac_conj(const double *xr, const double *xi, const double *gr,
                            const double *gi, double *wr, double *wi) noexcept nogil:
    """w += conj(x) * g over the K bins."""
    cdef int k
    for k in range(K):
        wr[k] += xr[k] * gr[k] + xi[k] * gi[k]
        wi[k] += xr[k] * gi[k] - xi[k] * gr[k]


cdef void _shift_rows(double[:, ::1] wr, double[:, ::1] wi, int shift, int M) noexcept nogil:
    """Row m takes row m + shift (zeros where there is none)."""
    cdef int m, k
    if shift > 0:
        for m in range(M):
            for k in range(K):
                if m + shift < M:
                    wr[m, k] = wr[m + shift, k]
                    wi[m, k] = wi[m + shift, k]
                else:
                    wr[m, k] = 0.0
                    wi[m, k] = 0.0
    else:
        for m in range(M - 1, -1, -1):
            for k in range(K):
                if m + shift >= 0:
                    wr[m, k] = wr[m + shift, k]
                    wi[m, k] = wi[m + shift, k]
                else:
                    wr[m, k] = 0.0
                    wi[m, k] = 0.0
