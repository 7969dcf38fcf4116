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

import bisect
from collections import deque

import numpy as np

from .. import _kernels
from ..echo import ECHO_CANCELLERS, FAR_ACTIVE_POWER, EchoCanceller

#: How far (seconds) the playout may run ahead of the microphone audio received.
MAX_PLAYOUT_LEAD_S = 2.0


class EchoStage:
    """Playout intake and alignment, and the canceller (see the module notes).

    Parameters
    ----------
    canceller : EchoCanceller
        At the engine's model rate.
    sample_rate : int
        Rate of the pushed playout (the engine's ``sample_rate``).
    mic_received : int
        Microphone samples (model rate) received before the stage was built.
    """

    def __init__(self, canceller: EchoCanceller, sample_rate: int, mic_received: int) -> None:
        self.canceller = canceller
        self.frame = canceller.frame_size
        self.model_rate = canceller.sample_rate_hz
        self._intake = _kernels.load("pcm").Intake(sample_rate)
        self.max_lead = int(MAX_PLAYOUT_LEAD_S * self.model_rate)
        self.far = np.zeros(self.max_lead + 4 * self.frame, np.float32)
        self.far_start = mic_received   # absolute sample of far[0]
        self.far_len = 0
        self.raw = np.zeros(8 * self.frame, np.float32)
        self.raw_len = 0
        self.mic_done = mic_received    # absolute sample of raw[0]
        self._delays = np.zeros(8, np.int64)
        # per processed frame: (end sample, cumulative mic energy, output energy, active frames,
        # delay in samples or -1)
        self._marks: deque[tuple[int, float, float, int, int]] = deque(maxlen=1 << 16)
        self._cum = (0.0, 0.0, 0)
        self._converge_frames = max(1, round(canceller.convergence_s * self.model_rate
                                             / self.frame))

    # -- playout ----------------------------------------------------------------------------------
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
        if at > self.far_len:
            self.far[self.far_len:at] = 0.0
        n = int(self._intake.process(frames, self.far[at:at + n_max]))
        self.far_len = at + n
        return n

    # -- microphone -------------------------------------------------------------------------------
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
        far = self._far_for(n)
        mic = self.raw[:n]
        if self._delays.shape[0] < n // self.frame:
            self._delays = np.zeros(n // self.frame, np.int64)
        self.canceller.process(mic, far, out, self._delays)
        self._mark(mic, far, out[:n], self._delays[: n // self.frame])
        rest = self.raw_len - n
        if rest:
            self.raw[:rest] = self.raw[n:self.raw_len]
        self.raw_len = rest
        self.mic_done += n
        self._drop_far(n)

    def _far_for(self, n: int) -> np.ndarray:
        """The playout for microphone samples ``mic_done .. mic_done + n`` (zeros where none)."""
        a = self.mic_done - self.far_start
        have = max(0, min(n, self.far_len - a))
        if have == n:
            return self.far[a:a + n]
        far = np.zeros(n, np.float32)
        far[:have] = self.far[a:a + have]
        return far

    def _drop_far(self, n: int) -> None:
        used = self.mic_done - self.far_start
        if used <= 0:
            return
        keep = max(0, self.far_len - used)
        if keep:
            self.far[:keep] = self.far[used:self.far_len]
        self.far_len = keep
        self.far_start = self.mic_done

    def _mark(self, mic: np.ndarray, far: np.ndarray, out: np.ndarray,
              delays: np.ndarray) -> None:
        f = self.frame
        p_far = np.mean(np.square(far.reshape(-1, f), dtype=np.float64), axis=1)
        active = p_far > FAR_ACTIVE_POWER
        e_mic = np.where(active, np.sum(np.square(mic.reshape(-1, f), dtype=np.float64), 1), 0)
        e_out = np.where(active, np.sum(np.square(out.reshape(-1, f), dtype=np.float64), 1), 0)
        c_mic = self._cum[0] + np.cumsum(e_mic)
        c_out = self._cum[1] + np.cumsum(e_out)
        c_act = self._cum[2] + np.cumsum(active)
        ends = self.mic_done + f * np.arange(1, active.shape[0] + 1)
        self._marks.extend(zip(ends.tolist(), c_mic.tolist(), c_out.tolist(), c_act.tolist(),
                               delays.tolist(), strict=True))
        self._cum = (float(c_mic[-1]), float(c_out[-1]), int(c_act[-1]))

    # -- measurements -----------------------------------------------------------------------------
    def measured_at(self, t_mic: int) -> tuple[float | None, float, bool, float | None]:
        """``(ERLE dB, active playout seconds, converged, delay seconds)`` over the frames
        that ended by microphone sample ``t_mic``."""
        i = bisect.bisect_right(self._marks, (t_mic, float("inf"), 0.0, 0, 0)) - 1
        if i < 0:
            return None, 0.0, False, None
        _, c_mic, c_out, c_act, delay = self._marks[i]
        while i > 0:  # forget what no later query can ask for
            self._marks.popleft()
            i -= 1
        erle = (float(10 * np.log10(max(c_mic, 1e-12) / max(c_out, 1e-12))) if c_act else None)
        return (erle, c_act * self.frame / self.model_rate, c_act >= self._converge_frames,
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
    if name == "aec3":
        from ..echo_aec3 import Aec3Canceller

        return Aec3Canceller(sample_rate)
    raise ValueError(f"unknown echo canceller {name!r}; expected one of {ECHO_CANCELLERS}")
