# cython: language_level=3
"""Turn timers on the sample clock (SPEC 4-7): endpointing, interruption and user-away deadlines.

The kernel reads the hysteresis kernel's per-window flags and START/END events, keeps the user and
agent states, and emits one time-ordered stream of event codes: the START/END events it was given,
plus ``USER_TURN_COMPLETED`` (endpointing delay expired), ``AGENT_INTERRUPTED`` (user speech long
enough while the agent speaks: from its onset to the last window the VAD called speech, so inner
pauses count but the hangover after the last voiced window does not, and a cough stays a cough) and ``USER_AWAY`` (away deadline reached) and ``USER_BACKCHANNEL`` (speech during agent speech that
ended without interrupting, so it opens no turn).  Timers are set/cancel
pairs on int64 sample deadlines, never a wall clock (LiveKit ``_set_user_away_timer`` /
``_cancel_user_away_timer``; ``audio_recognition._bounce_eou_task``), so a replay gives exactly the
events a live run gave.  During audio, deadlines are checked at each window end; during
``advance`` they fire at their exact sample.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t

from _common cimport (
    AS_LISTENING,
    AS_SPEAKING,
    EV_AGENT_FALSE_INTERRUPTION,
    EV_AGENT_INTERRUPTED,
    EV_EOT_PREDICT,
    EV_EOT_RESUMED,
    EV_END_OF_SPEECH,
    EV_START_OF_SPEECH,
    EV_USER_AWAY,
    EV_USER_BACKCHANNEL,
    EV_USER_TURN_COMPLETED,
    TD_MANUAL,
    TD_STT,
    TD_VAD,
    US_AWAY,
    US_LISTENING,
    US_SPEAKING,
    WF_END,
    WF_RAW_SPEECH,
    WF_START,
)
include "_codes.pxi"

DEF _MAX_EV = 8

#: Most events one window can produce (END, PREDICT, BACKCHANNEL, TURN, FALSE_INTERRUPTION,
#: AWAY...), with room to spare.
MAX_EVENTS_PER_WINDOW = _MAX_EV


cdef struct TimerState:
    # configuration (samples)
    int64_t window_size
    int64_t endpoint_delay
    int64_t min_interruption
    int64_t away_timeout          # < 0: disabled
    int mode
    int allow_interruptions
    int64_t min_words             # min_interruption_words (0: no word condition)
    int64_t aec_warmup            # samples; < 0: disabled
    int64_t false_int_timeout     # samples; < 0: false-interruption detection disabled
    int resume_false_interruption
    int64_t predict_after         # end-of-turn model: predict after this much silence; < 0: no model
    int from_silence              # vad mode: the endpointing delay runs from the last voiced window
    int64_t restart_windows       # voiced windows that resume speech the VAD still holds open
    int64_t predict_interval      # ask the model again this often while silent; < 0: once a pause
    # state
    int64_t now
    int user_state
    int agent_state
    int speech_interruptible
    int64_t endpoint_deadline     # < 0: not armed
    int64_t away_deadline         # < 0: not armed
    int64_t last_speaking         # back-dated end of the last speech, < 0 before any
    int64_t speech_start          # back-dated start of the current/last speech
    int64_t last_voiced           # end of the last window the VAD called speech
    int64_t committed_at          # clock of the last commit(); its speech is not a turn again
    int utterance_counts          # the current utterance belongs to a user turn
    int turn_open                 # user speech not yet committed as a turn
    int interrupted               # the current utterance already interrupted the agent
    int final_pending             # stt mode: a final transcript arrived for this utterance
    int64_t words                 # words transcribed in the current utterance
    int no_interrupt              # the host marked the current utterance a backchannel
    int agent_spoke               # the agent has started speaking at least once
    int64_t agent_first_speech    # clock of the agent's first speech (< 0: not yet)
    int64_t aec_until             # no audio interruptions before this sample (< 0: none)
    int interrupt_pending         # an interruption awaits its verdict (transcript or turn)
    int agent_before_interrupt    # agent state to resume to after a false interruption
    int64_t false_int_deadline    # < 0: not armed
    int transcripts_fed           # the host feeds transcripts (gates post-interruption turns)
    int predicted                 # an EOT prediction was requested for the current pause
    int asked                     # a prediction's answer is awaited
    int64_t asked_at              # clock of the latest request
    int64_t model_delay           # delay chosen from the model's latest answer; < 0: none yet
    int detached                  # 1: a commit ended the speech the VAD still holds open;
                                  # 2: the user went on inside that VAD segment
    int64_t raw_run               # consecutive voiced windows


cdef struct EventOut:
    int32_t* code
    int64_t* sample
    int64_t* aux
    int64_t n


cdef inline void _emit(EventOut* out, int32_t code, int64_t t, int64_t aux) noexcept nogil:
    out.code[out.n] = code
    out.sample[out.n] = t
    out.aux[out.n] = aux
    out.n += 1


cdef inline void _update_away(TimerState* s) noexcept nogil:
    # Armed exactly while (user, agent) == (listening, listening) and the option is on.
    if s.away_timeout >= 0 and s.user_state == US_LISTENING and s.agent_state == AS_LISTENING:
        if s.away_deadline < 0:
            s.away_deadline = s.now + s.away_timeout
    else:
        s.away_deadline = -1


cdef inline bint _hangover_pause(TimerState* s) noexcept nogil:
    # Timer from silence: a pause of an utterance that counts, inside the VAD's hangover.
    return (s.from_silence and s.mode == TD_VAD and s.user_state == US_SPEAKING
            and s.utterance_counts and s.committed_at < s.last_voiced < s.now)


cdef inline void _arm_endpoint(TimerState* s) noexcept nogil:
    cdef int64_t anchor
    if s.user_state == US_SPEAKING:
        if not _hangover_pause(s):
            return
        anchor = s.last_voiced
    elif not s.turn_open:
        return
    else:
        anchor = s.last_speaking
    if s.mode == TD_VAD:
        # A turn opened by an interruption waits for its transcript when the host feeds them,
        # so that a cough can still turn out to be a false interruption.
        if (s.interrupt_pending and s.transcripts_fed and s.false_int_timeout >= 0
                and not s.final_pending):
            return
        if s.predict_after >= 0:
            # With an end-of-turn model the delay is the model's: wait for its answer.
            if s.model_delay >= 0:
                s.endpoint_deadline = anchor + s.model_delay
            return
        s.endpoint_deadline = anchor + s.endpoint_delay
    elif s.mode == TD_STT and s.final_pending:
        s.endpoint_deadline = s.last_speaking + s.endpoint_delay


cdef inline void _rearm_endpoint(TimerState* s) noexcept nogil:
    # The configuration changed: the endpoint deadline is what the new one gives for the pause
    # in progress (its anchor plus the new delay; a model's delay stays), none when it holds.
    s.endpoint_deadline = -1
    _arm_endpoint(s)


cdef inline void _user_start(TimerState* s, int64_t t, int64_t start, EventOut* out) noexcept nogil:
    s.user_state = US_SPEAKING
    s.speech_start = start
    s.endpoint_deadline = -1
    s.interrupted = 0
    if not s.turn_open:
        s.final_pending = 0       # a final transcript of the turn so far still counts
    s.words = 0
    s.no_interrupt = 0
    s.false_int_deadline = -1
    s.predicted = 0
    s.asked = 0
    s.model_delay = -1
    s.utterance_counts = s.agent_state != AS_SPEAKING or s.interrupt_pending
    _update_away(s)
    _emit(out, EV_START_OF_SPEECH, t, start)


cdef inline void _ask(TimerState* s, int64_t t, int64_t anchor, EventOut* out) noexcept nogil:
    s.predicted = 1
    s.asked = 1
    s.asked_at = t
    _emit(out, EV_EOT_PREDICT, t, anchor)


cdef inline void _user_end(TimerState* s, int64_t t, int64_t end, EventOut* out) noexcept nogil:
    s.user_state = US_LISTENING
    s.last_speaking = end
    if s.utterance_counts and s.last_voiced > s.committed_at:
        # (an utterance the host committed while the VAD still said speaking, with no voice
        # after the commit, was already that turn)
        s.turn_open = 1
    if s.interrupt_pending and s.false_int_timeout >= 0:
        s.false_int_deadline = end + s.false_int_timeout
    _emit(out, EV_END_OF_SPEECH, t, end)
    if s.predict_after >= 0 and s.turn_open and not s.predicted:
        # The pause reached END before the prediction point: predict now.
        _ask(s, t, end, out)
    _arm_endpoint(s)
    _update_away(s)
    if not s.utterance_counts:
        _emit(out, EV_USER_BACKCHANNEL, t, s.speech_start)


cdef inline void _check_interrupt(TimerState* s, EventOut* out) noexcept nogil:
    cdef int64_t start = s.speech_start
    if (s.user_state != US_SPEAKING or s.agent_state != AS_SPEAKING or not s.allow_interruptions
            or not s.speech_interruptible or s.interrupted or s.no_interrupt
            or s.words < s.min_words):
        return
    if s.aec_until >= 0:
        # AEC warm-up: speech before it ends is echo as far as interruptions go.
        if s.now < s.aec_until:
            return
        if start < s.aec_until:
            start = s.aec_until
    if s.last_voiced - start < s.min_interruption:
        return
    s.interrupted = 1
    s.utterance_counts = 1
    s.interrupt_pending = 1
    s.agent_before_interrupt = s.agent_state
    s.agent_state = AS_LISTENING
    _update_away(s)
    _emit(out, EV_AGENT_INTERRUPTED, s.now, s.speech_start)


cdef inline void _fire_endpoint(TimerState* s, EventOut* out) noexcept nogil:
    s.endpoint_deadline = -1
    s.turn_open = 0
    s.final_pending = 0
    s.interrupt_pending = 0        # a committed turn makes the interruption real
    s.false_int_deadline = -1
    _emit(out, EV_USER_TURN_COMPLETED, s.now, s.last_speaking)


cdef inline void _fire_false_interruption(TimerState* s, EventOut* out) noexcept nogil:
    s.false_int_deadline = -1
    s.interrupt_pending = 0
    s.turn_open = 0                # the speech was not a turn
    s.endpoint_deadline = -1
    if s.resume_false_interruption:
        s.agent_state = s.agent_before_interrupt
        _update_away(s)
        _emit(out, EV_AGENT_FALSE_INTERRUPTION, s.now, 1 + s.agent_state)
    else:
        _emit(out, EV_AGENT_FALSE_INTERRUPTION, s.now, 0)


cdef inline void _fire_away(TimerState* s, EventOut* out) noexcept nogil:
    cdef int64_t deadline = s.away_deadline
    s.away_deadline = -1
    s.user_state = US_AWAY
    _emit(out, EV_USER_AWAY, s.now, deadline)


cdef inline void _voiced(TimerState* s, EventOut* out) noexcept nogil:
    # A voiced window of the user's utterance: any pause (and its model questions) is over.
    s.last_voiced = s.now
    s.endpoint_deadline = -1
    if s.predicted:
        _emit(out, EV_EOT_RESUMED, s.now, s.now)
    s.predicted = 0
    s.asked = 0
    s.model_delay = -1


cdef inline void _silent(TimerState* s, EventOut* out) noexcept nogil:
    # A silent window: ask the end-of-turn model (first at predict_after of silence, then every
    # predict_interval once answered) and, timer from silence, arm the endpoint in the hangover.
    cdef int pending
    cdef int64_t anchor
    if s.predict_after >= 0 and not s.asked:
        if s.user_state == US_SPEAKING:
            pending = s.utterance_counts
            anchor = s.last_voiced
        else:
            pending = s.turn_open and s.user_state == US_LISTENING
            anchor = s.last_speaking
        if pending and s.now - anchor >= s.predict_after and (
                not s.predicted
                or (s.predict_interval >= 0 and s.now - s.asked_at >= s.predict_interval)):
            _ask(s, s.now, anchor, out)
    if s.user_state == US_SPEAKING and s.endpoint_deadline < 0:
        _arm_endpoint(s)


cdef inline void _check_deadlines(TimerState* s, EventOut* out) noexcept nogil:
    if s.endpoint_deadline >= 0 and s.now >= s.endpoint_deadline:
        if s.user_state == US_SPEAKING:
            # Timer from silence: the turn commits inside the VAD's hangover, so the speech
            # segment ends here (the VAD's own end of it is swallowed).
            s.detached = 1
            _user_end(s, s.now, s.last_voiced, out)
        _fire_endpoint(s, out)
    if s.false_int_deadline >= 0 and s.now >= s.false_int_deadline:
        _fire_false_interruption(s, out)
    if s.away_deadline >= 0 and s.now >= s.away_deadline:
        _fire_away(s, out)


cdef int64_t _process(TimerState* s, const uint8_t* flags, int64_t n, int64_t start_sample,
                      const int64_t* hyst_aux, EventOut* out, int stop_on_event,
                      int64_t* hyst_used) noexcept nogil:
    # Returns the windows consumed: all n, or fewer when stop_on_event and a window emitted.
    cdef int64_t i, j = 0
    cdef uint8_t f
    for i in range(n):
        s.now = start_sample + (i + 1) * s.window_size
        f = flags[i]
        if f & WF_START:
            s.detached = 0
            _user_start(s, s.now, hyst_aux[j], out)
            j += 1
        elif f & WF_END:
            if s.detached == 0 or s.user_state == US_SPEAKING:
                _user_end(s, s.now, hyst_aux[j], out)
            s.detached = 0
            j += 1
        if f & WF_RAW_SPEECH:
            s.raw_run += 1
            if s.detached == 1 and s.raw_run >= s.restart_windows:
                s.detached = 2          # the user went on within the VAD's segment
                _user_start(s, s.now, s.now - s.raw_run * s.window_size, out)
            if s.user_state == US_SPEAKING:
                _voiced(s, out)
        else:
            s.raw_run = 0
            _silent(s, out)
        _check_interrupt(s, out)
        _check_deadlines(s, out)
        if stop_on_event and out.n > 0:
            hyst_used[0] = j
            return i + 1
    hyst_used[0] = j
    return n


cdef void _advance(TimerState* s, int64_t target, EventOut* out) noexcept nogil:
    # Fire every deadline up to target at its exact sample, earliest first.
    cdef int64_t next_t
    while True:
        next_t = -1
        if s.endpoint_deadline >= 0 and s.endpoint_deadline <= target:
            next_t = s.endpoint_deadline
        if s.away_deadline >= 0 and s.away_deadline <= target:
            if next_t < 0 or s.away_deadline < next_t:
                next_t = s.away_deadline
        if s.false_int_deadline >= 0 and s.false_int_deadline <= target:
            if next_t < 0 or s.false_int_deadline < next_t:
                next_t = s.false_int_deadline
        if next_t < 0:
            break
        if next_t > s.now:
            s.now = next_t
        _check_deadlines(s, out)
    if target > s.now:
        s.now = target


cdef class Timers:
    """Endpointing, interruption and user-away deadlines on the engine's sample clock.

    Parameters
    ----------
    window_size : int
        Samples per VAD window (the clock advances one window per flag).
    endpoint_delay : int
        ``min_endpointing_delay`` in samples, measured from the back-dated end of speech.
    min_interruption : int
        ``min_interruption_duration`` in samples of user speech, from the back-dated onset to the
        end of the last voiced window (short pauses included, the trailing hangover not).
    away_timeout : int
        ``user_away_timeout`` in samples; negative disables the away timer.
    turn_detection : int
        ``TurnDetection`` code: 0 vad, 1 stt, 2 manual.
    allow_interruptions : bool
        Whether user speech may interrupt the agent at all.
    min_words : int
        ``min_interruption_words``: transcribed words of the current utterance needed as well.
    aec_warmup : int
        ``aec_warmup_duration`` in samples from the agent's first speech; negative disables.
    false_interruption_timeout : int
        Samples after an interrupting utterance ends before, with no final transcript and no
        committed turn, the interruption is declared false; negative disables.
    resume_false_interruption : bool
        On a false interruption, return the agent to the state it had (LiveKit behaviour).
    predict_after : int
        With an end-of-turn model: samples of silence after the last voiced window at which an
        ``EOT_PREDICT`` event asks for a speculative prediction (SPEC 5: 0.2 s); the turn then
        commits only once :meth:`model_answer` gives the delay.  Negative: no model.
    from_silence : bool
        ``vad`` mode: the endpointing delay runs from the end of the last voiced window (the
        first silent window after speech, back-dated), not from the VAD's END_OF_SPEECH.  A
        turn that commits inside the VAD's hangover ends the speech segment there
        (END_OF_SPEECH, then USER_TURN_COMPLETED); the VAD's own end of that segment is
        swallowed, and ``restart_windows`` voiced windows before it resume the speech
        (START_OF_SPEECH back-dated to their onset).
    restart_windows : int
        Consecutive voiced windows that resume speech the VAD still holds open after such a
        commit (the engine passes the VAD's ``min_speech_duration`` in windows).
    predict_interval : int
        Samples between predictions while the user stays silent and the turn has not committed
        (each asked once the previous answer came); negative: one prediction a pause.

    Raises
    ------
    ValueError
        If ``window_size`` < 1, a delay is negative, or ``turn_detection`` is unknown.
    """

    cdef TimerState s
    # Scratch arrays bound once by bind(); step() runs on them without acquiring buffers.
    cdef const uint8_t[::1] _b_flags
    cdef const int64_t[::1] _b_hyst_aux
    cdef int32_t[::1] _b_code
    cdef int64_t[::1] _b_sample
    cdef int64_t[::1] _b_aux
    cdef int64_t _cap
    cdef int32_t _code[16]
    cdef int64_t _sample[16]
    cdef int64_t _aux[16]

    def __init__(self, long long window_size, long long endpoint_delay,
                 long long min_interruption, long long away_timeout, int turn_detection,
                 bint allow_interruptions, long long min_words=0, long long aec_warmup=-1,
                 long long false_interruption_timeout=-1, bint resume_false_interruption=True,
                 long long predict_after=-1, bint from_silence=False,
                 long long restart_windows=1, long long predict_interval=-1):
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        if min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {min_words}")
        if endpoint_delay < 0 or min_interruption < 0:
            raise ValueError("endpoint_delay and min_interruption must be >= 0 samples, got "
                             f"{endpoint_delay} and {min_interruption}")
        if restart_windows < 1:
            raise ValueError(f"restart_windows must be >= 1, got {restart_windows}")
        if turn_detection not in (TD_VAD, TD_STT, TD_MANUAL):
            raise ValueError(f"turn_detection must be 0 (vad), 1 (stt) or 2 (manual), "
                             f"got {turn_detection}")
        self.s.window_size = window_size
        self.s.endpoint_delay = endpoint_delay
        self.s.min_interruption = min_interruption
        self.s.away_timeout = away_timeout if away_timeout >= 0 else -1
        self.s.mode = turn_detection
        self.s.allow_interruptions = allow_interruptions
        self.s.min_words = min_words
        self.s.aec_warmup = aec_warmup if aec_warmup >= 0 else -1
        self.s.false_int_timeout = (false_interruption_timeout
                                    if false_interruption_timeout >= 0 else -1)
        self.s.resume_false_interruption = resume_false_interruption
        self.s.predict_after = predict_after if predict_after >= 0 else -1
        self.s.from_silence = from_silence
        self.s.restart_windows = restart_windows
        self.s.predict_interval = predict_interval if predict_interval >= 0 else -1
        self._cap = -1
        self.reset()

    def reset(self):
        """Clock to 0, user and agent listening, every deadline cancelled, away armed."""
        self.s.now = 0
        self.s.user_state = US_LISTENING
        self.s.agent_state = AS_LISTENING
        self.s.speech_interruptible = 1
        self.s.endpoint_deadline = -1
        self.s.away_deadline = -1
        self.s.last_speaking = -1
        self.s.speech_start = -1
        self.s.last_voiced = -1
        self.s.committed_at = -1
        self.s.utterance_counts = 0
        self.s.turn_open = 0
        self.s.interrupted = 0
        self.s.final_pending = 0
        self.s.words = 0
        self.s.no_interrupt = 0
        self.s.agent_spoke = 0
        self.s.agent_first_speech = -1
        self.s.aec_until = -1
        self.s.interrupt_pending = 0
        self.s.agent_before_interrupt = AS_SPEAKING
        self.s.false_int_deadline = -1
        self.s.transcripts_fed = 0
        self.s.predicted = 0
        self.s.asked = 0
        self.s.asked_at = -1
        self.s.model_delay = -1
        self.s.detached = 0
        self.s.raw_run = 0
        _update_away(&self.s)

    # -- read-only state -------------------------------------------------------------------
    @property
    def now(self):
        """int: the kernel clock, in samples (end of the last window, or the advanced time)."""
        return self.s.now

    @property
    def user_state(self):
        return self.s.user_state

    @property
    def agent_state(self):
        return self.s.agent_state

    @property
    def endpoint_deadline(self):
        return self.s.endpoint_deadline

    @property
    def away_deadline(self):
        return self.s.away_deadline

    @property
    def last_speaking(self):
        return self.s.last_speaking

    @property
    def speech_start(self):
        return self.s.speech_start

    @property
    def turn_open(self):
        return bool(self.s.turn_open)

    @property
    def interrupt_pending(self):
        """bool: an interruption awaits its verdict (a transcript, a turn, or the timeout)."""
        return bool(self.s.interrupt_pending)

    @property
    def false_interruption_deadline(self):
        return self.s.false_int_deadline

    @property
    def aec_until(self):
        return self.s.aec_until

    @property
    def speech_interruptible(self):
        """bool: whether the agent's speech may be interrupted (the last ``set_agent_state``)."""
        return bool(self.s.speech_interruptible)

    # -- hot path ----------------------------------------------------------------------------
    def process(self, const uint8_t[::1] flags, const int64_t[::1] hyst_aux, long long start_sample,
                int32_t[::1] ev_code, int64_t[::1] ev_sample, int64_t[::1] ev_aux):
        """Advance over ``n`` windows and emit the ordered event stream.

        Parameters
        ----------
        flags : uint8 array, shape (n,)
            ``WindowFlag`` bits from the hysteresis kernel.
        hyst_aux : int64 array, shape (n_hyst_events,)
            Back-dated boundary sample of each hysteresis START/END event, in order.
        start_sample : int
            Clock at the start of the first window (samples).
        ev_code, ev_sample, ev_aux : int32 / int64 / int64 arrays, shape (>= 6 * n,)
            Receive event codes, decision samples and auxiliary samples.

        Returns
        -------
        int
            Number of events written.

        Raises
        ------
        ValueError
            If the output arrays are too short, the START/END flags outnumber ``hyst_aux``, or
            ``start_sample`` is before the clock (state unchanged).
        """
        cdef int64_t n = flags.shape[0], i, n_flagged = 0
        cdef int64_t cap = min(ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0])
        cdef EventOut out
        if cap < _MAX_EV * n:
            raise ValueError(f"expected event arrays of length >= {_MAX_EV * n}, "
                             f"got {cap}")
        if start_sample < self.s.now:
            raise ValueError(f"start_sample {start_sample} is before the clock {self.s.now}")
        for i in range(n):
            if flags[i] & (WF_START | WF_END):
                n_flagged += 1
        if n_flagged > hyst_aux.shape[0]:
            raise ValueError(f"flags mark {n_flagged} START/END windows but hyst_aux has "
                             f"{hyst_aux.shape[0]} entries")
        if n == 0:
            return 0
        out.code = &ev_code[0]
        out.sample = &ev_sample[0]
        out.aux = &ev_aux[0]
        out.n = 0
        cdef int64_t used = 0
        with nogil:
            _process(&self.s, &flags[0], n, start_sample,
                     &hyst_aux[0] if hyst_aux.shape[0] > 0 else NULL, &out, 0, &used)
        return out.n

    def bind(self, const uint8_t[::1] flags, const int64_t[::1] hyst_aux, int32_t[::1] ev_code,
             int64_t[::1] ev_sample, int64_t[::1] ev_aux):
        """Bind per-chunk arrays once, for :meth:`step` (the engine's hot path).

        Parameters
        ----------
        flags, hyst_aux : uint8 / int64 arrays, shape (capacity,)
            The hysteresis kernel's bound flag and event-aux outputs.
        ev_code, ev_sample, ev_aux : arrays, shape (>= 6 * capacity,)
            Outputs, as for :meth:`process`.

        Raises
        ------
        ValueError
            If an array is too short.
        """
        cdef int64_t cap = flags.shape[0]
        if cap < 1 or hyst_aux.shape[0] < cap or min(
                ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0]) < _MAX_EV * cap:
            raise ValueError(f"expected flags of length >= 1, hyst_aux of length >= {cap} and "
                             f"event arrays of length >= {_MAX_EV * cap}")
        self._b_flags = flags
        self._b_hyst_aux = hyst_aux
        self._b_code = ev_code
        self._b_sample = ev_sample
        self._b_aux = ev_aux
        self._cap = cap

    def step(self, long long first, long long n, long long first_hyst, long long n_hyst,
             long long start_sample, bint stop_on_event=True):
        """Run windows ``first .. first + n`` of the bound arrays (the engine's hot path).

        With ``stop_on_event`` it stops after the first window that emits any event, so the
        caller can deliver those events, and let host calls made in reaction take effect, with
        the clock exactly at that window's end before going on.

        Parameters
        ----------
        first, n : int
            First window (index into the bound flags) and how many windows at most.
        first_hyst, n_hyst : int
            Next unused entry of the bound ``hyst_aux``, and how many entries it holds.
        start_sample : int
            Clock at the start of window ``first``.
        stop_on_event : bool
            Stop after the first window that emitted.

        Returns
        -------
        (int, int, int)
            Events written (from index 0 of the bound event arrays), windows consumed, and
            ``hyst_aux`` entries consumed.

        Raises
        ------
        ValueError
            Nothing bound, a range outside the bound arrays, START/END flags that outnumber the
            remaining ``hyst_aux`` entries, or ``start_sample`` before the clock (state
            unchanged).
        """
        cdef EventOut out
        cdef int64_t i, n_flagged = 0, consumed = 0, used = 0
        if self._cap < 0:
            raise ValueError("bind() the scratch arrays before step()")
        if not (0 <= first <= self._cap and 0 <= n <= self._cap - first  # (no int64 overflow)
                and 0 <= first_hyst <= n_hyst <= self._cap):
            raise ValueError(f"expected 0 <= first, n, first + n <= {self._cap} and "
                             f"0 <= first_hyst <= n_hyst <= {self._cap}, got first={first}, "
                             f"n={n}, first_hyst={first_hyst}, n_hyst={n_hyst}")
        if start_sample < self.s.now:
            raise ValueError(f"start_sample {start_sample} is before the clock {self.s.now}")
        if n == 0:
            return 0, 0, 0
        for i in range(first, first + n):
            if self._b_flags[i] & (WF_START | WF_END):
                n_flagged += 1
        if first_hyst + n_flagged > n_hyst:
            raise ValueError(f"flags mark {n_flagged} START/END windows but only "
                             f"{n_hyst - first_hyst} hysteresis events remain")
        out.code = &self._b_code[0]
        out.sample = &self._b_sample[0]
        out.aux = &self._b_aux[0]
        out.n = 0
        with nogil:
            consumed = _process(&self.s, &self._b_flags[first], n, start_sample,
                                &self._b_hyst_aux[first_hyst], &out, stop_on_event, &used)
        return out.n, consumed, used

    # -- host calls (rare; small Python lists are fine here) ---------------------------------
    cdef list _drain(self, EventOut* out):
        return [(int(out.code[i]), out.sample[i], out.aux[i]) for i in range(out.n)]

    cdef void _out(self, EventOut* out):
        out.code = &self._code[0]
        out.sample = &self._sample[0]
        out.aux = &self._aux[0]
        out.n = 0

    def advance(self, long long n_samples):
        """Move the clock ``n_samples`` forward with no audio; fire due deadlines exactly.

        Returns
        -------
        list of (code, sample, aux) tuples
            The events fired, in time order.

        Raises
        ------
        ValueError
            If ``n_samples`` is negative.
        """
        cdef EventOut out
        if n_samples < 0:
            raise ValueError(f"expected n_samples >= 0, got {n_samples}")
        self._out(&out)
        _advance(&self.s, self.s.now + n_samples, &out)
        return self._drain(&out)

    def set_agent_state(self, int state, bint interruptible=True):
        """Set the agent state (``AgentState`` code) and whether its speech is interruptible.

        Returns
        -------
        list of (code, sample, aux) tuples
            Events fired by the change (an interruption when the user already speaks long
            enough).
        """
        cdef EventOut out
        if not 0 <= state <= 3:
            raise ValueError(f"agent state code must be 0..3, got {state}")
        self._out(&out)
        if state == AS_SPEAKING and not self.s.agent_spoke:
            self.s.agent_spoke = 1
            self.s.agent_first_speech = self.s.now
            if self.s.aec_warmup >= 0:
                self.s.aec_until = self.s.now + self.s.aec_warmup
        if state != AS_LISTENING and self.s.interrupt_pending:
            # The host moved on (a new reply): the interruption is no longer in question.
            self.s.interrupt_pending = 0
            self.s.false_int_deadline = -1
            _arm_endpoint(&self.s)
        if (self.s.agent_state == AS_SPEAKING and state != AS_SPEAKING
                and self.s.user_state == US_SPEAKING and not self.s.no_interrupt):
            # The agent stopped while the user talks on: the utterance is the user's turn.
            self.s.utterance_counts = 1
        self.s.agent_state = state
        self.s.speech_interruptible = interruptible
        _update_away(&self.s)
        _check_interrupt(&self.s, &out)
        _check_deadlines(&self.s, &out)
        return self._drain(&out)

    def settle_interruption(self):
        """A user turn committed another way (typed input): a pending interruption is real."""
        self.s.interrupt_pending = 0
        self.s.false_int_deadline = -1
        _arm_endpoint(&self.s)

    def final_transcript(self):
        """A non-empty final transcript arrived.

        In ``stt`` mode it opens the endpoint decision; after an interruption it makes the
        interruption real (cancelling the false-interruption timer) and, in ``vad`` mode with
        transcripts fed, releases the held turn.

        Returns
        -------
        list of (code, sample, aux) tuples
            A ``USER_TURN_COMPLETED`` when the delay has already passed.
        """
        cdef EventOut out
        self._out(&out)
        self.s.final_pending = 1
        if self.s.interrupt_pending:
            # A non-empty final transcript makes the interruption real.
            self.s.interrupt_pending = 0
            self.s.false_int_deadline = -1
        _arm_endpoint(&self.s)
        _check_deadlines(&self.s, &out)
        return self._drain(&out)

    def transcripts_fed(self):
        """The host feeds transcripts: post-interruption turns then wait for one (vad mode)."""
        self.s.transcripts_fed = 1

    def set_words(self, long long words):
        """Words transcribed so far in the current user utterance (``min_interruption_words``).

        Returns
        -------
        list of (code, sample, aux) tuples
            An ``AGENT_INTERRUPTED`` when the words complete the interruption condition.
        """
        cdef EventOut out
        if words < 0:
            raise ValueError(f"expected words >= 0, got {words}")
        self._out(&out)
        if self.s.user_state == US_SPEAKING:
            self.s.words = words
            _check_interrupt(&self.s, &out)
        return self._drain(&out)

    def model_answer(self, long long delay):
        """The end-of-turn model answered the latest request: commit at the pause's start + delay.

        The pause starts at the back-dated end of speech (the last voiced window).  With
        ``predict_interval`` the model is asked again while the user stays silent and each
        answer replaces the last: a "likely" answer after an "unlikely" one moves the commit
        earlier (at once when its time has passed), an "unlikely" one later.  An answer with
        no request awaiting it is ignored.

        Parameters
        ----------
        delay : int
            Samples: ``min_endpointing_delay`` when the turn is likely complete, else
            ``max_endpointing_delay`` (chosen by the caller from the probability).

        Returns
        -------
        list of (code, sample, aux) tuples
            ``USER_TURN_COMPLETED`` when that time has already passed (the answer came late).
        """
        cdef EventOut out
        if delay < 0:
            raise ValueError(f"expected delay >= 0 samples, got {delay}")
        self._out(&out)
        if self.s.asked:
            self.s.asked = 0
            self.s.model_delay = delay
            _arm_endpoint(&self.s)
            _check_deadlines(&self.s, &out)
        return self._drain(&out)


    @property
    def endpoint_delay(self):
        return self.s.endpoint_delay

    # -- configuration changed during a call (TurnEngine.update_options) ----------------------
    # Each setter applies from the next window (or advance); none fires an event by itself.  A
    # changed delay moves the pending deadline it governs to that deadline's anchor plus the new
    # delay (firing at the next window, or at once in advance, when that time has passed).

    def set_endpoint_delay(self, long long delay):
        """Change ``min_endpointing_delay`` (samples): for dynamic endpointing and live options.

        A pending endpoint deadline set from the fixed delay moves to the back-dated end of
        speech (or last voiced window) plus ``delay``; one the end-of-turn model's answer set
        stays.
        """
        if delay < 0:
            raise ValueError(f"expected delay >= 0 samples, got {delay}")
        self.s.endpoint_delay = delay
        _rearm_endpoint(&self.s)

    def set_turn_detection(self, int turn_detection, long long predict_after=-1):
        """Change the ``TurnDetection`` mode (and the model's ``predict_after``, samples, or -1).

        The pending endpoint decision is re-armed under the new mode: ``manual`` cancels it,
        ``stt`` waits for a final transcript, ``vad`` arms it from the end of speech.
        """
        if turn_detection not in (TD_VAD, TD_STT, TD_MANUAL):
            raise ValueError(f"turn_detection must be 0 (vad), 1 (stt) or 2 (manual), "
                             f"got {turn_detection}")
        self.s.mode = turn_detection
        self.s.predict_after = predict_after if predict_after >= 0 else -1
        _rearm_endpoint(&self.s)

    def set_min_interruption(self, long long min_interruption):
        """Change ``min_interruption_duration`` (samples, >= 0); checked at the next window."""
        if min_interruption < 0:
            raise ValueError(f"expected min_interruption >= 0 samples, got {min_interruption}")
        self.s.min_interruption = min_interruption

    def set_min_words(self, long long min_words):
        """Change ``min_interruption_words`` (>= 0); checked at the next window."""
        if min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {min_words}")
        self.s.min_words = min_words

    def set_allow_interruptions(self, bint allow_interruptions):
        """Change ``allow_interruptions``; checked at the next window."""
        self.s.allow_interruptions = allow_interruptions

    def set_away_timeout(self, long long away_timeout):
        """Change ``user_away_timeout`` (samples; negative disables).

        A pending away deadline keeps its start (when user and agent both became listening)
        and moves to that start plus the new timeout; a timer enabled while both are listening
        starts now.
        """
        cdef int64_t old = self.s.away_timeout
        self.s.away_timeout = away_timeout if away_timeout >= 0 else -1
        if self.s.away_deadline >= 0 and self.s.away_timeout >= 0 and old >= 0:
            self.s.away_deadline += self.s.away_timeout - old
        else:
            self.s.away_deadline = -1
            _update_away(&self.s)

    def set_aec_warmup(self, long long aec_warmup):
        """Change ``aec_warmup_duration`` (samples; negative disables): the warm-up still counts
        from the agent's first speech, if it has started."""
        self.s.aec_warmup = aec_warmup if aec_warmup >= 0 else -1
        if self.s.agent_first_speech >= 0:
            self.s.aec_until = (self.s.agent_first_speech + self.s.aec_warmup
                                if self.s.aec_warmup >= 0 else -1)

    def set_false_interruption_timeout(self, long long false_interruption_timeout):
        """Change ``false_interruption_timeout`` (samples; negative disables).

        A pending false-interruption deadline moves to the end of the interrupting speech plus
        the new timeout (disabling cancels it: the interruption then waits for a transcript, a
        turn or the agent); an interruption already over when the timer is enabled gets one.
        The endpoint decision is re-armed (a turn held for a transcript may be released).
        """
        cdef int64_t old = self.s.false_int_timeout
        self.s.false_int_timeout = (false_interruption_timeout
                                    if false_interruption_timeout >= 0 else -1)
        if self.s.false_int_timeout < 0:
            self.s.false_int_deadline = -1
        elif self.s.false_int_deadline >= 0 and old >= 0:
            self.s.false_int_deadline += self.s.false_int_timeout - old
        elif self.s.interrupt_pending and self.s.user_state != US_SPEAKING:
            self.s.false_int_deadline = self.s.last_speaking + self.s.false_int_timeout
        _rearm_endpoint(&self.s)

    def set_resume_false_interruption(self, bint resume_false_interruption):
        """Change ``resume_false_interruption``."""
        self.s.resume_false_interruption = resume_false_interruption

    def set_from_silence(self, bint from_silence):
        """Change where the endpointing delay starts (``endpointing_start``); the pending
        endpoint decision is re-armed from the new anchor."""
        self.s.from_silence = from_silence
        _rearm_endpoint(&self.s)

    def set_predict_interval(self, long long predict_interval):
        """Change ``eot_prediction_interval`` (samples; negative: one prediction a pause)."""
        self.s.predict_interval = predict_interval if predict_interval >= 0 else -1

    def set_restart_windows(self, long long restart_windows):
        """Change the voiced windows that resume speech after a commit in the hangover (>= 1)."""
        if restart_windows < 1:
            raise ValueError(f"restart_windows must be >= 1, got {restart_windows}")
        self.s.restart_windows = restart_windows

    @property
    def awaiting_model(self):
        """bool: a prediction was requested and its answer has not come."""
        return bool(self.s.asked)

    @property
    def model_answered(self):
        """bool: the model answered for the current pause (no speech since it was asked)."""
        return bool(self.s.predicted and not self.s.asked and self.s.model_delay >= 0)

    @property
    def vad_segment_open(self):
        """bool: a commit ended the user's speech while the VAD still holds its segment open
        (timer from silence); the VAD's end of it will be swallowed."""
        return self.s.detached == 1

    def mark_backchannel(self):
        """The host says the current user utterance is a backchannel: it will not interrupt.

        Returns
        -------
        bool
            True when a user utterance was in progress (and had not interrupted yet).
        """
        if self.s.user_state != US_SPEAKING or self.s.interrupted:
            return False
        self.s.no_interrupt = 1
        return True

    def user_back(self):
        """Leave ``away`` for ``listening`` (a final transcript from an away user).

        Returns
        -------
        bool
            True when the user was away.
        """
        if self.s.user_state != US_AWAY:
            return False
        self.s.user_state = US_LISTENING
        _update_away(&self.s)
        return True

    def force_end(self):
        """End the user's utterance now, as if the VAD had (SPEC 2 audio-stall watchdog).

        The back-dated end is the end of the last voiced window.

        Returns
        -------
        list of (code, sample, aux) tuples
            ``END_OF_SPEECH`` (and what follows it: backchannel, prediction request, a turn whose
            delay has passed); empty when the user was not speaking.
        """
        cdef EventOut out
        cdef int64_t end
        self._out(&out)
        self.s.detached = 0
        if self.s.user_state == US_SPEAKING:
            end = self.s.last_voiced if self.s.last_voiced >= self.s.speech_start else \
                self.s.speech_start
            _user_end(&self.s, self.s.now, end, &out)
            _check_deadlines(&self.s, &out)
        return self._drain(&out)

    def end_for_commit(self):
        """The host commits the turn while the user is speaking: end the utterance here first.

        The back-dated end is the end of the last voiced window; the VAD still holds the
        segment open, so its own end of it is swallowed, and ``restart_windows`` voiced windows
        after this start a new utterance (as after a turn the silence timer committed inside
        the hangover).  No end-of-turn question is asked and no deadline fires: the caller
        commits next (:meth:`commit`).

        Returns
        -------
        list of (code, sample, aux) tuples
            ``END_OF_SPEECH`` (the utterance is a turn, even one over the agent's speech); empty
            when the user was not speaking.
        """
        cdef EventOut out
        cdef int64_t end
        self._out(&out)
        if self.s.user_state == US_SPEAKING:
            end = self.s.last_voiced if self.s.last_voiced >= self.s.speech_start else \
                self.s.speech_start
            self.s.detached = 1
            self.s.raw_run = 0
            self.s.predicted = 1       # the commit answers the question: none is asked
            self.s.asked = 0
            self.s.utterance_counts = 1  # the host commits it: a turn, never a backchannel
            _user_end(&self.s, self.s.now, end, &out)
            self.s.endpoint_deadline = -1
        return self._drain(&out)

    def commit(self):
        """Commit the user turn now (``commit_user_turn``): cancel the pending endpoint decision.

        The speech committed is not a turn again: if the VAD still says speaking (its hangover)
        and no voice comes after the commit, the end of that speech opens no turn.  A model
        question in flight is settled (``awaiting_model`` becomes False).

        Returns
        -------
        int
            The back-dated end of the last speech, or -1 when the user never spoke.
        """
        self.s.endpoint_deadline = -1
        self.s.turn_open = 0
        self.s.final_pending = 0
        self.s.interrupt_pending = 0
        self.s.false_int_deadline = -1
        self.s.committed_at = self.s.now
        if self.s.asked:
            self.s.asked = 0        # the commit settled the question: an answer is not awaited
            if self.s.model_delay < 0:
                self.s.model_delay = 0
        return self.s.last_speaking


