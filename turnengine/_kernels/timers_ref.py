"""Pure-Python reference twin of ``ext/timers.pyx`` (same API, same events)."""

from __future__ import annotations

from .codes import AgentState, EventCode, TurnDetection, UserState, WindowFlag

MAX_EVENTS_PER_WINDOW = 4
Fired = list[tuple[int, int, int]]


class Timers:
    """Reference turn timers; see the compiled ``turnengine._kernels.timers``."""

    def __init__(self, window_size: int, endpoint_delay: int, min_interruption: int,
                 away_timeout: int, turn_detection: int, allow_interruptions: bool) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        if endpoint_delay < 0 or min_interruption < 0:
            raise ValueError(
                "endpoint_delay and min_interruption must be >= 0 samples, got "
                f"{endpoint_delay} and {min_interruption}"
            )
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
        self._utterance_counts = False
        self._turn_open = False
        self._interrupted = False
        self._final_pending = False
        self._update_away()

    now = property(lambda self: self._now)
    user_state = property(lambda self: int(self._user))
    agent_state = property(lambda self: int(self._agent))
    endpoint_deadline = property(lambda self: self._endpoint_deadline)
    away_deadline = property(lambda self: self._away_deadline)
    last_speaking = property(lambda self: self._last_speaking)
    speech_start = property(lambda self: self._speech_start)
    turn_open = property(lambda self: self._turn_open)

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

    def _arm_endpoint(self) -> None:
        if not self._turn_open or self._user == UserState.SPEAKING:
            return
        if self._mode == TurnDetection.VAD or (
            self._mode == TurnDetection.STT and self._final_pending
        ):
            self._endpoint_deadline = self._last_speaking + self._delay

    def _user_start(self, t: int, start: int) -> None:
        self._user = UserState.SPEAKING
        self._speech_start = start
        self._endpoint_deadline = -1
        self._interrupted = False
        self._final_pending = False
        self._utterance_counts = self._agent != AgentState.SPEAKING
        self._update_away()
        self._emit(EventCode.START_OF_SPEECH, t, start)

    def _user_end(self, t: int, end: int) -> None:
        self._user = UserState.LISTENING
        self._last_speaking = end
        if self._utterance_counts:
            self._turn_open = True
        self._arm_endpoint()
        self._update_away()
        self._emit(EventCode.END_OF_SPEECH, t, end)
        if not self._utterance_counts:
            self._emit(EventCode.USER_BACKCHANNEL, t, self._speech_start)

    def _check_interrupt(self) -> None:
        if (self._user == UserState.SPEAKING and self._agent == AgentState.SPEAKING
                and self._allow and self._interruptible and not self._interrupted
                and self._last_voiced - self._speech_start >= self._min_int):
            self._interrupted = True
            self._utterance_counts = True
            self._agent = AgentState.LISTENING
            self._update_away()
            self._emit(EventCode.AGENT_INTERRUPTED, self._now, self._speech_start)

    def _check_deadlines(self) -> None:
        if self._endpoint_deadline >= 0 and self._now >= self._endpoint_deadline:
            self._endpoint_deadline = -1
            self._turn_open = False
            self._final_pending = False
            self._emit(EventCode.USER_TURN_COMPLETED, self._now, self._last_speaking)
        if self._away_deadline >= 0 and self._now >= self._away_deadline:
            deadline = self._away_deadline
            self._away_deadline = -1
            self._user = UserState.AWAY
            self._emit(EventCode.USER_AWAY, self._now, deadline)

    def _drain(self) -> Fired:
        out, self._out = self._out, []
        return out

    # -- hot path ----------------------------------------------------------------------------
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
        j = 0
        for i in range(n):
            self._now = int(start_sample) + (i + 1) * self._w
            f = int(flags[i])
            if f & WindowFlag.START:
                self._user_start(self._now, int(hyst_aux[j]))
                j += 1
            elif f & WindowFlag.END:
                self._user_end(self._now, int(hyst_aux[j]))
                j += 1
            if f & WindowFlag.RAW_SPEECH and self._user == UserState.SPEAKING:
                self._last_voiced = self._now
            self._check_interrupt()
            self._check_deadlines()
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

    def step(self, n: int, n_hyst: int, start_sample: int) -> int:
        if self._bound is None:
            raise ValueError("bind() the scratch arrays before step()")
        flags, hyst_aux, code, sample, aux = self._bound
        cap = flags.shape[0]
        if not (0 <= n <= cap and 0 <= n_hyst <= cap):
            raise ValueError(f"expected 0 <= n, n_hyst <= {cap}, got {n} and {n_hyst}")
        if start_sample < self._now:
            raise ValueError(f"start_sample {start_sample} is before the clock {self._now}")
        if n == 0:
            return 0
        n_flagged = int(((flags[:n] & (WindowFlag.START | WindowFlag.END)) != 0).sum())
        if n_flagged != n_hyst:
            raise ValueError(f"flags mark {n_flagged} START/END windows but n_hyst is {n_hyst}")
        return self.process(flags[:n], hyst_aux[:n_hyst], start_sample, code, sample, aux)

    # -- host calls --------------------------------------------------------------------------
    def advance(self, n_samples: int) -> Fired:
        if n_samples < 0:
            raise ValueError(f"expected n_samples >= 0, got {n_samples}")
        target = self._now + int(n_samples)
        while True:
            due = [d for d in (self._endpoint_deadline, self._away_deadline) if 0 <= d <= target]
            if not due:
                break
            self._now = max(self._now, min(due))
            self._check_deadlines()
        self._now = max(self._now, target)
        return self._drain()

    def set_agent_state(self, state: int, interruptible: bool = True) -> Fired:
        if not 0 <= state <= 3:
            raise ValueError(f"agent state code must be 0..3, got {state}")
        self._agent = AgentState(state)
        self._interruptible = bool(interruptible)
        self._update_away()
        self._check_interrupt()
        return self._drain()

    def final_transcript(self) -> Fired:
        if self._mode == TurnDetection.STT:
            self._final_pending = True
            self._arm_endpoint()
            self._check_deadlines()
        return self._drain()

    def user_back(self) -> bool:
        if self._user != UserState.AWAY:
            return False
        self._user = UserState.LISTENING
        self._update_away()
        return True

    def commit(self) -> int:
        self._endpoint_deadline = -1
        self._turn_open = False
        self._final_pending = False
        return self._last_speaking
