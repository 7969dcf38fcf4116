# PCM intake kernel: int16/float32 conversion, down-mix and a streaming polyphase resampler.
#
# Reference twin: turnengine/_kernels/pcm_ref.py (same API, same numbers).  The filter design and
# the argument checks live in turnengine/_kernels/pcm_spec.py, which both twins import.
"""PCM intake: int16/float32 conversion, channel down-mix and streaming resampling to 16 kHz.

By default 8000 and 16000 Hz pass through at their own rate; 24000, 32000, 44100 and 48000 Hz are
brought to 16000 Hz by a rational polyphase FIR (up ``L``, low-pass, down ``M``), the streaming
form of ``scipy.signal.resample_poly``.  ``output_rate_hz=16000`` also up-samples 8000 Hz
telephony audio to 16000 Hz (L=2, M=1) for 16 kHz models.  Source of the filters:
``scipy.signal.firwin`` with a Kaiser window, designed once per conversion in
``pcm_spec.resampler_design``.
"""

cimport cython
cimport numpy as cnp
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from libc.math cimport isfinite, sqrt
from libc.stdint cimport int16_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memmove, memset

from _common cimport KE_NONFINITE, KE_OUTPUT_TOO_SMALL
include "_codes.pxi"

import numpy as np

from turnengine._kernels.pcm_spec import (
    SUM_LANES,
    check_count,
    check_out,
    check_rates,
    check_samples,
    check_window_rms_args,
    nonfinite_error,
    resampler_delay,
    resampler_design,
)

cnp.import_array()

# Input frames down-mixed per pass; the work buffer holds (taps_per_phase - 1) + _BLOCK floats.
# process() releases the GIL only for chunks worth more than _NOGIL_WORK samples + multiply-adds
# (a few microseconds): below that, releasing and re-taking it (~35 ns uncontended, up to the
# interpreter's switch interval when another thread runs Python) costs more than it frees.
cdef enum:
    _BLOCK = 4096
    _NOGIL_WORK = 16384

ctypedef fused sample_t:
    int16_t
    float


cdef struct PcmState:
    int64_t up              # L
    int64_t down            # M
    int64_t down_q          # M // L
    int64_t down_r          # M % L
    Py_ssize_t taps         # taps per phase T
    double* coef            # (L, T) row-major, each row time-reversed (oldest tap first)
    float* buf              # T - 1 history samples, then up to _BLOCK new down-mixed samples
    Py_ssize_t next_i       # input index (relative to consumed) of the newest sample of the next output
    int64_t phase           # filter phase of the next output, in [0, L)
    int64_t consumed        # input frames consumed since reset
    int64_t produced        # output samples produced since reset


cdef bint _any_nonfinite(const float* x, Py_ssize_t n) noexcept nogil:
    """True if any of x[0:n] is NaN/inf: branch-free, so the compiler vectorises it."""
    cdef Py_ssize_t i
    cdef float d
    cdef int bad = 0
    for i in range(n):
        d = x[i] - x[i]  # 0 for a finite sample, NaN for NaN/inf
        bad |= d != d
    return bad != 0


cdef Py_ssize_t _first_nonfinite(const float* x, Py_ssize_t n_frames,
                                 Py_ssize_t n_channels) noexcept nogil:
    """Index of the first frame holding NaN/inf, or -1."""
    cdef Py_ssize_t f, c
    cdef const float* row = x
    if not _any_nonfinite(x, n_frames * n_channels):  # the common case, without the scalar scan
        return -1
    for f in range(n_frames):
        for c in range(n_channels):
            if not isfinite(row[c]):
                return f
        row += n_channels
    return -1


