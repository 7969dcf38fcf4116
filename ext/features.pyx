# Whisper log-mel feature kernel for the Smart Turn v3 end-of-turn model (SPEC 5).
#
# Reference twin: turnengine/_kernels/features_ref.py (same API; it holds the definition).  The
# constants, the filter-bank design and the argument checks live in
# turnengine/_kernels/features_spec.py, which both twins import.
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
first two frames and the last one of the window (touched by the reflect padding), and for a turn
shorter than 8 s the frame centred 160 samples before the turn (its last 40 samples are audio),
are recomputed from the audio ring (8 s + 1 hop is kept).  Then ``log10(max(., 1e-10))``, the
maximum, the clamp and the scaling: about 64000 logarithms.

Time is an int64 sample count; no Python object is created per frame; the workers run without
the GIL.
"""

from libc.math cimport INFINITY, cos, isfinite, sin, sqrt
from libc.stdint cimport int16_t, int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

from turnengine._kernels.features_spec import (
    DYNAMIC_RANGE,
    FEATURES_SHAPE,
    HOP_LENGTH,
    MEL_FLOOR,
    N_BINS,
    N_FFT,
    N_FRAMES,
    N_MELS,
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
    _RING = 131072          # audio ring: a power of two >= _WIN + _HOP + _PIECE + _N_FFT
    _RING_MASK = 131071
    _PIECE = 2048           # samples copied into the ring between two frame passes
    _MAX_MEL_W = 512        # room for the sparse mel weights (201 bins, each in <= 2 filters)

if (N_FFT, HOP_LENGTH, N_BINS, N_MELS, N_FRAMES) != (_N_FFT, _HOP, _N_BINS, _N_MELS, _N_FRAMES):
    raise ImportError("ext/features.pyx and features_spec.py disagree on integer constants")

# -- constant tables, filled once at import (module init, below) ---------------------------------
cdef double _win[_N_FFT]
cdef double _win_even[_HALF]     # _win[2 _pfa_in[p]] and _win[2 _pfa_in[p] + 1]
cdef double _win_odd[_HALF]
cdef int _pfa_in[_HALF]          # PFA input order: slot n2 * 8 + n1 <- complex sample (25 n1 + 8 n2) % 200
cdef int _pfa_out[_HALF]         # bin k of the DFT-200 sits at slot (k % 25) * 8 + k % 8
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


def _init_tables():
    global _w0_re, _w0_im, _w1_re, _w1_im
    cdef int i, j, k, n1, n2, b, c, off
    cdef double th
    w = hann_window()
    for i in range(_N_FFT):
        _win[i] = w[i]
    for n2 in range(25):
        for n1 in range(8):
            _pfa_in[n2 * 8 + n1] = (25 * n1 + 8 * n2) % _HALF
    for i in range(_HALF):
        _win_even[i] = _win[2 * _pfa_in[i]]
        _win_odd[i] = _win[2 * _pfa_in[i] + 1]
    for k in range(_HALF):  # CRT: k = (25 k1 + 176 k2) % 200 with k1 = k % 8, k2 = k % 25
        _pfa_out[k] = (k % 25) * 8 + k % 8
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


# -- a vectorisable log10 -------------------------------------------------------------------------
cdef union _Bits:
    float f
    int32_t i

cdef float _F_ONE = 1.0
cdef float _F_TWO = 2.0
cdef float _F_C3 = 2.0 / 3.0
cdef float _F_C5 = 2.0 / 5.0
cdef float _F_C7 = 2.0 / 7.0
cdef float _F_LN2 = 0.69314718055994530942
cdef float _F_LOG10E = 0.43429448190325182765


cdef inline void _log10_inplace(float* x, int n) noexcept nogil:
    """``x = log10(x)`` for positive normal floats, to about 1e-7 relative (float32).

    ``x = 2^e m`` with ``m`` in [sqrt(1/2), sqrt(2)), ``ln m = 2 atanh(s)``, ``s = (m-1)/(m+1)``
    (|s| <= 0.172, series to s^7: truncation < 3e-8).  Branch-free, so the loop vectorises."""
    cdef int j
    cdef _Bits u
    cdef int32_t e
    cdef float m, t, t2
    for j in range(n):
        u.f = x[j]
        e = (u.i - 0x3f3504f3) >> 23
        u.i = u.i - (e << 23)
        m = u.f
        t = (m - _F_ONE) / (m + _F_ONE)
        t2 = t * t
        x[j] = (<float>e * _F_LN2
                + t * (_F_TWO + t2 * (_F_C3 + t2 * (_F_C5 + t2 * _F_C7)))) * _F_LOG10E


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


cdef void _dft25x8(const double* zr, const double* zi, double* yr, double* yi) noexcept nogil:
    """Eight DFT-25s at once: lane ``l`` transforms ``z[n2 * 8 + l]`` over ``n2`` into
    ``y[k2 * 8 + l]``.  The lanes are contiguous, so the compiler vectorises across them.

    ``n2 = 5 a + b``, ``k2 = c + 5 d``:
    ``Y[k2] = sum_b W5^(b d) W25^(b c) sum_a z[5 a + b] W5^(a c)``."""
    cdef double ur[200]
    cdef double ui[200]
    cdef int b, c, l, q
    cdef double x0r, x0i, x1r, x1i, x2r, x2i, x3r, x3i, x4r, x4i
    cdef double t1r, t1i, t2r, t2i, t3r, t3i, t4r, t4i
    cdef double a1r, a1i, a2r, a2i, b1r, b1i, b2r, b2i
    cdef double y1r, y1i, y2r, y2i, y3r, y3i, y4r, y4i
    cdef const double* xr
    cdef const double* xi
    cdef double* vr
    cdef double* vi
    for b in range(5):
        xr = &zr[8 * b]
        xi = &zi[8 * b]
        vr = &ur[8 * b]  # U[c][b] at (c * 5 + b) * 8
        vi = &ui[8 * b]
        for l in range(8):
            x0r = xr[l]; x0i = xi[l]
            x1r = xr[40 + l]; x1i = xi[40 + l]
            x2r = xr[80 + l]; x2i = xi[80 + l]
            x3r = xr[120 + l]; x3i = xi[120 + l]
            x4r = xr[160 + l]; x4i = xi[160 + l]
            t1r = x1r + x4r; t1i = x1i + x4i
            t2r = x2r + x3r; t2i = x2i + x3i
            t3r = x1r - x4r; t3i = x1i - x4i
            t4r = x2r - x3r; t4i = x2i - x3i
            a1r = x0r + _C1 * t1r + _C2 * t2r; a1i = x0i + _C1 * t1i + _C2 * t2i
            a2r = x0r + _C2 * t1r + _C1 * t2r; a2i = x0i + _C2 * t1i + _C1 * t2i
            b1r = _S1 * t3r + _S2 * t4r; b1i = _S1 * t3i + _S2 * t4i
            b2r = _S2 * t3r - _S1 * t4r; b2i = _S2 * t3i - _S1 * t4i
            y1r = a1r + b1i; y1i = a1i - b1r
            y4r = a1r - b1i; y4i = a1i + b1r
            y2r = a2r + b2i; y2i = a2i - b2r
            y3r = a2r - b2i; y3i = a2i + b2r
            vr[l] = x0r + t1r + t2r
            vi[l] = x0i + t1i + t2i
            q = b * 5
            vr[40 + l] = y1r * _tw25_re[q + 1] - y1i * _tw25_im[q + 1]
            vi[40 + l] = y1r * _tw25_im[q + 1] + y1i * _tw25_re[q + 1]
            vr[80 + l] = y2r * _tw25_re[q + 2] - y2i * _tw25_im[q + 2]
            vi[80 + l] = y2r * _tw25_im[q + 2] + y2i * _tw25_re[q + 2]
            vr[120 + l] = y3r * _tw25_re[q + 3] - y3i * _tw25_im[q + 3]
            vi[120 + l] = y3r * _tw25_im[q + 3] + y3i * _tw25_re[q + 3]
            vr[160 + l] = y4r * _tw25_re[q + 4] - y4i * _tw25_im[q + 4]
            vi[160 + l] = y4r * _tw25_im[q + 4] + y4i * _tw25_re[q + 4]
    # ur now holds U[c][b] at (c * 5 + b) * 8 + l; transform over b for each c.
    for c in range(5):
        xr = &ur[40 * c]
        xi = &ui[40 * c]
        vr = &yr[8 * c]  # Y[c + 5 d] at (c + 5 d) * 8
        vi = &yi[8 * c]
        for l in range(8):
            x0r = xr[l]; x0i = xi[l]
            x1r = xr[8 + l]; x1i = xi[8 + l]
            x2r = xr[16 + l]; x2i = xi[16 + l]
            x3r = xr[24 + l]; x3i = xi[24 + l]
            x4r = xr[32 + l]; x4i = xi[32 + l]
            t1r = x1r + x4r; t1i = x1i + x4i
            t2r = x2r + x3r; t2i = x2i + x3i
            t3r = x1r - x4r; t3i = x1i - x4i
            t4r = x2r - x3r; t4i = x2i - x3i
            a1r = x0r + _C1 * t1r + _C2 * t2r; a1i = x0i + _C1 * t1i + _C2 * t2i
            a2r = x0r + _C2 * t1r + _C1 * t2r; a2i = x0i + _C2 * t1i + _C1 * t2i
            b1r = _S1 * t3r + _S2 * t4r; b1i = _S1 * t3i + _S2 * t4i
            b2r = _S2 * t3r - _S1 * t4r; b2i = _S2 * t3i - _S1 * t4i
            vr[l] = x0r + t1r + t2r
            vi[l] = x0i + t1i + t2i
            vr[40 + l] = a1r + b1i; vi[40 + l] = a1i - b1r
            vr[160 + l] = a1r - b1i; vi[160 + l] = a1i + b1r
            vr[80 + l] = a2r + b2i; vi[80 + l] = a2i - b2r
            vr[120 + l] = a2r - b2i; vi[120 + l] = a2i + b2r


cdef void _frame(const float* seg, float* mel_out, double* low_out) noexcept nogil:
    """Power-mel of one 400-sample frame (raw audio): mel of bins 2..200 into ``mel_out[80]``,
    and ``X_0`` (real), ``X_1`` (re, im) into ``low_out[3]``."""
    cdef double zr[_HALF]
    cdef double zi[_HALF]
    cdef double fr[_HALF]
    cdef double fi[_HALF]
    cdef double yr[_HALF]
    cdef double yi[_HALF]
    cdef double power[_N_BINS]
    cdef int p, n, k, j, o
    cdef double ar, ai, br, bi, gr, gi, xr, xi, acc
    cdef const double* wt
    # Window, pack pairs of real samples as complex z[n] = x[2n] + i x[2n+1], in PFA order.
    for p in range(_HALF):
        n = 2 * _pfa_in[p]
        zr[p] = seg[n] * _win_even[p]
        zi[p] = seg[n + 1] * _win_odd[p]
    for p in range(25):
        _dft8(&zr[8 * p], &zi[8 * p])
    _dft25x8(zr, zi, yr, yi)
    for p in range(_HALF):  # PFA output order -> natural order
        fr[p] = yr[_pfa_out[p]]
        fi[p] = yi[_pfa_out[p]]
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
    float* edge_mel     # 4 x _N_MELS: window frames 0, 1, 799 and turn frame -1, made by features()
    double* edge_low    # 4 x 3
    float* seg          # _PIECE scratch samples: int16 conversion, then frame gathers
    int64_t n           # samples pushed since reset
    int64_t n_frames    # frames computed: 0 .. n_frames - 1


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


cdef void _hop_sums(FeatState* s, int64_t b) noexcept nogil:
    """Sum and sum of squares of hop ``b`` (samples 160 b .. 160 b + 159), from the ring.

    Four interleaved float64 partial sums in a fixed order, so the result does not depend on
    how the audio was chunked."""
    cdef float tmp[_HOP]
    cdef double a[4]
    cdef double q[4]
    cdef int64_t base = (b * _HOP) & _RING_MASK
    cdef const float* x
    cdef int j, l
    cdef double v
    if base + _HOP <= _RING:
        x = &s.audio[base]
    else:
        for j in range(_HOP):
            tmp[j] = s.audio[(base + j) & _RING_MASK]
        x = tmp
    for l in range(4):
        a[l] = 0.0
        q[l] = 0.0
    for j in range(0, _HOP, 4):
        for l in range(4):
            v = x[j + l]
            a[l] += v
            q[l] += v * v
    s.hop_sum[b % _N_FRAMES] = (a[0] + a[1]) + (a[2] + a[3])
    s.hop_sq[b % _N_FRAMES] = (q[0] + q[1]) + (q[2] + q[3])


cdef void _append(FeatState* s, const float* x, int64_t m) noexcept nogil:
    """Copy ``m`` (<= _PIECE) samples into the audio ring; sum every hop they complete."""
    cdef int64_t pos = s.n & _RING_MASK
    cdef int64_t first = _RING - pos
    cdef int64_t b
    if first >= m:
        memcpy(&s.audio[pos], x, m * sizeof(float))
    else:
        memcpy(&s.audio[pos], x, first * sizeof(float))
        memcpy(s.audio, x + first, (m - first) * sizeof(float))
    for b in range(s.n // _HOP, (s.n + m) // _HOP):
        _hop_sums(s, b)
    s.n += m


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
        elif k == -1:  # frame -1 spans turn samples -360 .. 39: partly audio
            _edge_frame(s, start, _HOP * t, &s.edge_mel[3 * _N_MELS], &s.edge_low[9])
            mp = &s.edge_mel[3 * _N_MELS]
            lp = &s.edge_low[9]
        elif k < 0:  # frames -2 and earlier see only the zeros before the turn
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
        _log10_inplace(lv, _N_MELS)
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
        self.s.edge_mel = <float*>malloc(4 * _N_MELS * sizeof(float))
        self.s.edge_low = <double*>malloc(12 * sizeof(double))
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