def clocks(list timers, int64_t[::1] out):
    """Each stream's clock (:attr:`Timers.now`) into ``out`` (int64, shape (n_streams,))."""
    cdef Py_ssize_t n = len(timers), i
    if out.shape[0] != n:
        raise ValueError(f"expected out for {n} streams, got {out.shape[0]}")
    for i in range(n):
        out[i] = (<Timers?>timers[i]).s.now


def step_many(list timers, const int64_t[::1] n_win, const int64_t[::1] n_hyst,
              int64_t[::1] n_events_out, int64_t[::1] used_out, int64_t[::1] hyst_used_out):
    """:meth:`Timers.step` from window 0 at each stream's clock, for many streams in one call.

    Each stream stops after its first window that emits, as ``step`` does; the caller hands
    those events on and steps that stream on alone.

    Parameters
    ----------
    timers : list of Timers, length n_streams
        Each bound to its own arrays.
    n_win, n_hyst : ndarray of int64, shape (n_streams,)
        Windows to run (0 skips the stream) and the hysteresis events they hold.
    n_events_out, used_out, hyst_used_out : ndarray of int64, shape (n_streams,)
        Receive what ``step`` returns: events written, windows used, hysteresis events used.

    Raises
    ------
    TypeError
        An entry of ``timers`` is not a :class:`Timers`.
    ValueError
        Mismatched lengths, a stream not bound or asked for more windows than bound, or START/
        END flags that outnumber its hysteresis events (checked for every stream first:
        nothing changes).
    """
    cdef Py_ssize_t n = len(timers), i
    cdef int64_t j, n_flagged, used = 0
    cdef Timers t
    cdef EventOut out
    if (n_win.shape[0] != n or n_hyst.shape[0] != n or n_events_out.shape[0] != n
            or used_out.shape[0] != n or hyst_used_out.shape[0] != n):
        raise ValueError(f"expected every array for {n} streams")
    for i in range(n):
        t = <Timers?>timers[i]
        if n_win[i] == 0:
            continue
        if t._cap < 0 or not (0 < n_win[i] <= t._cap and 0 <= n_hyst[i] <= t._cap):
            raise ValueError(f"stream {i}: expected bound arrays, 0 < n <= {t._cap} and "
                             f"0 <= n_hyst <= {t._cap}, got n={n_win[i]}, n_hyst={n_hyst[i]}")
        n_flagged = 0
        for j in range(n_win[i]):
            if t._b_flags[j] & (WF_START | WF_END):
                n_flagged += 1
        if n_flagged > n_hyst[i]:
            raise ValueError(f"stream {i}: flags mark {n_flagged} START/END windows but only "
                             f"{n_hyst[i]} hysteresis events remain")
    for i in range(n):
        t = <Timers>timers[i]
        if n_win[i] == 0:
            n_events_out[i] = used_out[i] = hyst_used_out[i] = 0
            continue
        out.code = &t._b_code[0]
        out.sample = &t._b_sample[0]
        out.aux = &t._b_aux[0]
        out.n = 0
        used = 0
        used_out[i] = _process(&t.s, &t._b_flags[0], n_win[i], t.s.now, &t._b_hyst_aux[0],
                               &out, True, &used)
        n_events_out[i] = out.n
        hyst_used_out[i] = used
