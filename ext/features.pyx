# Whisper log-mel feature kernel for the Smart Turn v3 end-of-turn model (SPEC 5).
#
# Reference twin: turnengine/_kernels/features_ref.py (same API; it also holds the definition,
# the filter-bank design and the argument checks, which this module imports).
"""Streaming 80-bin Whisper log-mel features of 16 kHz audio, shape (80, 800) for 8 s.

The definition is transformers' ``WhisperFeatureExtractor(chunk_length=8)`` with
``do_normalize=True`` on the last 8 s of the turn, zero-padded at the start, as Pipecat's
``LocalSmartTurnAnalyzerV3`` computes it (see ``features_ref`` for the steps).

How the stream is computed
--------------------------
Frame ``k`` of a turn is centred on turn sample ``160 k`` and spans ``[160 k - 200, 160 k + 200)``
(samples before the turn are zero).  As soon as its 400 samples have arrived, ``push`` computes it
on the raw (not yet normalised) audio: Hann window, a 400-point real FFT (a 200-point complex
FFT, prime-factor 8 x 25 with 25 = 5 x 5, then the real split), power, and the Slaney mel
filters over bins 2..200.  It stores the 80 mel powers (float32) plus the complex DFT bins 0 and 1
(float64) in a ring of 800 frames, and the sum and sum of squares of each 160-sample hop in a
ring of 800 hops.

``features`` applies the waveform normalisation afterwards, which the DFT's linearity allows:
for ``y = (x - m) / s``, ``Y_k = (X_k - m W_k) / s`` where ``W_k`` is the DFT of the window.  The
periodic Hann window's DFT is zero outside bins 0 and +-1, so the mean only changes bins 0 and 1
(recomputed exactly from the stored ``X_0``, ``X_1``) and ``1 / s^2`` scales every power.  Only the
first two frames and the last one of the window (touched by the reflect padding) are recomputed
from the audio ring (8 s + 1 hop is kept).  Then ``log10(max(., 1e-10))``, the maximum, the clamp
and the scaling: about 64000 logarithms.

Time is an int64 sample count; no Python object is created per frame; the workers run without
the GIL.
"""

from libc.math cimport INFINITY, cos, isfinite, logf, sin, sqrt
from libc.stdint cimport int16_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

from turnengine._kernels.features_ref import (
    DYNAMIC_RANGE,
    FEATURES_SHAPE,
    MEL_FLOOR,
    NORM_EPS,
    check_features_out,
    check_samples,
    hann_window,
    mel_filters,
    nonfinite_error,
)

cdef enum:
    _N_FFT = 400
    _HALF = 200             # n_fft // 2: centre padding, and the complex FFT size
    _HOP = 160
    _N_BINS = 201
    _N_MELS = 80
    _N_FRAMES = 800
    _WIN = 128000           # _N_FRAMES * _HOP: the 8 s window
    _RING = 131072          # audio ring (power of two >= _WIN + _HOP + a push piece margin)
    _RING_MASK = 131071
    _PIECE = 2048           # samples copied into the ring between two frame passes
    _MAX_MEL_W = 512        # room for the sparse mel weights (201 bins, each in <= 2 filters)

# -- constant tables, filled once at import (module init, below) ---------------------------------
cdef double _win[_N_FFT]
cdef int _pfa_in[_HALF]          # PFA input order: slot n2 * 8 + n1 <- complex sample (25 n1 + 8 n2) % 200
cdef int _pfa_out[_HALF]         # slot k1 * 25 + k2 -> output bin (25 k1 + 176 k2) % 200
cdef double _tw25_re[25]         # W25^(b c), b, c in 0..4 (index b * 5 + c)
cdef double _tw25_im[25]
cdef double _rtw_re[_N_BINS]     # e^(-2 pi i k / 400): the real-FFT split
cdef double _rtw_im[_N_BINS]
cdef int _mel_lo[_N_MELS]        # filter j covers bins _mel_lo[j] .. + _mel_n[j] (bins >= 2 only)
cdef int _mel_n[_N_MELS]
cdef int _mel_off[_N_MELS]       # offset of filter j's weights in _mel_w
cdef double _mel_w[_MAX_MEL_W]
cdef double _m0[_N_MELS]         # weight of bin 0 / bin 1 in each filter
cdef double _m1[_N_MELS]
cdef double _w0_re, _w0_im, _w1_re, _w1_im   # DFT bins 0 and 1 of the window
cdef float _zero_mel[_N_MELS]
cdef double _zero_low[3]
cdef double NORM_EPS_C = NORM_EPS
cdef double MEL_FLOOR_C = MEL_FLOOR
cdef double DYNAMIC_RANGE_C = DYNAMIC_RANGE