cdef void _downmix(const sample_t* x, Py_ssize_t n_frames, Py_ssize_t n_channels, double scale,
                   float* dst) noexcept nogil:
    """dst[f] = float32((x[f, 0] + x[f, 1] + ...) * scale), summed in float64 in channel order."""
    cdef Py_ssize_t f, c
    cdef double acc
    if n_channels == 1:
        for f in range(n_frames):
            dst[f] = <float>(<double>x[f] * scale)
        return
    for f in range(n_frames):
        acc = <double>x[0]
        for c in range(1, n_channels):
            acc += <double>x[c]
        dst[f] = <float>(acc * scale)
        x += n_channels


cdef Py_ssize_t _process(PcmState* s, const sample_t* x, Py_ssize_t n_frames,
                         Py_ssize_t n_channels, double scale, float* out, Py_ssize_t out_len,
                         Py_ssize_t* bad_frame) noexcept nogil:
    """Consume n_frames interleaved frames, write the outputs they complete to out.

    Returns the number of outputs, or a negative KernelError with the state untouched.
    """
    cdef Py_ssize_t hist = s.taps - 1
    cdef Py_ssize_t start = 0, b, k, count = 0
    cdef Py_ssize_t i
    cdef int64_t p
    cdef double a0, a1, a2, a3
    cdef const double* h
    cdef const float* w
    # Validate everything before touching the state.
    if sample_t is float:
        bad_frame[0] = _first_nonfinite(x, n_frames, n_channels)
        if bad_frame[0] >= 0:
            return KE_NONFINITE
    if out_len * s.down < n_frames * s.up:  # out_len < ceil(n_frames * L / M)
        return KE_OUTPUT_TOO_SMALL

    if s.up == 1 and s.down == 1:  # native rate: the filter is [1.0]
        _downmix(x, n_frames, n_channels, scale, out)
        s.consumed += n_frames
        s.produced += n_frames
        return n_frames

    i = s.next_i
    p = s.phase
    while start < n_frames:
        b = n_frames - start
        if b > _BLOCK:
            b = _BLOCK
        _downmix(x + start * n_channels, b, n_channels, scale, s.buf + hist)
        # buf[i + k], k = 0..T-1, are the T inputs ending at block sample i.
        while i < b:
            h = s.coef + p * s.taps
            w = s.buf + i
            # Four interleaved partial sums (taps_per_phase % 4 == 0): breaks the add latency
            # chain; the fixed order is mirrored by the reference twin (pcm_spec.SUM_LANES).
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for k in range(0, s.taps, 4):
                a0 += h[k] * <double>w[k]
                a1 += h[k + 1] * <double>w[k + 1]
                a2 += h[k + 2] * <double>w[k + 2]
                a3 += h[k + 3] * <double>w[k + 3]
            out[count] = <float>((a0 + a1) + (a2 + a3))
            count += 1
            i += s.down_q
            p += s.down_r
            if p >= s.up:
                p -= s.up
                i += 1
        i -= b
        memmove(s.buf, s.buf + b, hist * sizeof(float))
        start += b
    s.next_i = i
    s.phase = p
    s.consumed += n_frames
    s.produced += count
    return count


cdef inline Py_ssize_t _process_any(PcmState* s, bint is_int16, const void* x,
                                    Py_ssize_t n_frames, Py_ssize_t n_channels, double scale,
                                    float* out, Py_ssize_t out_len,
                                    Py_ssize_t* bad_frame) noexcept nogil:
    """_process on an int16 (is_int16) or float32 chunk given as an untyped pointer."""
    if is_int16:
        return _process(s, <const int16_t*>x, n_frames, n_channels, scale, out, out_len,
                        bad_frame)
    return _process(s, <const float*>x, n_frames, n_channels, scale, out, out_len, bad_frame)


@cython.cdivision(True)  # down >= 1 and n_frames >= 0: C and Python division agree
cdef inline int64_t _max_output(const PcmState* s, int64_t n_frames) noexcept nogil:
    """ceil(n_frames * up / down) for n_frames >= 0."""
    return (n_frames * s.up + s.down - 1) // s.down


