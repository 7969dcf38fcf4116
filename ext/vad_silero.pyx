# cython: language_level=3
"""Native Silero VAD v5 kernel (SPEC 3.1 ``silero``): the network's forward pass in C, no onnxruntime.

The weights are read once from the ``silero_vad.onnx`` an installed package ships (see
``turnengine.vad.read_silero_weights``) and handed to :class:`SileroModel`, which checks their
shapes and re-lays them out once for the kernels below.  :class:`SileroKernel` runs one stream;
:class:`SileroBatch` runs N streams and evaluates the network once per window step for every
stream that has a full window.  The whole window step runs without the GIL and creates no Python
object, so two threads with two stream groups use two cores.

Network (one branch of the ONNX graph per rate; 16 kHz numbers, 8 kHz in brackets)::

    x = [context 64 (32) | window 512 (256)]  -> reflection pad 64 (32) on the right
    STFT: Conv1d(1 -> 258 (130), k=256 (128), stride 128 (64)), a periodic-Hann windowed DFT
          basis; |X| over 129 (65) bins; 4 frames
    encoder: 4 x [Conv1d(k=3, pad=1) + ReLU]: 129->128 s1, 128->64 s2, 64->64 s2, 64->128 s1
    LSTM cell (128 -> 128), state (2, 1, 128) = (h, c) carried across windows
    decoder: ReLU(h) -> Conv1d(128 -> 1, k=1) -> sigmoid = speech probability

Implementation notes
--------------------
* The STFT basis in the file is exactly ``hann(n) * exp(-2 pi i k n / N)`` (checked at load time to
  1e-6; a model whose basis is not refuses to load), so it runs as a radix-2 real FFT with one
  SIMD lane per frame (8 lanes: two streams' 4 frames) instead of a 264k multiply-add product.
* Dense products (the convolutions as im2col products and the LSTM gates) run on weights packed
  once into 16-row panels (``Wp[panel][k][16]``), with register-blocked micro-kernels (AVX2+FMA
  when the CPU has them, chosen once at import; portable C otherwise), written in C in
  ``ext/silero_simd.h``.  Measured on the development machine, OpenBLAS ``sgemm`` re-packs the
  weight matrix on every call (~90 us for the 512 x 256 gate product at 1 to 8 columns) and
  ``sgemv`` reaches ~14 GMAC/s, so neither meets the single-stream budget; see
  docs/silero_native.md.
* Determinism: every output element is ``bias + sum_k w[k] * x[k]`` accumulated in ascending ``k``
  with one fused multiply-add per term, whatever the tile or the number of streams, and every
  stream's FFT (a lone stream shares the 8 lanes with itself) and LSTM cell run the same code.
  So a stream's probabilities are bitwise the same alone, batched with any other streams, or
  joining a batch late.  Rows whose input is zero padding may be skipped or not (conv1's edge
  frames, conv2's first frame, when several streams share a call): ``acc + w * 0 == acc``, so
  this does not change a bit either.
* Taps that only ever see the convolutions' zero padding (conv3's first tap, conv4's outer taps)
  are left out of the packed weights.
"""

from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy, memset

import numpy as np

cdef extern from "silero_simd.h":
    int te_simd
    int te_cpu_has_avx2() noexcept nogil
    void* te_calloc(size_t nbytes) noexcept nogil
    void te_free(void* p) noexcept nogil
    void te_dense(int M, int Kp, int k0, int k1, const float* Wp, const float* b, int n,
                  const float* const* x, float* const* y, int relu) noexcept nogil
    void te_lstm_cell(const float* g, float* c, float* h, int H) noexcept nogil
    float te_relu_dot(const float* h, const float* w, int H) noexcept nogil
    float te_sigmoidf(float x) noexcept nogil
    ctypedef struct te_fft_t:
        int nfft
        int m
        int hop
        int nbins
        float* win
        int* rev
        float* twr
        float* twi
        float* pwr
        float* pwi
    void te_stft_pair(const te_fft_t* f, const float* Pa, const float* Pb, float* outa,
                      float* outb, float* work) noexcept nogil
    int te_all_finite(const float* x, int64_t n) noexcept nogil


# Layer sizes (both rates) and the layout of a stream's state:
# [context (room for 64) | x = conv4 output | h | c]; x and h adjacent = the LSTM input column.
cdef enum:
    H = 128             # LSTM hidden size; conv1 and conv4 channels
    C2 = 64             # conv2 and conv3 channels
    CTX_SLOT = 64       # context: 64 samples at 16 kHz, 32 at 8 kHz
    ST_CTX = 0
    ST_X = 64
    ST_H = 64 + 128
    ST_C = 64 + 256
    STATE_FLOATS = 64 + 384

