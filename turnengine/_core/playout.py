"""The echo stage: the agent's playout as a reference, between the microphone intake and the VAD.

Built on the first ``push_playout``; until then the microphone goes straight to the VAD, as
it always did.  From then on every microphone sample (model rate) goes through the echo
canceller with the playout sample of the same instant, and the VAD, hysteresis and timers see
the echo-reduced signal.

Both streams count model-rate samples from the start of the call.  The microphone position
is the number of microphone samples received; a playout chunk is placed where the last one
ended, or, when the agent was silent in between (or the playout fell behind), at the
microphone position: audio played now cannot echo into audio already received.  Playout may
run ahead of the microphone by :data:`MAX_PLAYOUT_LEAD_S` at most (the host pushes it as it
plays it out, the capture lags behind); where no playout was pushed the agent was silent.

The canceller works in whole frames (``frame_size``); the samples of an unfinished frame wait
for the next push, and count in ``stream_time`` meanwhile.  Its measurements are kept per frame,
so ``EchoMetrics`` taken at a window boundary do not depend on how the audio was chunked.
The canceller counts as converged once it has heard ``convergence_s`` of active playout.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from ..echo import ECHO_CANCELLERS, EchoCanceller, NativeCanceller

#: How far (seconds) the playout may run ahead of the microphone audio received.
MAX_PLAYOUT_LEAD_S = 2.0


class EchoStage:
    """Playout intake and alignment, and the canceller (see the module notes).

    Parameters
    ----------
    canceller : EchoCanceller
        At the engine's model rate.
    sample_rate : int
        Rate of the pushed playout (the engine's ``sample_rate`` unless given).
    mic_received : int
        Microphone samples (model rate) received before the stage was built.
    """

    def __init__(self, canceller: EchoCanceller, sample_rate: int, mic_received: int) -> None:
        self.canceller = canceller
        self.frame = canceller.frame_size
        self.model_rate = canceller.sample_rate_hz
        self.playout_rate = int(sample_rate)
        self._intake = _kernels.load("pcm").Intake(sample_rate)
        self.max_lead = int(MAX_PLAYOUT_LEAD_S * self.model_rate)
        # far[far_head:far_head + far_len] is the playout from sample far_start on
        self.far = np.zeros(self.max_lead + 4096 + 8 * self.frame, np.float32)
        self.far_head = 0
        self.far_start = mic_received
        self.far_len = 0
        self.raw = np.zeros(8 * self.frame, np.float32)
        self.raw_len = 0
        self.mic_done = mic_received    # absolute sample of raw[0]
        self.origin = mic_received      # the first frame's first sample
        # per processed frame, from frame index `_first` on: delay and the canceller's stats
        self._delays = np.zeros(256, np.int64)
        self._stats = np.zeros((256, 3), np.float64)
        self._first = 0                 # frame index of row 0
        self._rows = 0
        self._summed = 0                # frames before this one are in the totals
        self._active = 0.0               # active playout frames summed so far
        self._converge_frames = max(1, round(canceller.convergence_s * self.model_rate
                                             / self.frame))
        #: The echo-reduced output, kept when asked (``TurnEngine.echo_audio``: plots).
        self.recorded: list[np.ndarray] | None = None

    # -- playout --------------------------------------------------------------------------------
    @property
    def mic_received(self) -> int:
        return self.mic_done + self.raw_len

    def push_playout(self, frames: np.ndarray) -> int:
        """Resample and place one playout chunk; returns its model-rate sample count.

        Raises
        ------
        ValueError
            The chunk would put the playout more than :data:`MAX_PLAYOUT_LEAD_S` ahead of the
            microphone (nothing is changed).
        """
        pos = max(self.far_start + self.far_len, self.mic_received)
        n_max = int(self._intake.max_output(frames.shape[0]))
        lead = pos + n_max - self.mic_received
        if lead > self.max_lead:
            raise ValueError(
                f"this playout chunk would run {lead / self.model_rate:.2f} s ahead of the "
                f"microphone audio received (at most {MAX_PLAYOUT_LEAD_S:g} s); push the "
                "playout as it is played out, not ahead of it")
        at = pos - self.far_start
        if self.far_head + at + n_max > self.far.shape[0]:  # compact (rarely)
            self.far[: self.far_len] = self.far[self.far_head:self.far_head + self.far_len]
            self.far_head = 0
        h = self.far_head
        if at > self.far_len:
            self.far[h + self.far_len:h + at] = 0.0
        n = int(self._intake.process(frames, self.far[h + at:h + at + n_max]))
        self.far_len = at + n
        return n

    # -- microphone -----------------------------------------------------------------------------
    def room(self, n_max: int) -> np.ndarray:
        """Where the microphone intake writes up to ``n_max`` new samples."""
        need = self.raw_len + n_max
        if need > self.raw.shape[0]:
            grown = np.zeros(max(need, 2 * self.raw.shape[0]), np.float32)
            grown[: self.raw_len] = self.raw[: self.raw_len]
            self.raw = grown
        return self.raw[self.raw_len:]

    def ready(self, n_new: int) -> int:
        """``n_new`` samples were written by the intake: how many (whole frames) can go through
        the canceller now."""
        self.raw_len += n_new
        return self.raw_len - self.raw_len % self.frame

    def run(self, n: int, out: np.ndarray) -> None:
        """Cancel the echo in the first ``n`` (whole frames) waiting samples into ``out``."""
        if n == 0:
            return
        k = n // self.frame
        row = self._room_rows(k)
        self.canceller.process(self.raw[:n], self._far_for(n), out,
                               self._delays[row:row + k], self._stats[row:row + k])
        if self.recorded is not None:
            self.recorded.append(out[:n].copy())
        self._rows += k
        rest = self.raw_len - n
        if rest:
            self.raw[:rest] = self.raw[n:self.raw_len]
        self.raw_len = rest
        self.mic_done += n
        used = min(n, self.far_len)
        self.far_head += used
        self.far_len -= used
        self.far_start = self.mic_done

    def _far_for(self, n: int) -> np.ndarray:
        """The playout for microphone samples ``mic_done .. mic_done + n`` (zeros where none;
        the playout never starts before ``mic_done``)."""
        h = self.far_head
        if self.far_len >= n:
            return self.far[h:h + n]
        far = np.zeros(n, np.float32)
        far[: self.far_len] = self.far[h:h + self.far_len]
        return far

    def _room_rows(self, k: int) -> int:
        """The row where ``k`` new frames go (dropping rows already summed, growing)."""
        drop = self._summed - self._first - 1  # (the last summed frame gives the delay)
        if drop > 0 and self._rows + k > self._delays.shape[0]:
            keep = self._rows - drop
            self._delays[:keep] = self._delays[drop:self._rows]
            self._stats[:keep] = self._stats[drop:self._rows]
            self._first += drop
            self._rows = keep
        if self._rows + k > self._delays.shape[0]:
            size = max(self._rows + k, 2 * self._delays.shape[0])
            delays = np.zeros(size, np.int64)
            stats = np.zeros((size, 3), np.float64)
            delays[: self._rows] = self._delays[: self._rows]
            stats[: self._rows] = self._stats[: self._rows]
            self._delays, self._stats = delays, stats
        return self._rows

    # -- measurements ---------------------------------------------------------------------------
    def measured_at(self, t_mic: int) -> tuple[float | None, float, bool, float | None]:
        """``(ERLE dB over the frames since the last call, active playout seconds in all,
        converged, delay seconds)`` as of the frames that ended by microphone sample ``t_mic``
        (asked at increasing times, once per ``VADMetrics``)."""
        upto = min((t_mic - self.origin) // self.frame, self._first + self._rows)
        erle = None
        if upto > self._summed:  # the frames of this period, summed in order
            rows = self._stats[self._summed - self._first:upto - self._first]
            act = rows[:, 2]
            e_mic = e_out = 0.0
            for x in (rows[:, 0] * act).tolist():
                e_mic += x
            for x in (rows[:, 1] * act).tolist():
                e_out += x
            if act.any():
                erle = float(10 * np.log10(max(e_mic, 1e-12) / max(e_out, 1e-12)))
            self._active += float(act.sum())
            self._summed = upto
        if upto <= 0:
            return None, 0.0, False, None
        delay = int(self._delays[upto - 1 - self._first])
        return (erle, self._active * self.frame / self.model_rate,
                self._active >= self._converge_frames,
                None if delay < 0 else delay / self.model_rate)

    @property
    def buffered(self) -> int:
        """Microphone samples waiting for a whole frame."""
        return self.raw_len


def load_echo_canceller(name: str, sample_rate: int) -> EchoCanceller:
    """A backend by name at the engine's model rate.

    Raises
    ------
    ValueError
        Unknown name.
    ImportError
        The backend's package is missing (``pip install turnengine[aec3]``).
    """
    if name == "native":
        return NativeCanceller(sample_rate)
    if name == "aec3":
        from ..echo_aec3 import Aec3Canceller

        return Aec3Canceller(sample_rate)
    raise ValueError(f"unknown echo canceller {name!r}; expected one of {ECHO_CANCELLERS}")
