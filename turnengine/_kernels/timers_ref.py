"""Pure-Python reference twin of ``ext/timers.pyx`` (same API, same events)."""

from __future__ import annotations

import numpy as np

from .codes import AgentState, EventCode, TurnDetection, UserState, WindowFlag

MAX_EVENTS_PER_WINDOW = 8
Fired = list[tuple[int, int, int]]


class Timers:
    """Reference turn timers; see the compiled ``turnengine._kernels.timers``."""

    def __init__(self, window_size: int, endpoint_delay: int, min_interruption: int,
                 away_timeout: int, turn_detection: int, allow_interruptions: bool,
                 min_words: int = 0, aec_warmup: int = -1, false_interruption_timeout: int = -1,
                 resume_false_interruption: bool = True, predict_after: int = -1,
                 from_silence: bool = False, restart_windows: int = 1,
                 predict_interval: int = -1) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        if min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {min_words}")
        if endpoint_delay < 0 or min_interruption < 0:
            raise ValueError(
                "endpoint_delay and min_interruption must be >= 0 samples, got "
                f"{endpoint_delay} and {min_interruption}"
            )
        if restart_windows < 1:
            raise ValueError(f"restart_windows must be >= 1, got {restart_windows}")
        if turn_detection not in (TurnDetection.VAD, TurnDetection.STT, TurnDetection.MANUAL):
            raise ValueError(
                f"turn_detection must be 0 (vad), 1 (stt) or 2 (manual), got {turn_detection}"
            )
        self._w = int(window_size)
        self._delay = int(endpoint_delay)
        self._min_int = int(min_interruption)
        self._away_timeout = int(away_timeout) if away_timeout >= 0 else -1
        self._mode = int(turn_detection)
        self._allow = bool(allow_interruptions)
        self._min_words = int(min_words)
        self._aec_warmup = int(aec_warmup) if aec_warmup >= 0 else -1
        self._fi_timeout = (int(false_interruption_timeout)
                            if false_interruption_timeout >= 0 else -1)
        self._resume = bool(resume_false_interruption)
        self._predict_after = int(predict_after) if predict_after >= 0 else -1
        self._from_silence = bool(from_silence)
        self._restart = int(restart_windows)
        self._interval = int(predict_interval) if predict_interval >= 0 else -1
        self._out: Fired = []
        self._bound: tuple | None = None
        self.reset()

    def reset(self) -> None:
        self._now = 0
        self._user = UserState.LISTENING
        self._agent = AgentState.LISTENING
        self._interruptible = True
        self._endpoint_deadline = -1
        self._away_deadline = -1
        self._last_speaking = -1
        self._speech_start = -1
        self._last_voiced = -1
        self._committed_at = -1
        self._utterance_counts = False
        self._turn_open = False
        self._interrupted = False
        self._final_pending = False
        self._words = 0
        self._no_interrupt = False
        self._agent_spoke = False
        self._agent_first_speech = -1
        self._aec_until = -1
        self._interrupt_pending = False
        self._agent_before = AgentState.SPEAKING
        self._fi_deadline = -1
        self._transcripts_fed = False
        self._predicted = False
        self._asked = False
        self._asked_at = -1
        self._model_delay = -1
        self._detached = 0
        self._raw_run = 0
        self._update_away()

    now = property(lambda self: self._now)
    user_state = property(lambda self: int(self._user))
    agent_state = property(lambda self: int(self._agent))
    endpoint_deadline = property(lambda self: self._endpoint_deadline)
    away_deadline = property(lambda self: self._away_deadline)
    last_speaking = property(lambda self: self._last_speaking)
    speech_start = property(lambda self: self._speech_start)
    turn_open = property(lambda self: self._turn_open)
    interrupt_pending = property(lambda self: self._interrupt_pending)
    speech_interruptible = property(lambda self: self._interruptible)
    false_interruption_deadline = property(lambda self: self._fi_deadline)
    aec_until = property(lambda self: self._aec_until)
    endpoint_delay = property(lambda self: self._delay)
    awaiting_model = property(lambda self: self._asked)
    model_answered = property(lambda self: self._predicted and not self._asked
                              and self._model_delay >= 0)
    vad_segment_open = property(lambda self: self._detached == 1)

    # -- the same helpers as the kernel ------------------------------------------------------
    def _emit(self, code: int, t: int, aux: int) -> None:
        self._out.append((int(code), int(t), int(aux)))

    def _update_away(self) -> None:
        if (self._away_timeout >= 0 and self._user == UserState.LISTENING
                and self._agent == AgentState.LISTENING):
            if self._away_deadline < 0:
                self._away_deadline = self._now + self._away_timeout
        else:
            self._away_deadline = -1

    def _hangover_pause(self) -> bool:
        return (self._from_silence and self._mode == TurnDetection.VAD
                and self._user == UserState.SPEAKING and self._utterance_counts
                and self._committed_at < self._last_voiced < self._now)

    def _arm_endpoint(self) -> None:
        if self._user == UserState.SPEAKING:
            if not self._hangover_pause():
                return
            anchor = self._last_voiced
        elif not self._turn_open:
            return
        else:
            anchor = self._last_speaking
        if self._mode == TurnDetection.VAD:
            if (self._interrupt_pending and self._transcripts_fed and self._fi_timeout >= 0
                    and not self._final_pending):
                return
            if self._predict_after >= 0:
                if self._model_delay >= 0:
                    self._endpoint_deadline = anchor + self._model_delay
                return
            self._endpoint_deadline = anchor + self._delay
        elif self._mode == TurnDetection.STT and self._final_pending:
            self._endpoint_deadline = self._last_speaking + self._delay

    def _rearm_endpoint(self) -> None:
        self._endpoint_deadline = -1
        self._arm_endpoint()

    def _user_start(self, t: int, start: int) -> None:
        self._user = UserState.SPEAKING
        self._speech_start = start
        self._endpoint_deadline = -1
        self._interrupted = False
        if not self._turn_open:
            self._final_pending = False
        self._words = 0
        self._no_interrupt = False
        self._fi_deadline = -1
        self._predicted = False
        self._asked = False
        self._model_delay = -1
        self._utterance_counts = self._agent != AgentState.SPEAKING or self._interrupt_pending
        self._update_away()
        self._emit(EventCode.START_OF_SPEECH, t, start)

    def _user_end(self, t: int, end: int) -> None:
        self._user = UserState.LISTENING
        self._last_speaking = end
        if self._utterance_counts and self._last_voiced > self._committed_at:
            self._turn_open = True
        if self._interrupt_pending and self._fi_timeout >= 0:
            self._fi_deadline = end + self._fi_timeout
        self._emit(EventCode.END_OF_SPEECH, t, end)
        if self._predict_after >= 0 and self._turn_open and not self._predicted:
            self._ask(t, end)
        self._arm_endpoint()
        self._update_away()
        if not self._utterance_counts:
            self._emit(EventCode.USER_BACKCHANNEL, t, self._speech_start)

    def _check_interrupt(self) -> None:
        if (self._user != UserState.SPEAKING or self._agent != AgentState.SPEAKING
                or not self._allow or not self._interruptible or self._interrupted
                or self._no_interrupt or self._words < self._min_words):
            return
        start = self._speech_start
        if self._aec_until >= 0:
            if self._now < self._aec_until:
                return
            start = max(start, self._aec_until)
        if self._last_voiced - start < self._min_int:
            return
        self._interrupted = True
        self._utterance_counts = True
        self._interrupt_pending = True
        self._agent_before = self._agent
        self._agent = AgentState.LISTENING
        self._update_away()
        self._emit(EventCode.AGENT_INTERRUPTED, self._now, self._speech_start)

    def _ask(self, t: int, anchor: int) -> None:
        self._predicted = True
        self._asked = True
        self._asked_at = t
        self._emit(EventCode.EOT_PREDICT, t, anchor)

    def _voiced(self) -> None:
        self._last_voiced = self._now
        self._endpoint_deadline = -1
        if self._predicted:
            self._emit(EventCode.EOT_RESUMED, self._now, self._now)
        self._predicted = False
        self._asked = False
        self._model_delay = -1

    def _silent(self) -> None:
        if self._predict_after >= 0 and not self._asked:
            if self._user == UserState.SPEAKING:
                pending, anchor = self._utterance_counts, self._last_voiced
            else:
                pending = self._turn_open and self._user == UserState.LISTENING
                anchor = self._last_speaking
            if pending and self._now - anchor >= self._predict_after and (
                    not self._predicted
                    or (self._interval >= 0 and self._now - self._asked_at >= self._interval)):
                self._ask(self._now, anchor)
        if self._user == UserState.SPEAKING and self._endpoint_deadline < 0:
            self._arm_endpoint()

    def _check_deadlines(self) -> None:
        if self._endpoint_deadline >= 0 and self._now >= self._endpoint_deadline:
            if self._user == UserState.SPEAKING:
                # Timer from silence: the turn commits inside the VAD's hangover; the speech
                # segment ends here (the VAD's own end of it will be swallowed).
                self._detached = 1
                self._user_end(self._now, self._last_voiced)
            self._endpoint_deadline = -1
            self._turn_open = False
            self._final_pending = False
            self._interrupt_pending = False
            self._fi_deadline = -1
            self._emit(EventCode.USER_TURN_COMPLETED, self._now, self._last_speaking)
        if self._fi_deadline >= 0 and self._now >= self._fi_deadline:
            self._fi_deadline = -1
            self._interrupt_pending = False
            self._turn_open = False
            self._endpoint_deadline = -1
            if self._resume:
                self._agent = self._agent_before
                self._update_away()
                self._emit(EventCode.AGENT_FALSE_INTERRUPTION, self._now, 1 + int(self._agent))
            else:
                self._emit(EventCode.AGENT_FALSE_INTERRUPTION, self._now, 0)
        if self._away_deadline >= 0 and self._now >= self._away_deadline:
            deadline = self._away_deadline
            self._away_deadline = -1
            self._user = UserState.AWAY
            self._emit(EventCode.USER_AWAY, self._now, deadline)

    def _drain(self) -> Fired:
        out, self._out = self._out, []
        return out

    # -- hot path ----------------------------------------------------------------------------
    def _run(self, flags, hyst_aux, start_sample: int, stop_on_event: bool) -> tuple[int, int]:
        j = 0
        for i in range(flags.shape[0]):
            self._now = int(start_sample) + (i + 1) * self._w
            f = int(flags[i])
            if f & WindowFlag.START:
                self._detached = 0
                self._user_start(self._now, int(hyst_aux[j]))
                j += 1
            elif f & WindowFlag.END:
                if self._detached == 0 or self._user == UserState.SPEAKING:
                    self._user_end(self._now, int(hyst_aux[j]))
                self._detached = 0
                j += 1
            if f & WindowFlag.RAW_SPEECH:
                self._raw_run += 1
                if self._detached == 1 and self._raw_run >= self._restart:
                    self._detached = 2  # the user went on within the VAD's segment
                    self._user_start(self._now, self._now - self._raw_run * self._w)
                if self._user == UserState.SPEAKING:
                    self._voiced()
            else:
                self._raw_run = 0
                self._silent()
            self._check_interrupt()
            self._check_deadlines()
            if stop_on_event and self._out:
                return i + 1, j
        return int(flags.shape[0]), j

    def process(self, flags, hyst_aux, start_sample, ev_code, ev_sample, ev_aux) -> int:
        n = flags.shape[0]
        cap = min(ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0])
        if cap < MAX_EVENTS_PER_WINDOW * n:
            raise ValueError(
                f"expected event arrays of length >= {MAX_EVENTS_PER_WINDOW * n}, got {cap}"
            )
        if start_sample < self._now:
            raise ValueError(f"start_sample {start_sample} is before the clock {self._now}")
        n_flagged = int(((flags & (WindowFlag.START | WindowFlag.END)) != 0).sum())
        if n_flagged > hyst_aux.shape[0]:
            raise ValueError(
                f"flags mark {n_flagged} START/END windows but hyst_aux has "
                f"{hyst_aux.shape[0]} entries"
            )
        self._run(flags[:n], hyst_aux, start_sample, False)
        fired = self._drain()
        for k, (code, t, aux) in enumerate(fired):
            ev_code[k], ev_sample[k], ev_aux[k] = code, t, aux
        return len(fired)

    def bind(self, flags, hyst_aux, ev_code, ev_sample, ev_aux) -> None:
        cap = flags.shape[0]
        need = MAX_EVENTS_PER_WINDOW * cap
        if cap < 1 or hyst_aux.shape[0] < cap or min(
                ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0]) < need:
            raise ValueError(f"expected flags of length >= 1, hyst_aux of length >= {cap} and "
                             f"event arrays of length >= {need}")
        self._bound = (flags, hyst_aux, ev_code, ev_sample, ev_aux)

    def step(self, first: int, n: int, first_hyst: int, n_hyst: int, start_sample: int,
             stop_on_event: bool = True) -> tuple[int, int, int]:
        if self._bound is None:
            raise ValueError("bind() the scratch arrays before step()")
        flags, hyst_aux, code, sample, aux = self._bound
        cap = flags.shape[0]
        if not (0 <= first and 0 <= n and first + n <= cap
                and 0 <= first_hyst <= n_hyst <= cap):
            raise ValueError(f"expected 0 <= first, n, first + n <= {cap} and "
                             f"0 <= first_hyst <= n_hyst <= {cap}, got first={first}, "
                             f"n={n}, first_hyst={first_hyst}, n_hyst={n_hyst}")
        if start_sample < self._now:
            raise ValueError(f"start_sample {start_sample} is before the clock {self._now}")
        if n == 0:
            return 0, 0, 0
        window = flags[first:first + n]
        n_flagged = int(((window & (WindowFlag.START | WindowFlag.END)) != 0).sum())
        if first_hyst + n_flagged > n_hyst:
            raise ValueError(f"flags mark {n_flagged} START/END windows but only "
                             f"{n_hyst - first_hyst} hysteresis events remain")
        consumed, used = self._run(window, hyst_aux[first_hyst:], start_sample, stop_on_event)
        fired = self._drain()
        for k, (c, t, a) in enumerate(fired):
            code[k], sample[k], aux[k] = c, t, a
        return len(fired), consumed, used

    # -- host calls --------------------------------------------------------------------------
    def advance(self, n_samples: int) -> Fired:
        if n_samples < 0:
            raise ValueError(f"expected n_samples >= 0, got {n_samples}")
        target = self._now + int(n_samples)
        while True:
            due = [d for d in (self._endpoint_deadline, self._away_deadline, self._fi_deadline)
                   if 0 <= d <= target]
            if not due:
                break
            self._now = max(self._now, min(due))
            self._check_deadlines()
        self._now = max(self._now, target)
        return self._drain()

    def set_agent_state(self, state: int, interruptible: bool = True) -> Fired:
        if not 0 <= state <= 3:
            raise ValueError(f"agent state code must be 0..3, got {state}")
        if state == AgentState.SPEAKING and not self._agent_spoke:
            self._agent_spoke = True
            self._agent_first_speech = self._now
            if self._aec_warmup >= 0:
                self._aec_until = self._now + self._aec_warmup
        if state != AgentState.LISTENING and self._interrupt_pending:
            self._interrupt_pending = False
            self._fi_deadline = -1
            self._arm_endpoint()
        if (self._agent == AgentState.SPEAKING and state != AgentState.SPEAKING
                and self._user == UserState.SPEAKING and not self._no_interrupt):
            self._utterance_counts = True
        self._agent = AgentState(state)
        self._interruptible = bool(interruptible)
        self._update_away()
        self._check_interrupt()
        self._check_deadlines()
        return self._drain()

    def settle_interruption(self) -> None:
        self._interrupt_pending = False
        self._fi_deadline = -1
        self._arm_endpoint()

    def final_transcript(self) -> Fired:
        self._final_pending = True
        if self._interrupt_pending:
            self._interrupt_pending = False
            self._fi_deadline = -1
        self._arm_endpoint()
        self._check_deadlines()
        return self._drain()

    def transcripts_fed(self) -> None:
        self._transcripts_fed = True

    def set_words(self, words: int) -> Fired:
        if words < 0:
            raise ValueError(f"expected words >= 0, got {words}")
        if self._user == UserState.SPEAKING:
            self._words = int(words)
            self._check_interrupt()
        return self._drain()

    def model_answer(self, delay: int) -> Fired:
        if delay < 0:
            raise ValueError(f"expected delay >= 0 samples, got {delay}")
        if self._asked:
            self._asked = False
            self._model_delay = int(delay)
            self._arm_endpoint()
            self._check_deadlines()
        return self._drain()

    # -- configuration changed during a call (see the kernel's notes) ------------------------
    def set_endpoint_delay(self, delay: int) -> None:
        if delay < 0:
            raise ValueError(f"expected delay >= 0 samples, got {delay}")
        self._delay = int(delay)
        self._rearm_endpoint()

    def set_turn_detection(self, turn_detection: int, predict_after: int = -1) -> None:
        if turn_detection not in (TurnDetection.VAD, TurnDetection.STT, TurnDetection.MANUAL):
            raise ValueError(
                f"turn_detection must be 0 (vad), 1 (stt) or 2 (manual), got {turn_detection}"
            )
        self._mode = int(turn_detection)
        self._predict_after = int(predict_after) if predict_after >= 0 else -1
        self._rearm_endpoint()

    def set_min_interruption(self, min_interruption: int) -> None:
        if min_interruption < 0:
            raise ValueError(f"expected min_interruption >= 0 samples, got {min_interruption}")
        self._min_int = int(min_interruption)

    def set_min_words(self, min_words: int) -> None:
        if min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {min_words}")
        self._min_words = int(min_words)

    def set_allow_interruptions(self, allow_interruptions: bool) -> None:
        self._allow = bool(allow_interruptions)

    def set_away_timeout(self, away_timeout: int) -> None:
        old = self._away_timeout
        self._away_timeout = int(away_timeout) if away_timeout >= 0 else -1
        if self._away_deadline >= 0 and self._away_timeout >= 0 and old >= 0:
            self._away_deadline += self._away_timeout - old
        else:
            self._away_deadline = -1
            self._update_away()

    def set_aec_warmup(self, aec_warmup: int) -> None:
        self._aec_warmup = int(aec_warmup) if aec_warmup >= 0 else -1
        if self._agent_first_speech >= 0:
            self._aec_until = (self._agent_first_speech + self._aec_warmup
                               if self._aec_warmup >= 0 else -1)

    def set_false_interruption_timeout(self, false_interruption_timeout: int) -> None:
        old = self._fi_timeout
        self._fi_timeout = (int(false_interruption_timeout)
                            if false_interruption_timeout >= 0 else -1)
        if self._fi_timeout < 0:
            self._fi_deadline = -1
        elif self._fi_deadline >= 0 and old >= 0:
            self._fi_deadline += self._fi_timeout - old
        elif self._interrupt_pending and self._user != UserState.SPEAKING:
            self._fi_deadline = self._last_speaking + self._fi_timeout
        self._rearm_endpoint()

    def set_resume_false_interruption(self, resume_false_interruption: bool) -> None:
        self._resume = bool(resume_false_interruption)

    def set_from_silence(self, from_silence: bool) -> None:
        self._from_silence = bool(from_silence)
        self._rearm_endpoint()

    def set_predict_interval(self, predict_interval: int) -> None:
        self._interval = int(predict_interval) if predict_interval >= 0 else -1

    def set_restart_windows(self, restart_windows: int) -> None:
        if restart_windows < 1:
            raise ValueError(f"restart_windows must be >= 1, got {restart_windows}")
        self._restart = int(restart_windows)

    def mark_backchannel(self) -> bool:
        if self._user != UserState.SPEAKING or self._interrupted:
            return False
        self._no_interrupt = True
        return True

    def user_back(self) -> bool:
        if self._user != UserState.AWAY:
            return False
        self._user = UserState.LISTENING
        self._update_away()
        return True

    def force_end(self) -> Fired:
        self._detached = 0
        if self._user == UserState.SPEAKING:
            end = (self._last_voiced if self._last_voiced >= self._speech_start
                   else self._speech_start)
            self._user_end(self._now, end)
            self._check_deadlines()
        return self._drain()

    def end_for_commit(self) -> Fired:
        if self._user == UserState.SPEAKING:
            end = (self._last_voiced if self._last_voiced >= self._speech_start
                   else self._speech_start)
            self._detached = 1
            self._raw_run = 0
            self._predicted = True
            self._asked = False
            self._utterance_counts = True
            self._user_end(self._now, end)
            self._endpoint_deadline = -1
        return self._drain()

    def commit(self) -> int:
        self._endpoint_deadline = -1
        self._turn_open = False
        self._final_pending = False
        self._interrupt_pending = False
        self._fi_deadline = -1
        self._committed_at = self._now
        if self._asked:
            self._asked = False
            if self._model_delay < 0:
                self._model_delay = 0
        return self._last_speaking


