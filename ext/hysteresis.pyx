# cython: language_level=3
"""VAD hysteresis kernel (SPEC 3.2): probabilities in, speaking flags and START/END decisions out.

One kernel serves every VAD backend.  It follows the LiveKit silero plugin's rule
(``livekit/plugins/silero/vad.py``): a window is speech when its smoothed probability is
>= ``activation_threshold``, or > ``deactivation_threshold`` while speaking; speech starts after
``min_speech`` consecutive speech windows and ends after ``min_silence`` consecutive non-speech
windows.  The Pipecat ``min_volume`` gate (RMS of the window) can veto speech.  Durations arrive
as whole windows (converted once in Python); time is an int64 sample count.  On request it also
writes the raw speech/silence run lengths after each window (LiveKit's
``raw_accumulated_speech``/``raw_accumulated_silence`` in windows).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t

from _common cimport (
    EV_END_OF_SPEECH,
    EV_START_OF_SPEECH,
    WF_END,
    WF_RAW_SPEECH,
    WF_SPEAKING,
    WF_START,
)
include "_codes.pxi"

from turnengine._kernels.hysteresis_spec import check_runs_out


cdef struct HystState:
    # configuration
    int64_t window_size
    int64_t min_speech_windows
    int64_t min_silence_windows
    float activation
    float deactivation
    float alpha
    float beta          # 1 - alpha, so the smoothing stays in float arithmetic
    float min_volume
    # state
    float p_smooth
    int has_prev
    int speaking
    int64_t speech_run
    int64_t silence_run


cdef int64_t _process(HystState* s, const float* probs, const float* rms, int64_t n,
                      int64_t start_sample, uint8_t* flags, float* smoothed,
                      int32_t* ev_code, int64_t* ev_sample, int64_t* ev_aux,
                      int64_t* runs) noexcept nogil:
    # The caller guarantees room for n events (at most one START or END per window), and for
    # 2 n run lengths when ``runs`` is not NULL.
    cdef int64_t i, n_ev = 0, t
    cdef float p
    cdef int speech
    cdef uint8_t f
    for i in range(n):
        p = probs[i]
        if s.alpha > 0.0 and s.has_prev:
            p = s.alpha * s.p_smooth + s.beta * p
        s.p_smooth = p
        s.has_prev = 1
        smoothed[i] = p
        speech = p >= s.activation or (s.speaking and p > s.deactivation)
        if speech and rms != NULL and rms[i] < s.min_volume:
            speech = 0
        t = start_sample + (i + 1) * s.window_size
        f = 0
        if speech:
            f |= WF_RAW_SPEECH
            s.speech_run += 1
            s.silence_run = 0
            if not s.speaking and s.speech_run >= s.min_speech_windows:
                s.speaking = 1
                f |= WF_START
                ev_code[n_ev] = EV_START_OF_SPEECH
                ev_sample[n_ev] = t
                ev_aux[n_ev] = t - s.speech_run * s.window_size
                n_ev += 1
        else:
            s.silence_run += 1
            s.speech_run = 0
            if s.speaking and s.silence_run >= s.min_silence_windows:
                s.speaking = 0
                f |= WF_END
                ev_code[n_ev] = EV_END_OF_SPEECH
                ev_sample[n_ev] = t
                ev_aux[n_ev] = t - s.silence_run * s.window_size
                n_ev += 1
        if s.speaking:
            f |= WF_SPEAKING
        flags[i] = f
        if runs != NULL:
            runs[2 * i] = s.speech_run
            runs[2 * i + 1] = s.silence_run
    return n_ev


cdef class Hysteresis:
    """Streaming VAD hysteresis over per-window speech probabilities.

    Parameters
    ----------
    window_size : int
        Samples per VAD window at the model rate (512 for Silero at 16 kHz, 160 for energy).
    activation_threshold : float
        A window with smoothed probability >= this is speech (LiveKit default 0.5).
    deactivation_threshold : float
        While speaking, a window stays speech while its probability is > this.
    min_speech_windows, min_silence_windows : int
        Consecutive windows needed to start / end a speech segment (>= 1).
    smoothing_alpha : float
        ``p = alpha * p_prev + (1 - alpha) * p_raw``; 0 disables smoothing.
    min_volume : float
        Pipecat-style RMS gate in [0, 1]; windows quieter than this are not speech (0 = off).

    Raises
    ------
    ValueError
        If a count is < 1, the window size is < 1, or a threshold/alpha is outside [0, 1].
    """

    cdef HystState s
    # Scratch arrays bound once by bind(); step() runs on them without acquiring buffers.
    cdef const float[::1] _probs
    cdef const float[::1] _rms
    cdef uint8_t[::1] _flags
    cdef float[::1] _smoothed
    cdef int32_t[::1] _code
    cdef int64_t[::1] _sample
    cdef int64_t[::1] _aux
    cdef int64_t[:, ::1] _runs
    cdef bint _has_runs
    cdef int64_t _cap

    def __init__(self, int window_size, float activation_threshold, float deactivation_threshold,
                 long long min_speech_windows, long long min_silence_windows,
                 float smoothing_alpha, float min_volume=0.0):
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        self.s.window_size = window_size
        self.configure(activation_threshold, deactivation_threshold, min_speech_windows,
                       min_silence_windows, smoothing_alpha, min_volume)
        self._cap = -1
        self._has_runs = False
        self.reset()

    def configure(self, float activation_threshold, float deactivation_threshold,
                  long long min_speech_windows, long long min_silence_windows,
                  float smoothing_alpha, float min_volume=0.0):
        """Change every threshold and duration, keeping the running state (speaking, runs,
        smoothed probability): the next window is decided by the new values.

        Parameters are those of the constructor.

        Raises
        ------
        ValueError
            As the constructor (nothing changes then).
        """
        if min_speech_windows < 1 or min_silence_windows < 1:
            raise ValueError(
                "min_speech_windows and min_silence_windows must be >= 1, got "
                f"{min_speech_windows} and {min_silence_windows}")
        for name, v in (("activation_threshold", activation_threshold),
                        ("deactivation_threshold", deactivation_threshold),
                        ("smoothing_alpha", smoothing_alpha), ("min_volume", min_volume)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        self.s.min_speech_windows = min_speech_windows
        self.s.min_silence_windows = min_silence_windows
        self.s.activation = activation_threshold
        self.s.deactivation = deactivation_threshold
        self.s.alpha = smoothing_alpha
        self.s.beta = <float>1.0 - self.s.alpha
        self.s.min_volume = min_volume

    def restore(self, float smoothed, bint speaking, long long speech_run,
                long long silence_run):
        """Set the running state to what it was after some window: its smoothed probability,
        ``SPEAKING`` flag and run lengths (``smoothed_out``, ``flags_out``, ``runs_out`` of that
        window), so later windows can be decided again (with new options).

        Raises
        ------
        ValueError
            A negative run, or ``smoothed`` outside [0, 1] (nothing changes then).
        """
        if speech_run < 0 or silence_run < 0:
            raise ValueError(f"expected runs >= 0, got {speech_run} and {silence_run}")
        if not 0.0 <= smoothed <= 1.0:
            raise ValueError(f"smoothed must be in [0, 1], got {smoothed}")
        self.s.p_smooth = smoothed
        self.s.has_prev = 1
        self.s.speaking = speaking
        self.s.speech_run = speech_run
        self.s.silence_run = silence_run

    def reset(self):
        """Forget all state: not speaking, no smoothing history."""
        self.s.p_smooth = 0.0
        self.s.has_prev = 0
        self.s.speaking = 0
        self.s.speech_run = 0
        self.s.silence_run = 0

    def force_silence(self):
        """End a published speech segment now (the audio stopped: SPEC 2 stall watchdog).

        Returns
        -------
        bool
            True when the state was speaking.  The runs restart, so the next window counts from
            silence; smoothing keeps its history.
        """
        cdef bint was = self.s.speaking
        self.s.speaking = 0
        self.s.speech_run = 0
        self.s.silence_run = 0
        return was

    @property
    def speaking(self):
        """bool: the published speaking state."""
        return bool(self.s.speaking)

    @property
    def speech_run(self):
        """int: consecutive speech windows so far."""
        return self.s.speech_run

    @property
    def silence_run(self):
        """int: consecutive non-speech windows so far."""
        return self.s.silence_run

    @property
    def window_size(self):
        return self.s.window_size

    def process(self, const float[::1] probs, rms, long long start_sample,
                uint8_t[::1] flags_out, float[::1] smoothed_out, int32_t[::1] ev_code,
                int64_t[::1] ev_sample, int64_t[::1] ev_aux, runs_out=None):
        """Run the hysteresis over ``n`` windows.

        Parameters
        ----------
        probs : float32 array, shape (n,)
            Raw speech probability of each window, in [0, 1].
        rms : float32 array of shape (n,), or None
            RMS level of each window, used only when ``min_volume > 0``.
        start_sample : int
            Engine clock (model-rate samples) at the start of the first window; window ``i`` is
            decided at ``start_sample + (i + 1) * window_size``.
        flags_out : uint8 array, shape (>= n,)
            Receives ``WindowFlag`` bits per window.
        smoothed_out : float32 array, shape (>= n,)
            Receives the smoothed probability per window.
        ev_code, ev_sample, ev_aux : int32 / int64 / int64 arrays, shape (>= capacity,)
            Receive START_OF_SPEECH/END_OF_SPEECH codes, decision samples and back-dated
            boundary samples.
        runs_out : int64 array of shape (>= n, 2), optional
            Receives, per window, the raw speech and silence run lengths (in windows) after it:
            ``runs_out[i] = (speech_run, silence_run)`` as the properties read after window
            ``i``.  One of the two is 0; the other counts the consecutive windows with the same
            ``RAW_SPEECH`` flag up to window ``i`` (since the last :meth:`force_silence` or
            :meth:`reset`).

        Returns
        -------
        int
            Number of events written.

        Raises
        ------
        TypeError
            If ``runs_out`` is given but is not an int64 numpy array.
        ValueError
            If an output array (events included) is shorter than ``n``, or ``runs_out`` is not
            a writable C-contiguous array of shape (>= n, 2) (state unchanged).
        """
        cdef int64_t n = probs.shape[0]
        cdef int64_t cap = min(ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0])
        cdef const float[::1] rms_v
        cdef const float* rms_p = NULL
        cdef int64_t[:, ::1] runs_v
        cdef int64_t* runs_p = NULL
        cdef int64_t n_ev
        if flags_out.shape[0] < n or smoothed_out.shape[0] < n:
            raise ValueError(f"expected flags_out and smoothed_out of length >= {n}, got "
                             f"{flags_out.shape[0]} and {smoothed_out.shape[0]}")
        # At most one START or END per window, so n event slots always suffice.
        if cap < n:
            raise ValueError(f"expected event arrays of length >= {n}, got {cap}")
        if rms is None and self.s.min_volume > 0.0:
            raise ValueError(f"min_volume is {self.s.min_volume}: expected the windows' rms, "
                             "got None")
        if rms is not None and self.s.min_volume > 0.0:
            rms_v = rms
            if rms_v.shape[0] < n:
                raise ValueError(f"expected rms of length >= {n}, got {rms_v.shape[0]}")
            if n > 0:
                rms_p = &rms_v[0]
        if runs_out is not None:
            runs_v = check_runs_out(runs_out, n)
            if n > 0:
                runs_p = &runs_v[0, 0]
        if n == 0:
            return 0
        with nogil:
            n_ev = _process(&self.s, &probs[0], rms_p, n, start_sample, &flags_out[0],
                            &smoothed_out[0], &ev_code[0], &ev_sample[0], &ev_aux[0], runs_p)
        return n_ev

    def bind(self, const float[::1] probs, const float[::1] rms, uint8_t[::1] flags_out,
             float[::1] smoothed_out, int32_t[::1] ev_code, int64_t[::1] ev_sample,
             int64_t[::1] ev_aux, runs_out=None):
        """Bind per-chunk scratch arrays once, for :meth:`step` (the engine's hot path).

        Parameters
        ----------
        probs, rms : float32 arrays, shape (capacity,)
            Inputs that :meth:`step` reads (``rms`` only when ``min_volume > 0``).
        flags_out, smoothed_out, ev_code, ev_sample, ev_aux : arrays, shape (>= capacity,)
            Outputs, as for :meth:`process`.
        runs_out : int64 array of shape (>= capacity, 2), optional
            Receives the run lengths per window, as for :meth:`process`; None: not written.

        Raises
        ------
        TypeError
            If ``runs_out`` is given but is not an int64 numpy array.
        ValueError
            If any array is shorter than ``probs``, or ``runs_out`` has another shape.
        """
        cdef int64_t cap = probs.shape[0]
        if min(rms.shape[0], flags_out.shape[0], smoothed_out.shape[0], ev_code.shape[0],
               ev_sample.shape[0], ev_aux.shape[0]) < cap or cap < 1:
            raise ValueError(f"expected every bound array to have length >= {cap} >= 1")
        if runs_out is not None:
            self._runs = check_runs_out(runs_out, cap)
        self._has_runs = runs_out is not None
        self._probs = probs
        self._rms = rms
        self._flags = flags_out
        self._smoothed = smoothed_out
        self._code = ev_code
        self._sample = ev_sample
        self._aux = ev_aux
        self._cap = cap

    def step(self, long long n, long long start_sample):
        """Run :meth:`process` on the first ``n`` entries of the bound arrays (and ``runs_out``
        when one was bound).

        Returns
        -------
        int
            Number of events written to the bound event arrays.

        Raises
        ------
        ValueError
            If nothing is bound or ``n`` is outside [0, capacity] (state unchanged).
        """
        cdef int64_t n_ev
        cdef const float* rms_p = NULL
        cdef int64_t* runs_p = NULL
        if self._cap < 0:
            raise ValueError("bind() the scratch arrays before step()")
        if n < 0 or n > self._cap:
            raise ValueError(f"expected 0 <= n <= {self._cap}, got {n}")
        if n == 0:
            return 0
        if self.s.min_volume > 0.0:
            rms_p = &self._rms[0]
        if self._has_runs:
            runs_p = &self._runs[0, 0]
        with nogil:
            n_ev = _process(&self.s, &self._probs[0], rms_p, n, start_sample, &self._flags[0],
                            &self._smoothed[0], &self._code[0], &self._sample[0], &self._aux[0],
                            runs_p)
        return n_ev


def step_many(list hysts, const int64_t[::1] n_win, const int64_t[::1] start_sample,
              int64_t[::1] n_events_out):
    """:meth:`Hysteresis.step` for many streams in one call (``TurnEngineGroup``).

    Parameters
    ----------
    hysts : list of Hysteresis, length n_streams
        Each bound to its own scratch arrays.
    n_win : ndarray of int64, shape (n_streams,)
        Windows to run per stream (0 skips it).
    start_sample : ndarray of int64, shape (n_streams,)
        Each stream's clock at the start of its first window.
    n_events_out : ndarray of int64, shape (n_streams,)
        Receives each stream's event count (as ``step`` returns it).

    Raises
    ------
    TypeError
        An entry of ``hysts`` is not a :class:`Hysteresis`.
    ValueError
        Mismatched lengths, or a stream not bound or asked for more windows than bound
        (checked for every stream first: nothing changes).
    """
    cdef Py_ssize_t n = len(hysts), i
    cdef Hysteresis h
    cdef const float* rms_p
    cdef int64_t* runs_p
    if n_win.shape[0] != n or start_sample.shape[0] != n or n_events_out.shape[0] != n:
        raise ValueError(f"expected n_win, start_sample and n_events_out for {n} streams, got "
                         f"{n_win.shape[0]}, {start_sample.shape[0]} and "
                         f"{n_events_out.shape[0]}")
    for i in range(n):
        h = <Hysteresis?>hysts[i]
        if n_win[i] and (h._cap < 0 or n_win[i] < 0 or n_win[i] > h._cap):
            raise ValueError(f"stream {i}: expected bound arrays and 0 <= n <= {h._cap}, got "
                             f"{n_win[i]}")
    for i in range(n):
        h = <Hysteresis>hysts[i]
        if n_win[i] == 0:
            n_events_out[i] = 0
            continue
        rms_p = &h._rms[0] if h.s.min_volume > 0.0 else NULL
        runs_p = &h._runs[0, 0] if h._has_runs else NULL
        n_events_out[i] = _process(&h.s, &h._probs[0], rms_p, n_win[i], start_sample[i],
                                   &h._flags[0], &h._smoothed[0], &h._code[0], &h._sample[0],
                                   &h._aux[0], runs_p)