cdef double _C1 = cos(2.0 * 3.14159265358979323846 / 5.0)
cdef double _C2 = cos(4.0 * 3.14159265358979323846 / 5.0)
cdef double _S1 = sin(2.0 * 3.14159265358979323846 / 5.0)
cdef double _S2 = sin(4.0 * 3.14159265358979323846 / 5.0)
cdef double _H = sqrt(0.5)
cdef float _LOG10_E = 0.43429448190325182765  # 1 / ln(10)


def _init_tables():
    global _w0_re, _w0_im, _w1_re, _w1_im
    cdef int i, j, k, n1, n2, k1, k2, b, c, off
    cdef double th
    w = hann_window()
    for i in range(_N_FFT):
        _win[i] = w[i]
    for n2 in range(25):
        for n1 in range(8):
            _pfa_in[n2 * 8 + n1] = (25 * n1 + 8 * n2) % _HALF
    for k1 in range(8):
        for k2 in range(25):
            _pfa_out[k1 * 25 + k2] = (25 * k1 + 176 * k2) % _HALF
    for b in range(5):
        for c in range(5):
            th = -2.0 * np.pi * b * c / 25.0
            _tw25_re[b * 5 + c] = cos(th)
            _tw25_im[b * 5 + c] = sin(th)
    for k in range(_N_BINS):
        th = -2.0 * np.pi * k / _N_FFT
        _rtw_re[k] = cos(th)
        _rtw_im[k] = sin(th)
    fb = mel_filters()  # (201, 80)
    off = 0
    for j in range(_N_MELS):
        nz = np.flatnonzero(fb[2:, j]) + 2
        _m0[j] = fb[0, j]
        _m1[j] = fb[1, j]
        _zero_mel[j] = 0.0
        if nz.shape[0] == 0:
            _mel_lo[j] = 2
            _mel_n[j] = 0
            _mel_off[j] = off
            continue
        _mel_lo[j] = nz[0]
        _mel_n[j] = nz[nz.shape[0] - 1] - nz[0] + 1
        _mel_off[j] = off
        if off + _mel_n[j] > _MAX_MEL_W:
            raise RuntimeError("mel filter bank denser than expected")
        for i in range(_mel_n[j]):
            _mel_w[off + i] = fb[nz[0] + i, j]
        off += _mel_n[j]
    spec = np.fft.fft(np.asarray(w, dtype=np.float64))
    _w0_re = spec[0].real
    _w0_im = spec[0].imag
    _w1_re = spec[1].real
    _w1_im = spec[1].imag
    for i in range(3):
        _zero_low[i] = 0.0


_init_tables()