cdef Py_ssize_t _window_rms(const float* x, Py_ssize_t n_windows, Py_ssize_t window,
                            double inv_window, float* out) noexcept nogil:
    cdef Py_ssize_t w, k
    cdef double acc, v
    for w in range(n_windows):
        acc = 0.0
        for k in range(window):
            v = <double>x[k]
            acc += v * v
        out[w] = <float>sqrt(acc * inv_window)
        x += window
    return n_windows


cdef class Intake:
    """Streaming PCM intake for one audio stream: down-mix, scale and resample to 16 kHz.

    Parameters
    ----------
    sample_rate_hz : int
        Input rate in Hz: 8000, 16000, 24000, 32000, 44100 or 48000.
    output_rate_hz : int, optional
        Output rate in Hz.  None (the default): 8000 and 16000 are passed through at their own
        rate; 24000, 32000, 44100 and 48000 are resampled to 16000 Hz by a rational polyphase FIR
        (48 kHz: L=1, M=3; 44.1 kHz: L=160, M=441; 32 kHz: L=1, M=2; 24 kHz: L=2, M=3).  16000
        with an 8000 Hz input up-samples it (L=2, M=1), e.g. telephony audio for a 16 kHz model.
        The default output rate may also be given explicitly; nothing else is supported.

    Raises
    ------
    TypeError
        If ``sample_rate_hz`` is not an int, or ``output_rate_hz`` not an int or None (bool is
        refused).
    ValueError
        If the input rate is not one of 8000, 16000, 24000, 32000, 44100, 48000, or the
        conversion is not supported (``unsupported conversion 44100 Hz -> 8000 Hz; supported:
        ...``).

    Notes
    -----
    Source: the low-passes are ``scipy.signal.firwin`` with a Kaiser window (see
    ``pcm_spec.resampler_design``).  Down to 16 kHz: beta 6.5, -6 dB at 7.2 kHz, >= 66 dB
    attenuation from 8 kHz up, 2.75 ms long, so its group delay is exactly ``delay_samples`` = 22
    output samples at every such rate.  8 -> 16 kHz (anti-imaging): beta 6.0, -6 dB at 3.675 kHz,
    >= 63 dB attenuation of the images from 4 kHz up, < 0.08 dB droop to 3.4 kHz, 6 ms long,
    ``delay_samples`` = 48.  The filter history and phase carry over between calls, so any
    chunking of a signal gives bit-identical output.  One instance serves one stream; do not call
    ``process`` on the same instance from two threads at once (it releases the GIL for chunks
    worth more than a few microseconds of work).
    """

    cdef PcmState s
    cdef int _rate
    cdef int _out_rate
    cdef int _delay

    def __cinit__(self, *args, **kwargs):
        self.s.coef = NULL
        self.s.buf = NULL

    def __init__(self, sample_rate_hz, output_rate_hz=None):
        # Everything is checked and designed before the state is touched.
        rate, out_rate = check_rates(sample_rate_hz, output_rate_hz)
        up, down, coef = resampler_design(rate, out_rate)
        cdef int delay = resampler_delay(rate, out_rate)
        cdef const double[:, ::1] cv = coef
        cdef Py_ssize_t taps = cv.shape[1]
        cdef Py_ssize_t n_coef = cv.shape[0] * taps
        cdef double* new_coef
        cdef float* new_buf
        if up != down and taps % SUM_LANES:  # the hot loop takes taps four at a time
            raise AssertionError(f"taps_per_phase {taps} is not a multiple of {SUM_LANES}")
        new_coef = <double*>malloc(n_coef * sizeof(double))
        new_buf = <float*>malloc((taps - 1 + _BLOCK) * sizeof(float))
        if new_coef == NULL or new_buf == NULL:
            free(new_coef)
            free(new_buf)
            raise MemoryError("cannot allocate the resampler state")
        memcpy(new_coef, &cv[0, 0], n_coef * sizeof(double))
        free(self.s.coef)
        free(self.s.buf)
        self.s.coef = new_coef
        self.s.buf = new_buf
        self.s.up = up
        self.s.down = down
        self.s.down_q = down // up
        self.s.down_r = down % up
        self.s.taps = taps
        self._rate = rate
        self._out_rate = out_rate
        self._delay = delay
        self.reset()

    def __dealloc__(self):
        free(self.s.coef)
        free(self.s.buf)
        self.s.coef = NULL
        self.s.buf = NULL

    def reset(self):
        """Forget the filter history and the clock (``consumed = produced = 0``)."""
        if self.s.buf != NULL:
            memset(self.s.buf, 0, (self.s.taps - 1 + _BLOCK) * sizeof(float))
        self.s.next_i = 0
        self.s.phase = 0
        self.s.consumed = 0
        self.s.produced = 0

    @property
    def sample_rate_hz(self):
        """Input sample rate in Hz (int)."""
        return self._rate

    @property
    def output_rate_hz(self):
        """Output sample rate in Hz: 8000 or 16000 (``sample_rate_hz * up / down``)."""
        return self._out_rate

    @property
    def delay_samples(self):
        """Group delay of the resampling filter in output samples.

        22 from 24/32/44.1/48 kHz to 16 kHz, 48 from 8 kHz to 16 kHz, 0 at a native rate.

        Output sample ``m`` lines up with input time ``(m - delay_samples) / output_rate_hz`` s.
        """
        return self._delay

    @property
    def up(self):
        """Up-sampling factor L."""
        return self.s.up

    @property
    def down(self):
        """Down-sampling factor M."""
        return self.s.down

    @property
    def taps_per_phase(self):
        """FIR taps per polyphase branch (multiply-adds per output sample); 1 when native."""
        return self.s.taps

    @property
    def consumed(self):
        """Input frames consumed since construction or ``reset()`` (int64)."""
        return self.s.consumed

    @property
    def produced(self):
        """Output samples produced since construction or ``reset()`` (int64)."""
        return self.s.produced

    def max_output(self, n_frames):
        """Upper bound on the samples ``process`` writes for ``n_frames`` more input frames.

        Parameters
        ----------
        n_frames : int
            Number of input frames (>= 0).

        Returns
        -------
        int
            ``ceil(n_frames * up / down)``; it does not depend on the state, so a buffer sized
            once for a fixed chunk length always suffices.

        Raises
        ------
        TypeError
            If ``n_frames`` is not an int.
        ValueError
            If ``n_frames`` is negative.
        """
        cdef int overflow = 0
        cdef long long n
        if PyLong_CheckExact(n_frames):  # fast path: a plain int that fits in int64 and is >= 0
            n = PyLong_AsLongLongAndOverflow(n_frames, &overflow)
            if overflow == 0 and n >= 0:
                return _max_output(&self.s, n)
        # Anything else (bool, numpy integers, negative, huge, wrong type): the shared checks.
        n = check_count(n_frames, "n_frames", 0)
        return _max_output(&self.s, n)

    def process(self, x, out):
        """Consume one chunk of input frames; write the output samples it completes.

        Parameters
        ----------
        x : ndarray of int16 or float32, shape ``(n_frames, n_channels)`` or ``(n_frames,)``
            C-contiguous interleaved PCM at ``sample_rate_hz``; 1-D is mono.  int16 is scaled by
            1/32768, float32 is expected in [-1, 1] (not clipped).  Channels are averaged.
        out : ndarray of float32, shape ``(>= max_output(n_frames),)``
            C-contiguous, writable; receives the output samples at ``output_rate_hz``.

        Returns
        -------
        int
            Number of samples written to ``out[:n]``.

        Raises
        ------
        TypeError
            If ``x`` is not a native-endian int16 or float32 numpy array, or ``out`` is not
            float32.
        ValueError
            If ``x`` has the wrong number of dimensions, is not C-contiguous or is empty; if
            float32 ``x`` holds NaN/inf; if ``out`` is too short, strided or read-only.  The
            state is unchanged in every case.
        """
        cdef double scale = 0.0
        cdef Py_ssize_t n_frames = 0, n_channels = 0, out_len = 0, n
        cdef Py_ssize_t bad = -1
        cdef int x_type = -1
        cdef cnp.ndarray xa, oa
        cdef const void* xp = NULL
        cdef float* op = NULL
        cdef const int16_t[:, ::1] xi
        cdef const float[:, ::1] xf
        cdef float[::1] ov
        # Fast path: the arrays the engine passes (C-contiguous, aligned, native-endian int16 or
        # float32 x of 1-D/2-D with >= 1 frame and channel; writable float32 1-D out that is long
        # enough) go straight to the worker through the numpy C-API, with no Python-level check.
        if cnp.PyArray_Check(x) and cnp.PyArray_Check(out):
            xa = <cnp.ndarray>x
            oa = <cnp.ndarray>out
            x_type = cnp.PyArray_TYPE(xa)
            if ((x_type == cnp.NPY_INT16 or x_type == cnp.NPY_FLOAT32)
                    and cnp.PyArray_ISCARRAY_RO(xa)
                    and (cnp.PyArray_NDIM(xa) == 1 or cnp.PyArray_NDIM(xa) == 2)
                    and cnp.PyArray_TYPE(oa) == cnp.NPY_FLOAT32
                    and cnp.PyArray_NDIM(oa) == 1
                    and cnp.PyArray_ISCARRAY(oa)):  # C-contiguous, aligned, writable, native
                n_frames = cnp.PyArray_DIMS(xa)[0]
                n_channels = cnp.PyArray_DIMS(xa)[1] if cnp.PyArray_NDIM(xa) == 2 else 1
                out_len = cnp.PyArray_DIMS(oa)[0]
                if (n_frames >= 1 and n_channels >= 1
                        and out_len >= _max_output(&self.s, n_frames)):
                    xp = cnp.PyArray_DATA(xa)
                    op = <float*>cnp.PyArray_DATA(oa)
                    # As pcm_spec.check_samples computes it.
                    if x_type == cnp.NPY_INT16:
                        scale = 1.0 / (32768.0 * n_channels)
                    else:
                        scale = 1.0 / n_channels
        if xp == NULL:
            # Slow path: the shared checks raise the documented errors, or accept what the fast
            # test leaves out (e.g. an unaligned view), exactly as before the fast path existed.
            x2, scale = check_samples(x)
            n_frames = x2.shape[0]
            n_channels = x2.shape[1]
            out_len = check_out(out, _max_output(&self.s, n_frames), f"max_output({n_frames})")
            ov = out
            op = &ov[0]
            if x2.dtype == np.int16:
                x_type = cnp.NPY_INT16
                xi = x2
                xp = &xi[0, 0]
            else:
                x_type = cnp.NPY_FLOAT32
                xf = x2
                xp = &xf[0, 0]
        if n_frames * n_channels + _max_output(&self.s, n_frames) * self.s.taps > _NOGIL_WORK:
            with nogil:
                n = _process_any(&self.s, x_type == cnp.NPY_INT16, xp, n_frames, n_channels,
                                 scale, op, out_len, &bad)
        else:
            n = _process_any(&self.s, x_type == cnp.NPY_INT16, xp, n_frames, n_channels, scale,
                             op, out_len, &bad)
        if n == KE_NONFINITE:
            raise nonfinite_error(bad)
        if n == KE_OUTPUT_TOO_SMALL:  # pragma: no cover - both paths checked out_len already
            raise ValueError(f"expected out of length >= {_max_output(&self.s, n_frames)}")
        return n