te_simd = te_cpu_has_avx2()


def simd_level():
    """str: the dense/LSTM code path in use: ``"avx2"`` (AVX2 + FMA) or ``"generic"`` (C)."""
    return "avx2" if te_simd else "generic"


def _set_simd(bint enabled):
    """Choose the code path (tests only): AVX2 only when the CPU has it.  Returns the level.

    Kernels must not be running in other threads while this is called; probabilities from
    different paths agree to ~1e-6, not bitwise.
    """
    global te_simd
    te_simd = 1 if (enabled and te_cpu_has_avx2()) else 0
    return simd_level()


# The tensor list and the weight checks are plain Python in vad_silero_spec, which the reference
# twin imports too, so the two can never disagree about what a valid model is.
from turnengine._kernels import vad_silero_spec as _spec  # noqa: E402
from turnengine._kernels.vad_silero_spec import checked_weights, weight_shapes  # noqa: E402

if (_spec.H, _spec.C2) != (H, C2):
    raise ImportError("ext/vad_silero.pyx and vad_silero_spec.py disagree on layer sizes")


def _pack(w):
    """(M, K) float32 -> panels of 16 rows, flat ``[panel][k][16]``."""
    m, k = w.shape
    return np.ascontiguousarray(w.reshape(m // 16, 16, k).transpose(0, 2, 1)).ravel()


cdef struct ModelC:
    int sample_rate_hz
    int window          # samples per window
    int context         # context samples carried from the previous window
    int padded          # context + window + reflection pad
    te_fft_t fft
    int k1              # conv1 im2col depth = 3 * nbins
    float* w1
    float* b1
    float* w2
    float* b2
    float* w3
    float* b3
    float* w4
    float* b4
    float* wl
    float* bl
    float* wd
    float bd
    # per-slot scratch layout (floats)
    int o_f             # STFT magnitudes: [0 | m0 m1 m2 m3 | 0], nbins each
    int o_g             # conv1 output: [0 | o0 o1 o2 o3], 128 each
    int o_h             # conv2 output: [p0 p1], 64 each
    int o_q             # conv3 output: 64
    int o_gates         # LSTM gates: 512
    int o_work          # FFT work: 16 * m
    int slot_floats


cdef float* _copy_c(arr) except NULL:
    cdef const float[::1] v = np.ascontiguousarray(arr, dtype=np.float32).ravel()
    cdef float* p = <float*>te_calloc(<size_t>max(v.shape[0], 1) * sizeof(float))
    if p == NULL:
        raise MemoryError()
    if v.shape[0]:
        memcpy(p, &v[0], v.shape[0] * sizeof(float))
    return p


cdef inline int _round16(int n) noexcept nogil:
    return (n + 15) & ~15


cdef class SileroModel:
    """Silero VAD v5 weights for one rate, validated and laid out once for the kernels.

    Immutable after construction; any number of :class:`SileroKernel` / :class:`SileroBatch`
    objects, in any threads, may share one model.

    Parameters
    ----------
    sample_rate_hz : {16000, 8000}
        Which branch of the network the weights belong to.
    weights : mapping of str to numpy.ndarray
        The tensors of :func:`weight_shapes` (PyTorch names, float32), as
        ``turnengine.vad.read_silero_weights`` returns them.

    Raises
    ------
    ValueError
        Unsupported rate, a missing tensor, a wrong shape, NaN/inf weights, or an STFT basis that
        is not a periodic-Hann windowed DFT.
    """

    cdef ModelC m
    cdef readonly int sample_rate_hz
    cdef readonly int window_size
    cdef readonly int context_size

    def __cinit__(self):
        memset(&self.m, 0, sizeof(ModelC))

    def __init__(self, int sample_rate_hz, weights):
        cdef int nfft, mm, nb, i, r, j
        cdef int bits = 0
        if self.m.fft.win != NULL:
            raise RuntimeError("a SileroModel is immutable; build a new one")
        w = checked_weights(sample_rate_hz, weights)
        nfft = 256 if sample_rate_hz == 16000 else 128
        mm = nfft // 2
        nb = mm + 1
        self.sample_rate_hz = sample_rate_hz
        self.window_size = 512 if sample_rate_hz == 16000 else 256
        self.context_size = 64 if sample_rate_hz == 16000 else 32
        self.m.sample_rate_hz = sample_rate_hz
        self.m.window = self.window_size
        self.m.context = self.context_size
        self.m.padded = self.context_size + self.window_size + self.context_size
        # FFT tables (twiddles in float64, then rounded once).
        self.m.fft.nfft = nfft
        self.m.fft.m = mm
        self.m.fft.hop = nfft // 2
        self.m.fft.nbins = nb
        self.m.fft.win = _copy_c(w["stft.forward_basis_buffer"][0, 0, :])
        while (1 << (bits + 1)) <= mm:
            bits += 1
        rev = np.zeros(mm, dtype=np.int32)
        for i in range(mm):
            r = 0
            for j in range(bits):
                if i & (1 << j):
                    r |= 1 << (bits - 1 - j)
            rev[i] = r
        self.m.fft.rev = <int*>te_calloc(mm * sizeof(int))
        if self.m.fft.rev == NULL:
            raise MemoryError()
        for i in range(mm):
            self.m.fft.rev[i] = rev[i]
        jj = np.arange(mm // 2)
        self.m.fft.twr = _copy_c(np.cos(2.0 * np.pi * jj / mm))
        self.m.fft.twi = _copy_c(-np.sin(2.0 * np.pi * jj / mm))
        kk = np.arange(mm + 1)
        self.m.fft.pwr = _copy_c(np.cos(2.0 * np.pi * kk / nfft))
        self.m.fft.pwi = _copy_c(-np.sin(2.0 * np.pi * kk / nfft))
        # conv1: im2col rows ordered tap-major (row = tap * nbins + channel).
        self.m.k1 = 3 * nb
        w1 = w["encoder.0.reparam_conv.weight"]
        self.m.w1 = _copy_c(_pack(w1.transpose(0, 2, 1).reshape(H, 3 * nb)))
        self.m.b1 = _copy_c(w["encoder.0.reparam_conv.bias"])
        w2 = w["encoder.1.reparam_conv.weight"]
        self.m.w2 = _copy_c(_pack(w2.transpose(0, 2, 1).reshape(C2, 3 * H)))
        self.m.b2 = _copy_c(w["encoder.1.reparam_conv.bias"])
        # conv3 sees [pad, p0, p1]: its first tap only ever multiplies zeros.
        w3 = w["encoder.2.reparam_conv.weight"]
        self.m.w3 = _copy_c(_pack(w3[:, :, 1:].transpose(0, 2, 1).reshape(C2, 2 * C2)))
        self.m.b3 = _copy_c(w["encoder.2.reparam_conv.bias"])
        # conv4 sees [pad, q, pad]: only the centre tap.
        w4 = w["encoder.3.reparam_conv.weight"]
        self.m.w4 = _copy_c(_pack(np.ascontiguousarray(w4[:, :, 1])))
        self.m.b4 = _copy_c(w["encoder.3.reparam_conv.bias"])
        wl = np.concatenate([w["decoder.rnn.weight_ih"], w["decoder.rnn.weight_hh"]], axis=1)
        self.m.wl = _copy_c(_pack(wl))
        self.m.bl = _copy_c(w["decoder.rnn.bias_ih"] + w["decoder.rnn.bias_hh"])
        self.m.wd = _copy_c(w["decoder.decoder.2.weight"].reshape(H))
        self.m.bd = float(w["decoder.decoder.2.bias"][0])
        # Scratch layout of one slot; the padded input sits at offset 0.
        self.m.o_f = _round16(self.m.padded)
        self.m.o_g = self.m.o_f + _round16(6 * nb)
        self.m.o_h = self.m.o_g + _round16(5 * H)
        self.m.o_q = self.m.o_h + _round16(2 * C2)
        self.m.o_gates = self.m.o_q + _round16(C2)
        self.m.o_work = self.m.o_gates + _round16(4 * H)
        self.m.slot_floats = self.m.o_work + _round16(16 * mm)

    def __dealloc__(self):
        te_free(self.m.fft.win)
        te_free(self.m.fft.rev)
        te_free(self.m.fft.twr)
        te_free(self.m.fft.twi)
        te_free(self.m.fft.pwr)
        te_free(self.m.fft.pwi)
        te_free(self.m.w1)
        te_free(self.m.b1)
        te_free(self.m.w2)
        te_free(self.m.b2)
        te_free(self.m.w3)
        te_free(self.m.b3)
        te_free(self.m.w4)
        te_free(self.m.b4)
        te_free(self.m.wl)
        te_free(self.m.bl)
        te_free(self.m.wd)

    @property
    def state_bytes(self):
        """int: C memory one stream adds: its state plus one scratch slot."""
        return (STATE_FLOATS + self.m.slot_floats) * sizeof(float)

    def __repr__(self):
        return (f"SileroModel(sample_rate_hz={self.sample_rate_hz}, window_size="
                f"{self.window_size}, context_size={self.context_size}, simd={simd_level()!r})")


# -- the window step -------------------------------------------------------------------------
cdef void _prepare(const ModelC* m, float* st, const float* win, float* slot) noexcept nogil:
    """Padded input [context | window | reflection] into the slot; the new context."""
    cdef int c = m.context, w = m.window, j
    cdef float* P = slot
    memcpy(P, st + ST_CTX, c * sizeof(float))
    memcpy(P + c, win, w * sizeof(float))
    # ONNX Pad mode=reflect on the right: P[L + j] = P[L - 2 - j], L = c + w.
    for j in range(c):
        P[c + w + j] = P[c + w - 2 - j]
    memcpy(st + ST_CTX, win + w - c, c * sizeof(float))


cdef void _forward(const ModelC* m, int n, float** st, const float** win, float** slot,
                   const float** cols, float** outs, float* probs) noexcept nogil:
    """One window for ``n`` streams: ``st[i]`` state, ``win[i]`` samples, ``slot[i]`` scratch.

    ``cols`` and ``outs`` have room for ``4 * n`` pointers.  Writes ``probs[i]``.
    """
    cdef int i, t, k, nb = m.fft.nbins
    for i in range(n):
        _prepare(m, st[i], win[i], slot[i])
    # STFT magnitudes, two streams per call (a lone last stream is paired with itself).
    for i in range(0, n, 2):
        k = i + 1 if i + 1 < n else i
        te_stft_pair(&m.fft, slot[i], slot[k], slot[i] + m.o_f + nb, slot[k] + m.o_f + nb,
                     slot[i] + m.o_work)
    # conv1 (+ReLU): column t = F frames t..t+2 (F frames 0 and 5 are zero padding).  One stream
    # runs its 4 columns over all rows (the weights are read once); several streams group the
    # columns so that the rows facing the padding are skipped (bitwise the same result).
    if n == 1:
        for t in range(4):
            cols[t] = slot[0] + m.o_f + t * nb
            outs[t] = slot[0] + m.o_g + (t + 1) * H
        te_dense(H, m.k1, 0, m.k1, m.w1, m.b1, 4, cols, outs, 1)
    else:
        for i in range(n):
            for t in range(4):
                # order: all t=0 columns, then t=1 and t=2, then t=3
                k = i if t == 0 else (n + 2 * i + t - 1 if t < 3 else 3 * n + i)
                cols[k] = slot[i] + m.o_f + t * nb
                outs[k] = slot[i] + m.o_g + (t + 1) * H
        te_dense(H, m.k1, nb, m.k1, m.w1, m.b1, n, cols, outs, 1)
        te_dense(H, m.k1, 0, m.k1, m.w1, m.b1, 2 * n, cols + n, outs + n, 1)
        te_dense(H, m.k1, 0, 2 * nb, m.w1, m.b1, n, cols + 3 * n, outs + 3 * n, 1)
    # conv2 (+ReLU), stride 2: column u = G frames 2u..2u+2 (G frame 0 is zero padding).
    if n == 1:
        for t in range(2):
            cols[t] = slot[0] + m.o_g + 2 * t * H
            outs[t] = slot[0] + m.o_h + t * C2
        te_dense(C2, 3 * H, 0, 3 * H, m.w2, m.b2, 2, cols, outs, 1)
    else:
        for i in range(n):
            for t in range(2):
                cols[t * n + i] = slot[i] + m.o_g + 2 * t * H
                outs[t * n + i] = slot[i] + m.o_h + t * C2
        te_dense(C2, 3 * H, H, 3 * H, m.w2, m.b2, n, cols, outs, 1)
        te_dense(C2, 3 * H, 0, 3 * H, m.w2, m.b2, n, cols + n, outs + n, 1)
    # conv3 (+ReLU), stride 2, one output frame: taps 1 and 2 = [p0 p1].
    for i in range(n):
        cols[i] = slot[i] + m.o_h
        outs[i] = slot[i] + m.o_q
    te_dense(C2, 2 * C2, 0, 2 * C2, m.w3, m.b3, n, cols, outs, 1)
    # conv4 (+ReLU), centre tap, written straight into the LSTM input x.
    for i in range(n):
        cols[i] = slot[i] + m.o_q
        outs[i] = st[i] + ST_X
    te_dense(H, C2, 0, C2, m.w4, m.b4, n, cols, outs, 1)
    # LSTM gates = [W_ih W_hh] [x; h] + (b_ih + b_hh); then the cell and the decoder.
    for i in range(n):
        cols[i] = st[i] + ST_X
        outs[i] = slot[i] + m.o_gates
    te_dense(4 * H, 2 * H, 0, 2 * H, m.wl, m.bl, n, cols, outs, 0)
    for i in range(n):
        te_lstm_cell(slot[i] + m.o_gates, st[i] + ST_C, st[i] + ST_H, H)
        probs[i] = te_sigmoidf(te_relu_dot(st[i] + ST_H, m.wd, H) + m.bd)


cdef class _Streams:
    """C memory for ``n`` streams: states, scratch slots and pointer tables."""

    cdef SileroModel model
    cdef const ModelC* m
    cdef int n
    cdef float* state
    cdef float* scratch
    cdef float** st
    cdef const float** win
    cdef float** slot
    cdef const float** cols
    cdef float** outs
    cdef float* probs
    cdef bint busy

    def __cinit__(self, SileroModel model not None, int n_streams):
        if n_streams < 1:
            raise ValueError(f"expected n_streams >= 1, got {n_streams}")
        self.model = model
        self.m = &model.m
        self.n = n_streams
        self.state = <float*>te_calloc(<size_t>n_streams * STATE_FLOATS * sizeof(float))
        self.scratch = <float*>te_calloc(<size_t>n_streams * model.m.slot_floats * sizeof(float))
        self.st = <float**>te_calloc(<size_t>n_streams * sizeof(float*))
        self.win = <const float**>te_calloc(<size_t>n_streams * sizeof(float*))
        self.slot = <float**>te_calloc(<size_t>n_streams * sizeof(float*))
        self.cols = <const float**>te_calloc(<size_t>4 * n_streams * sizeof(float*))
        self.outs = <float**>te_calloc(<size_t>4 * n_streams * sizeof(float*))
        self.probs = <float*>te_calloc(<size_t>n_streams * sizeof(float))
        if (self.state == NULL or self.scratch == NULL or self.st == NULL or self.win == NULL
                or self.slot == NULL or self.cols == NULL or self.outs == NULL
                or self.probs == NULL):
            raise MemoryError()
        # Touch every page now: first-touch page faults inside a window step would stall the
        # step, and in a multi-threaded process they contend with the other threads' work.
        memset(self.state, 0, <size_t>n_streams * STATE_FLOATS * sizeof(float))
        memset(self.scratch, 0, <size_t>n_streams * model.m.slot_floats * sizeof(float))
        self.busy = False

    def __dealloc__(self):
        te_free(self.state)
        te_free(self.scratch)
        te_free(self.st)
        te_free(self.win)
        te_free(self.slot)
        te_free(self.cols)
        te_free(self.outs)
        te_free(self.probs)

    cdef inline float* _state(self, int s) noexcept nogil:
        return self.state + <size_t>s * STATE_FLOATS

    cdef inline float* _slot(self, int s) noexcept nogil:
        return self.scratch + <size_t>s * self.m.slot_floats

    cdef void _reset(self, int s) noexcept nogil:
        # The scratch's zero-padding frames are never written, so only the state is cleared.
        memset(self._state(s), 0, STATE_FLOATS * sizeof(float))

    cdef int _enter(self) except -1:
        if self.busy:
            raise RuntimeError(f"this {type(self).__name__} is running in another thread; use one "
                               "object per thread")
        self.busy = True
        return 0

    cdef object _get_state(self, int s):
        cdef float* st = self._state(s)
        out = np.empty((2, 1, H), dtype=np.float32)
        cdef float[:, :, ::1] o = out
        memcpy(&o[0, 0, 0], st + ST_H, H * sizeof(float))
        memcpy(&o[1, 0, 0], st + ST_C, H * sizeof(float))
        ctx = np.empty(self.m.context, dtype=np.float32)
        cdef float[::1] cv = ctx
        memcpy(&cv[0], st + ST_CTX, self.m.context * sizeof(float))
        return out, ctx

    cdef int _set_state(self, int s, state, context) except -1:
        sa = np.ascontiguousarray(state, dtype=np.float32)
        ca = np.ascontiguousarray(context, dtype=np.float32)
        if sa.shape != (2, 1, H):
            raise ValueError(f"expected state of shape (2, 1, {H}), got {sa.shape}")
        if ca.shape != (self.m.context,):
            raise ValueError(f"expected context of shape ({self.m.context},), got {ca.shape}")
        if not (np.isfinite(sa).all() and np.isfinite(ca).all()):
            raise ValueError("expected a finite state and context, got NaN or inf")
        cdef const float[:, :, ::1] sv = sa
        cdef const float[::1] cv = ca
        cdef float* st = self._state(s)
        memcpy(st + ST_H, &sv[0, 0, 0], H * sizeof(float))
        memcpy(st + ST_C, &sv[1, 0, 0], H * sizeof(float))
        memcpy(st + ST_CTX, &cv[0], self.m.context * sizeof(float))
        return 0


cdef int64_t _run_stream(_Streams s, int stream, const float* x, int64_t n_windows,
                         float* probs) noexcept nogil:
    """``n_windows`` consecutive windows of one stream."""
    cdef int64_t k
    s.st[0] = s._state(stream)
    s.slot[0] = s._slot(0)
    for k in range(n_windows):
        s.win[0] = x + k * s.m.window
        _forward(s.m, 1, s.st, s.win, s.slot, s.cols, s.outs, probs + k)
    return n_windows


cdef int _gather(_Streams s, const uint8_t* active, int n_active_max) noexcept nogil:
    """Point st/slot at the active streams; returns how many."""
    cdef int i, n = 0
    for i in range(n_active_max):
        if active == NULL or active[i]:
            s.st[n] = s._state(i)
            s.slot[n] = s._slot(n)
            n += 1
    return n


cdef class SileroKernel:
    """One Silero VAD stream: context and LSTM state in C memory (SPEC 3.1 ``silero``).

    Parameters
    ----------
    model : SileroModel
        Weights for the stream's rate (shared, read-only).

    Notes
    -----
    ``process`` releases the GIL for the whole call.  One object must not be used by two threads
    at once (that raises ``RuntimeError``); give each thread its own kernel.
    """

    cdef _Streams s

    def __init__(self, SileroModel model not None):
        self.s = _Streams(model, 1)

    @property
    def model(self):
        """SileroModel: the shared weights."""
        return self.s.model

    @property
    def sample_rate_hz(self):
        return self.s.m.sample_rate_hz

    @property
    def window_size(self):
        """int: samples per window (512 at 16 kHz, 256 at 8 kHz)."""
        return self.s.m.window

    @property
    def context_size(self):
        """int: samples carried from the previous window (64 at 16 kHz, 32 at 8 kHz)."""
        return self.s.m.context

    def reset(self):
        """Fresh stream: zero LSTM state and zero context (as Silero's ``reset_states``)."""
        self.s._reset(0)

    def get_state(self):
        """Return ``(state, context)``: float32 ``(2, 1, 128)`` (h, c as onnxruntime's ``stateN``)
        and float32 ``(context_size,)``, copies."""
        return self.s._get_state(0)

    def set_state(self, state, context):
        """Load ``state`` (2, 1, 128) and ``context`` (context_size,) float32 arrays.

        Raises
        ------
        ValueError
            On a wrong shape or a non-finite value (state unchanged).
        """
        self.s._set_state(0, state, context)

    def process(self, const float[::1] samples, float[::1] probs_out):
        """Speech probability of each window of a chunk, carrying the state across windows.

        Parameters
        ----------
        samples : float32 array, shape (n_windows * window_size,)
            Audio at the model rate in [-1, 1], C-contiguous.
        probs_out : float32 array, shape (>= n_windows,)
            Receives one probability per window.

        Returns
        -------
        int
            ``n_windows``.

        Raises
        ------
        ValueError
            If the length is not a whole number of windows, ``probs_out`` is too short or the
            samples hold NaN/inf (state unchanged in every case).
        RuntimeError
            If another thread is running this kernel.
        """
        cdef int64_t n = samples.shape[0]
        cdef int64_t w = self.s.m.window
        cdef int64_t nw = n // w
        cdef int ok
        if n % w:
            raise ValueError(f"expected a whole number of {w}-sample windows, got {n} samples")
        if probs_out.shape[0] < nw:
            raise ValueError(f"expected probs_out of length >= {nw}, got {probs_out.shape[0]}")
        if nw == 0:
            return 0
        self.s._enter()
        try:
            with nogil:
                ok = te_all_finite(&samples[0], n)
                if ok:
                    _run_stream(self.s, 0, &samples[0], nw, &probs_out[0])
        finally:
            self.s.busy = False
        if not ok:
            raise ValueError("expected finite samples, got NaN or inf")
        return nw


cdef class SileroBatch:
    """N Silero VAD streams evaluated together (SPEC 10 "many streams").

    Each call evaluates the network once for every active stream: the convolutions and the LSTM
    run as products whose columns are the active streams.  A stream's results are bitwise the
    same as a :class:`SileroKernel` fed the same windows, whichever other streams are active.

    Parameters
    ----------
    model : SileroModel
        Weights (shared, read-only).
    n_streams : int
        Number of stream slots (>= 1).  A slot is a session: ``reset(i)`` starts a new one in it.

    Notes
    -----
    Calls release the GIL for the whole step; one object must not run in two threads at once
    (``RuntimeError``).  Two threads with two batches scale on two cores.
    """

    cdef _Streams s

    def __init__(self, SileroModel model not None, int n_streams):
        self.s = _Streams(model, n_streams)

    @property
    def model(self):
        return self.s.model

    @property
    def n_streams(self):
        return self.s.n

    @property
    def sample_rate_hz(self):
        return self.s.m.sample_rate_hz

    @property
    def window_size(self):
        return self.s.m.window

    @property
    def context_size(self):
        return self.s.m.context

    cdef int _check_stream(self, stream) except -1:
        if not 0 <= stream < self.s.n:
            raise IndexError(f"expected a stream index in [0, {self.s.n}), got {stream}")
        return 0

    def reset(self, stream=None):
        """Fresh state for one stream (an index) or for all (``None``)."""
        cdef int i
        if stream is None:
            for i in range(self.s.n):
                self.s._reset(i)
        else:
            self._check_stream(stream)
            self.s._reset(stream)

    def get_state(self, int stream):
        """``(state (2, 1, 128), context (context_size,))`` of one stream, as copies."""
        self._check_stream(stream)
        return self.s._get_state(stream)

    def set_state(self, int stream, state, context):
        """Load one stream's state; see :meth:`SileroKernel.set_state`."""
        self._check_stream(stream)
        self.s._set_state(stream, state, context)

    def process_batch(self, const float[:, ::1] windows, float[::1] probs_out, active=None):
        """One window for every active stream.

        Parameters
        ----------
        windows : float32 array, shape (n_streams, window_size)
            Row ``i`` is stream ``i``'s next window (rows of inactive streams are not read).
        probs_out : float32 array, shape (n_streams,)
            Receives the probability of each active stream; other entries are left as they are.
        active : uint8 or bool array of shape (n_streams,), optional
            Which streams have a window now; default all.  Inactive streams keep their state.

        Returns
        -------
        int
            Number of streams evaluated.

        Raises
        ------
        ValueError
            Wrong shapes, or NaN/inf in an active window (no state changes).
        RuntimeError
            If another thread is running this batch.
        """
        cdef int n = self.s.n, w = self.s.m.window, i, k
        cdef int n_act = 0
        cdef const uint8_t[::1] act
        cdef const uint8_t* ap = NULL
        cdef bint ok = True
        if windows.shape[0] != n or windows.shape[1] != w:
            raise ValueError(f"expected windows of shape ({n}, {w}), got "
                             f"({windows.shape[0]}, {windows.shape[1]})")
        if probs_out.shape[0] != n:
            raise ValueError(f"expected probs_out of shape ({n},), got ({probs_out.shape[0]},)")
        if active is not None:
            act = _as_mask(active, n)
            ap = &act[0]
        self.s._enter()
        try:
            with nogil:
                for i in range(n):
                    if (ap == NULL or ap[i]) and not te_all_finite(&windows[i, 0], w):
                        ok = False
                        break
                if ok:
                    n_act = _gather(self.s, ap, n)
                    k = 0
                    for i in range(n):
                        if ap == NULL or ap[i]:
                            self.s.win[k] = &windows[i, 0]
                            k += 1
                    if n_act:
                        _forward(self.s.m, n_act, self.s.st, self.s.win, self.s.slot,
                                 self.s.cols, self.s.outs, self.s.probs)
                    k = 0
                    for i in range(n):
                        if ap == NULL or ap[i]:
                            probs_out[i] = self.s.probs[k]
                            k += 1
        finally:
            self.s.busy = False
        if not ok:
            raise ValueError("expected finite samples, got NaN or inf")
        return n_act

    def process_many(self, const float[:, ::1] samples, float[:, ::1] probs_out, active=None):
        """Several consecutive windows for every active stream, in one call.

        Window step ``k`` evaluates all active streams together, then step ``k + 1``; the result
        equals ``n_windows`` calls of :meth:`process_batch`.

        Parameters
        ----------
        samples : float32 array, shape (n_streams, n_windows * window_size)
        probs_out : float32 array, shape (n_streams, >= n_windows)
        active : uint8 or bool array of shape (n_streams,), optional

        Returns
        -------
        int
            ``n_windows``.

        Raises
        ------
        ValueError
            Wrong shapes or NaN/inf in an active stream's samples (no state changes).
        RuntimeError
            If another thread is running this batch.
        """
        cdef int n = self.s.n, w = self.s.m.window, i, k
        cdef int n_act = 0
        cdef int64_t nw, step
        cdef const uint8_t[::1] act
        cdef const uint8_t* ap = NULL
        cdef bint ok = True
        if samples.shape[0] != n or samples.shape[1] % w:
            raise ValueError(f"expected samples of shape ({n}, n_windows * {w}), got "
                             f"({samples.shape[0]}, {samples.shape[1]})")
        nw = samples.shape[1] // w
        if probs_out.shape[0] != n or probs_out.shape[1] < nw:
            raise ValueError(f"expected probs_out of shape ({n}, >= {nw}), got "
                             f"({probs_out.shape[0]}, {probs_out.shape[1]})")
        if active is not None:
            act = _as_mask(active, n)
            ap = &act[0]
        if nw == 0:
            return 0
        self.s._enter()
        try:
            with nogil:
                for i in range(n):
                    if (ap == NULL or ap[i]) and not te_all_finite(&samples[i, 0], nw * w):
                        ok = False
                        break
                if ok:
                    n_act = _gather(self.s, ap, n)
                    if n_act:
                        for step in range(nw):
                            k = 0
                            for i in range(n):
                                if ap == NULL or ap[i]:
                                    self.s.win[k] = &samples[i, step * w]
                                    k += 1
                            _forward(self.s.m, n_act, self.s.st, self.s.win, self.s.slot,
                                     self.s.cols, self.s.outs, self.s.probs)
                            k = 0
                            for i in range(n):
                                if ap == NULL or ap[i]:
                                    probs_out[i, step] = self.s.probs[k]
                                    k += 1
        finally:
            self.s.busy = False
        if not ok:
            raise ValueError("expected finite samples, got NaN or inf")
        return nw

    def process_stream(self, int stream, const float[::1] samples, float[::1] probs_out):
        """Consecutive windows of one stream of the batch; see :meth:`SileroKernel.process`.

        Raises
        ------
        IndexError
            If ``stream`` is not a slot.
        ValueError, RuntimeError
            As :meth:`SileroKernel.process`.
        """
        cdef int64_t n = samples.shape[0]
        cdef int64_t w = self.s.m.window
        cdef int64_t nw = n // w
        cdef int ok
        self._check_stream(stream)
        if n % w:
            raise ValueError(f"expected a whole number of {w}-sample windows, got {n} samples")
        if probs_out.shape[0] < nw:
            raise ValueError(f"expected probs_out of length >= {nw}, got {probs_out.shape[0]}")
        if nw == 0:
            return 0
        self.s._enter()
        try:
            with nogil:
                ok = te_all_finite(&samples[0], n)
                if ok:
                    _run_stream(self.s, stream, &samples[0], nw, &probs_out[0])
        finally:
            self.s.busy = False
        if not ok:
            raise ValueError("expected finite samples, got NaN or inf")
        return nw


cdef const uint8_t[::1] _as_mask(active, int n):
    a = np.asarray(active)
    if a.shape != (n,):
        raise ValueError(f"expected active of shape ({n},), got {a.shape}")
    if a.dtype != np.bool_ and a.dtype != np.uint8:
        raise TypeError(f"expected a bool or uint8 active mask, got {a.dtype}")
    return np.ascontiguousarray(a.view(np.uint8) if a.dtype == np.bool_ else a)