# -- the FFT ------------------------------------------------------------------------------------
cdef inline void _dft5(double* r, double* i) noexcept nogil:
    """In-place forward DFT of 5 complex values."""
    cdef double t1r = r[1] + r[4], t1i = i[1] + i[4]
    cdef double t2r = r[2] + r[3], t2i = i[2] + i[3]
    cdef double t3r = r[1] - r[4], t3i = i[1] - i[4]
    cdef double t4r = r[2] - r[3], t4i = i[2] - i[3]
    cdef double a1r = r[0] + _C1 * t1r + _C2 * t2r, a1i = i[0] + _C1 * t1i + _C2 * t2i
    cdef double a2r = r[0] + _C2 * t1r + _C1 * t2r, a2i = i[0] + _C2 * t1i + _C1 * t2i
    cdef double b1r = _S1 * t3r + _S2 * t4r, b1i = _S1 * t3i + _S2 * t4i
    cdef double b2r = _S2 * t3r - _S1 * t4r, b2i = _S2 * t3i - _S1 * t4i
    r[0] = r[0] + t1r + t2r
    i[0] = i[0] + t1i + t2i
    r[1] = a1r + b1i
    i[1] = a1i - b1r
    r[4] = a1r - b1i
    i[4] = a1i + b1r
    r[2] = a2r + b2i
    i[2] = a2i - b2r
    r[3] = a2r - b2i
    i[3] = a2i + b2r


cdef inline void _dft8(double* r, double* i) noexcept nogil:
    """In-place forward DFT of 8 contiguous complex values (two DFT-4s and a radix-2 step)."""
    cdef double s0r, s0i, s1r, s1i, s2r, s2i, s3r, s3i
    cdef double e0r, e0i, e1r, e1i, e2r, e2i, e3r, e3i
    cdef double o0r, o0i, o1r, o1i, o2r, o2i, o3r, o3i, tr, ti
    # E = DFT4(x0, x2, x4, x6)
    s0r = r[0] + r[4]; s0i = i[0] + i[4]
    s1r = r[0] - r[4]; s1i = i[0] - i[4]
    s2r = r[2] + r[6]; s2i = i[2] + i[6]
    s3r = r[2] - r[6]; s3i = i[2] - i[6]
    e0r = s0r + s2r; e0i = s0i + s2i
    e2r = s0r - s2r; e2i = s0i - s2i
    e1r = s1r + s3i; e1i = s1i - s3r
    e3r = s1r - s3i; e3i = s1i + s3r
    # O = DFT4(x1, x3, x5, x7)
    s0r = r[1] + r[5]; s0i = i[1] + i[5]
    s1r = r[1] - r[5]; s1i = i[1] - i[5]
    s2r = r[3] + r[7]; s2i = i[3] + i[7]
    s3r = r[3] - r[7]; s3i = i[3] - i[7]
    o0r = s0r + s2r; o0i = s0i + s2i
    o2r = s0r - s2r; o2i = s0i - s2i
    o1r = s1r + s3i; o1i = s1i - s3r
    o3r = s1r - s3i; o3i = s1i + s3r
    # twiddles W8^1 = h(1 - i), W8^2 = -i, W8^3 = -h(1 + i)
    tr = _H * (o1r + o1i); ti = _H * (o1i - o1r)
    o1r = tr; o1i = ti
    tr = o2i; ti = -o2r
    o2r = tr; o2i = ti
    tr = _H * (o3i - o3r); ti = -_H * (o3r + o3i)
    o3r = tr; o3i = ti
    r[0] = e0r + o0r; i[0] = e0i + o0i
    r[4] = e0r - o0r; i[4] = e0i - o0i
    r[1] = e1r + o1r; i[1] = e1i + o1i
    r[5] = e1r - o1r; i[5] = e1i - o1i
    r[2] = e2r + o2r; i[2] = e2i + o2i
    r[6] = e2r - o2r; i[6] = e2i - o2i
    r[3] = e3r + o3r; i[3] = e3i + o3i
    r[7] = e3r - o3r; i[7] = e3i - o3i