def clocks(timers: list[Timers], out: np.ndarray) -> None:
    """Reference ``clocks``; see the compiled ``turnengine._kernels.timers.clocks``."""
    if out.shape[0] != len(timers):
        raise ValueError(f"expected out for {len(timers)} streams, got {out.shape[0]}")
    for i, t in enumerate(timers):
        if not isinstance(t, Timers):
            raise TypeError(f"expected Timers, got {type(t).__name__}")
        out[i] = t.now


def step_many(timers: list[Timers], n_win: np.ndarray, n_hyst: np.ndarray,
              n_events_out: np.ndarray, used_out: np.ndarray, hyst_used_out: np.ndarray) -> None:
    """Reference ``step_many``; see the compiled ``turnengine._kernels.timers.step_many``."""
    n = len(timers)
    if not all(a.shape[0] == n for a in (n_win, n_hyst, n_events_out, used_out, hyst_used_out)):
        raise ValueError(f"expected every array for {n} streams")
    for i, t in enumerate(timers):
        if not isinstance(t, Timers):
            raise TypeError(f"expected Timers, got {type(t).__name__}")
        if n_win[i] == 0:
            continue
        cap = -1 if t._bound is None else t._bound[0].shape[0]
        if cap < 0 or not (0 < n_win[i] <= cap and 0 <= n_hyst[i] <= cap):
            raise ValueError(f"stream {i}: expected bound arrays, 0 < n <= {cap} and "
                             f"0 <= n_hyst <= {cap}, got n={n_win[i]}, n_hyst={n_hyst[i]}")
        flags = t._bound[0][:n_win[i]]  # type: ignore[index]
        n_flagged = int(((flags & (WindowFlag.START | WindowFlag.END)) != 0).sum())
        if n_flagged > n_hyst[i]:
            raise ValueError(f"stream {i}: flags mark {n_flagged} START/END windows but only "
                             f"{n_hyst[i]} hysteresis events remain")
    for i, t in enumerate(timers):
        if n_win[i] == 0:
            n_events_out[i] = used_out[i] = hyst_used_out[i] = 0
            continue
        n_events_out[i], used_out[i], hyst_used_out[i] = t.step(
            0, int(n_win[i]), 0, int(n_hyst[i]), t.now)