def window_rms(samples, window, out):
    """Root mean square of consecutive windows (for the ``min_volume`` gate).

    Parameters
    ----------
    samples : ndarray of float32, shape ``(n_windows * window,)``
        C-contiguous samples (any rate).
    window : int
        Window length in samples (>= 1).
    out : ndarray of float32, shape ``(>= n_windows,)``
        Receives ``sqrt(mean(samples[w * window:(w + 1) * window] ** 2))``, computed in float64.

    Returns
    -------
    int
        ``n_windows = len(samples) // window``.

    Raises
    ------
    TypeError
        If ``window`` is not an int, or ``samples``/``out`` are not float32 numpy arrays.
    ValueError
        If ``window < 1``, ``len(samples)`` is not a multiple of ``window``, or ``out`` is too
        short, strided or read-only.
    """
    cdef Py_ssize_t win, n_win
    cdef const float[::1] sv
    cdef float[::1] ov
    win, n_win = check_window_rms_args(samples, window, out)
    if n_win == 0:
        return 0
    sv = samples
    ov = out
    with nogil:
        _window_rms(&sv[0], n_win, win, 1.0 / win, &ov[0])
    return n_win


def intake_many(list intakes, const int16_t[:, ::1] frames, float[:, ::1] out,
                int64_t[::1] pending, const int64_t[::1] consumed):
    """Many streams' mono int16 chunks into their rows of one buffer (``TurnEngineGroup``).

    For each stream ``i``: drop the first ``consumed[i]`` samples of ``out[i, :pending[i]]``
    (the windows that went through the kernels), then run ``intakes[i]`` on ``frames[i]``,
    append its output at ``out[i, pending[i]:]`` and add the count to ``pending[i]``.  The same
    results as one :meth:`Intake.process` per stream, in one call.

    Parameters
    ----------
    intakes : list of Intake, length n_streams
    frames : ndarray of int16, shape (n_streams, n_frames)
        One mono chunk per stream, at each intake's input rate; ``n_frames >= 1``.
    out : ndarray of float32, shape (n_streams, capacity)
        Per-stream sample buffers (model rate).
    pending : ndarray of int64, shape (n_streams,)
        Samples held in each row; updated.
    consumed : ndarray of int64, shape (n_streams,)
        Samples to drop from the front of each row first, each in ``[0, pending[i]]``.

    Raises
    ------
    TypeError
        An entry of ``intakes`` is not an :class:`Intake`.
    ValueError
        Mismatched lengths, ``n_frames < 1``, ``consumed`` outside ``[0, pending]``, or a row
        too short for what it must hold (checked for every stream first: nothing changes).
    """
    cdef Py_ssize_t n = len(intakes), i, m = frames.shape[1], cap = out.shape[1]
    cdef int64_t keep, drop
    cdef Py_ssize_t bad = -1
    cdef Intake it
    if (frames.shape[0] != n or out.shape[0] != n or pending.shape[0] != n
            or consumed.shape[0] != n):
        raise ValueError(f"expected frames, out, pending and consumed for {n} streams, got "
                         f"{frames.shape[0]}, {out.shape[0]}, {pending.shape[0]} and "
                         f"{consumed.shape[0]}")
    if m < 1:
        raise ValueError("expected at least one frame per stream, got 0")
    for i in range(n):
        it = <Intake?>intakes[i]
        if not 0 <= consumed[i] <= pending[i]:
            raise ValueError(f"stream {i}: expected 0 <= consumed <= {pending[i]}, got "
                             f"{consumed[i]}")
        if pending[i] > cap or pending[i] - consumed[i] + _max_output(&it.s, m) > cap:
            raise ValueError(f"stream {i}: expected a row of length >= "
                             f"{pending[i] - consumed[i] + _max_output(&it.s, m)}, got {cap}")
    for i in range(n):
        it = <Intake>intakes[i]
        drop = consumed[i]
        keep = pending[i] - drop
        if drop and keep:
            memmove(&out[i, 0], &out[i, drop], keep * sizeof(float))
        pending[i] = keep + _process_any(&it.s, True, &frames[i, 0], m, 1, 1.0 / 32768.0,
                                         &out[i, keep], cap - keep, &bad)