cdef inline void _dft25(const double* xr, const double* xi, double* outr, double* outi,
                        const int* omap) noexcept nogil:
    """DFT of 25 complex values at stride 8 (x[n] = xr[8 n]); bin k goes to out[omap[k]]."""
    cdef double ur[25]
    cdef double ui[25]
    cdef double ar[5]
    cdef double ai[5]
    cdef int a, b, c, d, q
    cdef double tr, ti
    # n = 5 a + b, k = c + 5 d: X[k] = sum_b W5^(b d) W25^(b c) sum_a x[5 a + b] W5^(a c)
    for b in range(5):
        for a in range(5):
            ar[a] = xr[8 * (5 * a + b)]
            ai[a] = xi[8 * (5 * a + b)]
        _dft5(ar, ai)
        for c in range(5):
            q = b * 5 + c
            tr = ar[c] * _tw25_re[q] - ai[c] * _tw25_im[q]
            ti = ar[c] * _tw25_im[q] + ai[c] * _tw25_re[q]
            ur[c * 5 + b] = tr
            ui[c * 5 + b] = ti
    for c in range(5):
        _dft5(&ur[c * 5], &ui[c * 5])
        for d in range(5):
            outr[omap[c + 5 * d]] = ur[c * 5 + d]
            outi[omap[c + 5 * d]] = ui[c * 5 + d]


cdef void _frame(const float* seg, float* mel_out, double* low_out) noexcept nogil:
    """Power-mel of one 400-sample frame (raw audio): mel of bins 2..200 into ``mel_out[80]``,
    and ``X_0`` (real), ``X_1`` (re, im) into ``low_out[3]``."""
    cdef double zr[_HALF]
    cdef double zi[_HALF]
    cdef double fr[_HALF]
    cdef double fi[_HALF]
    cdef double power[_N_BINS]
    cdef int p, n, k, j, o
    cdef double ar, ai, br, bi, gr, gi, xr, xi, acc
    cdef const double* wt
    # Window, pack pairs of real samples as complex z[n] = x[2n] + i x[2n+1], in PFA order.
    for p in range(_HALF):
        n = _pfa_in[p]
        zr[p] = seg[2 * n] * _win[2 * n]
        zi[p] = seg[2 * n + 1] * _win[2 * n + 1]
    for p in range(25):
        _dft8(&zr[8 * p], &zi[8 * p])
    for p in range(8):
        _dft25(&zr[p], &zi[p], fr, fi, &_pfa_out[p * 25])
    # Real split: X[k] = F[k] + e^(-2 pi i k/400) G[k] with F = (Z[k] + conj Z[200-k]) / 2 and
    # G = (Z[k] - conj Z[200-k]) / 2i; bins k and 200 - k share F and G up to conjugation, so
    # X[200-k] = conj(F[k] - e^(-2 pi i k/400) G[k]).
    ar = fr[0]; ai = fi[0]
    power[0] = (ar + ai) * (ar + ai)
    power[_HALF] = (ar - ai) * (ar - ai)
    low_out[0] = ar + ai
    for k in range(1, _HALF // 2 + 1):
        ar = fr[k]; ai = fi[k]
        br = fr[_HALF - k]; bi = fi[_HALF - k]
        gr = 0.5 * (ai + bi)
        gi = 0.5 * (br - ar)
        xr = _rtw_re[k] * gr - _rtw_im[k] * gi   # e^(-2 pi i k/400) G
        xi = _rtw_re[k] * gi + _rtw_im[k] * gr
        gr = 0.5 * (ar + br)                      # F
        gi = 0.5 * (ai - bi)
        power[k] = (gr + xr) * (gr + xr) + (gi + xi) * (gi + xi)
        power[_HALF - k] = (gr - xr) * (gr - xr) + (gi - xi) * (gi - xi)
        if k == 1:
            low_out[1] = gr + xr
            low_out[2] = gi + xi
    for j in range(_N_MELS):
        acc = 0.0
        o = _mel_lo[j]
        wt = &_mel_w[_mel_off[j]]
        for k in range(_mel_n[j]):
            acc += wt[k] * power[o + k]
        mel_out[j] = <float>acc


# -- state --------------------------------------------------------------------------------------
cdef struct FeatState:
    float* audio        # _RING samples: turn sample i at audio[i & _RING_MASK]
    float* mel          # _N_FRAMES x _N_MELS: frame k at row k % _N_FRAMES
    double* low         # _N_FRAMES x 3: X_0, Re X_1, Im X_1 of frame k
    double* hop_sum     # _N_FRAMES: sum of the samples of hop b at b % _N_FRAMES
    double* hop_sq      # _N_FRAMES: sum of their squares
    float* edge_mel     # 3 x _N_MELS: window frames 0, 1 and 799, recomputed by features()
    double* edge_low    # 3 x 3
    float* seg          # _N_FFT scratch samples
    int64_t n           # samples pushed since reset
    int64_t n_frames    # frames computed: 0 .. n_frames - 1
    double acc_sum      # running sums of the current, incomplete hop
    double acc_sq


cdef void _compute_frames(FeatState* s) noexcept nogil:
    """Compute every frame whose 400 samples have arrived."""
    cdef int64_t k, start, i
    cdef int64_t slot
    cdef const float* src
    while _HOP * s.n_frames + _HALF <= s.n:
        k = s.n_frames
        start = _HOP * k - _HALF
        if start < 0:  # frames 0 and 1 reach before the turn: those samples are zero
            for i in range(_N_FFT):
                s.seg[i] = s.audio[(start + i) & _RING_MASK] if start + i >= 0 else 0.0
            src = s.seg
        elif (start & _RING_MASK) + _N_FFT <= _RING:
            src = &s.audio[start & _RING_MASK]
        else:
            for i in range(_N_FFT):
                s.seg[i] = s.audio[(start + i) & _RING_MASK]
            src = s.seg
        slot = k % _N_FRAMES
        _frame(src, &s.mel[slot * _N_MELS], &s.low[slot * 3])
        s.n_frames = k + 1


cdef void _append(FeatState* s, const float* x, int64_t m) noexcept nogil:
    """Copy ``m`` samples into the audio ring and add them to the hop sums."""
    cdef int64_t i = 0, r, j, t
    cdef double a1 = s.acc_sum, a2 = s.acc_sq
    cdef float v
    while i < m:
        t = s.n + i
        r = _HOP - t % _HOP          # samples left in the current hop
        if r > m - i:
            r = m - i
        for j in range(r):
            v = x[i + j]
            s.audio[(t + j) & _RING_MASK] = v
            a1 += v
            a2 += <double>v * v
        i += r
        if (s.n + i) % _HOP == 0:
            s.hop_sum[((s.n + i) // _HOP - 1) % _N_FRAMES] = a1
            s.hop_sq[((s.n + i) // _HOP - 1) % _N_FRAMES] = a2
            a1 = 0.0
            a2 = 0.0
    s.n += m
    s.acc_sum = a1
    s.acc_sq = a2


cdef int64_t _push(FeatState* s, const float* xf, const int16_t* xi, int64_t n) noexcept nogil:
    """Append ``n`` samples (float32 ``xf`` or int16 ``xi``); return the frames completed."""
    cdef int64_t before = s.n_frames
    cdef int64_t done = 0, m, i
    cdef float q = 1.0 / 32768.0
    while done < n:
        m = n - done
        if m > _PIECE:
            m = _PIECE
        if xf != NULL:
            _append(s, xf + done, m)
        else:
            for i in range(m):
                s.seg[i] = xi[done + i] * q
            _append(s, s.seg, m)
        done += m
        _compute_frames(s)
    return s.n_frames - before


cdef void _edge_frame(FeatState* s, int64_t start, int64_t centre, float* mel_out,
                      double* low_out) noexcept nogil:
    """Window frame centred on window position ``centre``, with reflect padding at both ends of
    the 8 s window, which starts at turn sample ``start`` (zero before the turn)."""
    cdef int64_t i, q, t
    for i in range(_N_FFT):
        q = centre - _HALF + i
        if q < 0:
            q = -q
        elif q >= _WIN:
            q = 2 * (_WIN - 1) - q
        t = start + q
        s.seg[i] = s.audio[t & _RING_MASK] if t >= 0 else 0.0
    _frame(s.seg, mel_out, low_out)


cdef int64_t _features(FeatState* s, float* out, bint scale) noexcept nogil:
    """Write the (80, 800) features of the last 8 s (whole hops); return the samples covered."""
    cdef int64_t n_hops = s.n // _HOP
    cdef int64_t end = n_hops * _HOP
    cdef int64_t start = end - _WIN
    cdef int64_t b, t, k, slot
    cdef int j
    cdef double sum1 = 0.0, sum2 = 0.0, mean, var, inv, p0, p1, dr, di, v, vmax
    cdef const float* mp
    cdef const double* lp
    cdef float lo_f, x
    cdef float lv[_N_MELS]
    b = n_hops - _N_FRAMES
    if b < 0:
        b = 0
    while b < n_hops:
        sum1 += s.hop_sum[b % _N_FRAMES]
        sum2 += s.hop_sq[b % _N_FRAMES]
        b += 1
    mean = sum1 / _WIN
    var = sum2 / _WIN - mean * mean
    if var < 0.0:
        var = 0.0
    inv = 1.0 / (var + NORM_EPS_C)
    _edge_frame(s, start, 0, &s.edge_mel[0], &s.edge_low[0])
    _edge_frame(s, start, _HOP, &s.edge_mel[_N_MELS], &s.edge_low[3])
    _edge_frame(s, start, _HOP * (_N_FRAMES - 1), &s.edge_mel[2 * _N_MELS], &s.edge_low[6])
    vmax = -INFINITY
    for t in range(_N_FRAMES):
        k = n_hops - _N_FRAMES + t
        if t < 2:
            mp = &s.edge_mel[t * _N_MELS]
            lp = &s.edge_low[t * 3]
        elif t == _N_FRAMES - 1:
            mp = &s.edge_mel[2 * _N_MELS]
            lp = &s.edge_low[6]
        elif k < 0:
            mp = _zero_mel
            lp = _zero_low
        else:
            slot = k % _N_FRAMES
            mp = &s.mel[slot * _N_MELS]
            lp = &s.low[slot * 3]
        # Bins 0 and 1 of the normalised frame: X_k - mean * W_k (the 1 / s^2 comes below).
        dr = lp[0] - mean * _w0_re
        di = -mean * _w0_im
        p0 = dr * dr + di * di
        dr = lp[1] - mean * _w1_re
        di = lp[2] - mean * _w1_im
        p1 = dr * dr + di * di
        for j in range(_N_MELS):
            v = (mp[j] + _m0[j] * p0 + _m1[j] * p1) * inv
            if v < MEL_FLOOR_C:
                v = MEL_FLOOR_C
            lv[j] = <float>v
        for j in range(_N_MELS):
            lv[j] = logf(lv[j]) * _LOG10_E
        for j in range(_N_MELS):
            if lv[j] > vmax:
                vmax = lv[j]
            out[j * _N_FRAMES + t] = lv[j]
    if scale:
        lo_f = <float>(vmax - DYNAMIC_RANGE_C)
        for b in range(_N_MELS * _N_FRAMES):
            x = out[b]
            if x < lo_f:
                x = lo_f
            out[b] = (x + 4.0) * 0.25
    return end if end < _WIN else _WIN


cdef class WhisperFeatures:
    """Streaming Smart Turn v3 input features of one turn (compiled kernel).

    ``push`` the turn's 16 kHz mono audio chunk by chunk; each frame's power-mel is computed as
    soon as its samples arrive and the last 800 are kept in a ring, so ``features`` has only the
    final normalisation left (about 0.2 ms).  ``reset`` starts a new turn.  Any chunking of the
    same audio gives bit-identical features.

    Source: transformers ``WhisperFeatureExtractor(chunk_length=8)`` with ``do_normalize=True``
    on the last 8 s, zero-padded at the start (Pipecat ``LocalSmartTurnAnalyzerV3``).
    """

    cdef FeatState s

    def __cinit__(self):
        self.s.audio = <float*>malloc(_RING * sizeof(float))
        self.s.mel = <float*>malloc(_N_FRAMES * _N_MELS * sizeof(float))
        self.s.low = <double*>malloc(_N_FRAMES * 3 * sizeof(double))
        self.s.hop_sum = <double*>malloc(_N_FRAMES * sizeof(double))
        self.s.hop_sq = <double*>malloc(_N_FRAMES * sizeof(double))
        self.s.edge_mel = <float*>malloc(3 * _N_MELS * sizeof(float))
        self.s.edge_low = <double*>malloc(9 * sizeof(double))
        self.s.seg = <float*>malloc(_PIECE * sizeof(float))  # >= _N_FFT
        if (self.s.audio == NULL or self.s.mel == NULL or self.s.low == NULL
                or self.s.hop_sum == NULL or self.s.hop_sq == NULL or self.s.edge_mel == NULL
                or self.s.edge_low == NULL or self.s.seg == NULL):
            raise MemoryError("cannot allocate the feature rings (about 0.8 MB)")
        self.reset()

    def __dealloc__(self):
        free(self.s.audio)
        free(self.s.mel)
        free(self.s.low)
        free(self.s.hop_sum)
        free(self.s.hop_sq)
        free(self.s.edge_mel)
        free(self.s.edge_low)
        free(self.s.seg)

    def reset(self):
        """Start a new turn: forget all audio (O(1); the rings are overwritten as they fill)."""
        self.s.n = 0
        self.s.n_frames = 0
        self.s.acc_sum = 0.0
        self.s.acc_sq = 0.0

    @property
    def n_samples(self):
        """Samples pushed since construction or ``reset()`` (int64)."""
        return self.s.n

    @property
    def n_frames(self):
        """Frames whose 400 samples have all arrived (frame ``k`` is centred on sample
        ``160 k``; samples before the turn are zero)."""
        return self.s.n_frames

    @property
    def pending_samples(self):
        """Trailing samples (< 160) that ``features`` leaves out until the hop is complete."""
        return self.s.n % _HOP

    def push(self, samples):
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
        cdef const float[::1] xf
        cdef const int16_t[::1] xi
        cdef int64_t n, i, made
        cdef const float* fp
        check_samples(samples)
        n = samples.shape[0]
        if n == 0:
            return 0
        if samples.dtype == np.float32:
            xf = samples
            fp = &xf[0]
            with nogil:
                i = 0
                while i < n and isfinite(fp[i]):
                    i += 1
            if i < n:
                raise nonfinite_error(i)
            with nogil:
                made = _push(&self.s, fp, NULL, n)
        else:
            xi = samples
            with nogil:
                made = _push(&self.s, NULL, &xi[0], n)
        return made

    def features(self, out, bint scale=True):
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
        cdef int64_t covered
        cdef float[:, ::1] ov = check_features_out(out)
        with nogil:
            covered = _features(&self.s, &ov[0, 0], scale)
        return covered


def whisper_log_mel(audio, bint scale=True):
    """Smart Turn v3 input features of a whole turn, shape ``(80, 800)`` float32.

    Parameters
    ----------
    audio : ndarray of int16 or float32, shape ``(n_samples,)``
        The turn's 16 kHz mono audio, any length; only the last 8 s count, and shorter audio is
        zero-padded at the start (Pipecat ``truncate_audio_to_last_n_seconds``).
    scale : bool
        Apply Whisper's dynamic-range clamp and ``(x + 4) / 4`` (the model's input).  False
        returns ``log10(max(mel, 1e-10))`` of the normalised waveform.

    Returns
    -------
    ndarray of float32, shape ``(80, 800)``
        ``WhisperFeatureExtractor(chunk_length=8)(..., do_normalize=True).input_features[0]``.

    Raises
    ------
    TypeError, ValueError
        As ``WhisperFeatures.push``.
    """
    cdef WhisperFeatures f = WhisperFeatures()
    cdef int64_t pad = (-check_samples(audio).shape[0]) % _HOP
    if pad:  # zeros at the start align the hop grid to the end, as the definition pads
        f.push(np.zeros(pad, np.float32))
    f.push(audio)
    out = np.empty(FEATURES_SHAPE, np.float32)
    f.features(out, scale)
    return out
