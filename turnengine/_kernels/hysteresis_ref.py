"""Pure-Python reference twin of ``ext/hysteresis.pyx`` (same API, same float32 results)."""

from __future__ import annotations

import numpy as np

from .codes import EventCode, WindowFlag
from .hysteresis_spec import check_runs_out

_F32 = np.float32


class Hysteresis:
    """Reference VAD hysteresis; see the compiled ``turnengine._kernels.hysteresis``."""

    def __init__(
        self,
        window_size: int,
        activation_threshold: float,
        deactivation_threshold: float,
        min_speech_windows: int,
        min_silence_windows: int,
        smoothing_alpha: float,
        min_volume: float = 0.0,
    ) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        self._window_size = int(window_size)
        self.configure(activation_threshold, deactivation_threshold, min_speech_windows,
                       min_silence_windows, smoothing_alpha, min_volume)
        self._bound: tuple | None = None
        self.reset()

    def configure(self, activation_threshold: float, deactivation_threshold: float,
                  min_speech_windows: int, min_silence_windows: int, smoothing_alpha: float,
                  min_volume: float = 0.0) -> None:
        if min_speech_windows < 1 or min_silence_windows < 1:
            raise ValueError(
                "min_speech_windows and min_silence_windows must be >= 1, got "
                f"{min_speech_windows} and {min_silence_windows}"
            )
        values = {"activation_threshold": _F32(activation_threshold),
                  "deactivation_threshold": _F32(deactivation_threshold),
                  "smoothing_alpha": _F32(smoothing_alpha), "min_volume": _F32(min_volume)}
        for name, v in values.items():  # (checked as the kernel does: as float32)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        self._min_speech = int(min_speech_windows)
        self._min_silence = int(min_silence_windows)
        self._act = values["activation_threshold"]
        self._deact = values["deactivation_threshold"]
        self._alpha = values["smoothing_alpha"]
        self._beta = _F32(1.0) - self._alpha
        self._min_volume = values["min_volume"]

    def restore(self, smoothed: float, speaking: bool, speech_run: int,
                silence_run: int) -> None:
        if speech_run < 0 or silence_run < 0:
            raise ValueError(f"expected runs >= 0, got {speech_run} and {silence_run}")
        p = _F32(smoothed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"smoothed must be in [0, 1], got {p}")
        self._p = p
        self._has_prev = True
        self._speaking = bool(speaking)
        self._speech_run = int(speech_run)
        self._silence_run = int(silence_run)

    def reset(self) -> None:
        self._p = _F32(0.0)
        self._has_prev = False
        self._speaking = False
        self._speech_run = 0
        self._silence_run = 0

    def force_silence(self) -> bool:
        was = self._speaking
        self._speaking = False
        self._speech_run = 0
        self._silence_run = 0
        return was

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def speech_run(self) -> int:
        return self._speech_run

    @property
    def silence_run(self) -> int:
        return self._silence_run

    @property
    def window_size(self) -> int:
        return self._window_size

    def process(self, probs, rms, start_sample, flags_out, smoothed_out, ev_code, ev_sample,
                ev_aux, runs_out=None) -> int:
        n = probs.shape[0]
        cap = min(ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0])
        if flags_out.shape[0] < n or smoothed_out.shape[0] < n:
            raise ValueError(
                f"expected flags_out and smoothed_out of length >= {n}, got "
                f"{flags_out.shape[0]} and {smoothed_out.shape[0]}"
            )
        if cap < n:
            raise ValueError(f"expected event arrays of length >= {n}, got {cap}")
        if rms is None and self._min_volume > 0:
            raise ValueError(f"min_volume is {self._min_volume}: expected the windows' rms, "
                             "got None")
        gate = rms is not None and self._min_volume > 0
        if gate and rms.shape[0] < n:
            raise ValueError(f"expected rms of length >= {n}, got {rms.shape[0]}")
        if runs_out is not None:
            check_runs_out(runs_out, n)
        w = self._window_size
        n_ev = 0
        for i in range(n):
            p = _F32(probs[i])
            if self._alpha > 0 and self._has_prev:
                p = self._alpha * self._p + self._beta * p
            self._p = p
            self._has_prev = True
            smoothed_out[i] = p
            speech = p >= self._act or (self._speaking and p > self._deact)
            if speech and gate and _F32(rms[i]) < self._min_volume:
                speech = False
            t = start_sample + (i + 1) * w
            f = 0
            if speech:
                f |= WindowFlag.RAW_SPEECH
                self._speech_run += 1
                self._silence_run = 0
                if not self._speaking and self._speech_run >= self._min_speech:
                    self._speaking = True
                    f |= WindowFlag.START
                    ev_code[n_ev] = EventCode.START_OF_SPEECH
                    ev_sample[n_ev] = t
                    ev_aux[n_ev] = t - self._speech_run * w
                    n_ev += 1
            else:
                self._silence_run += 1
                self._speech_run = 0
                if self._speaking and self._silence_run >= self._min_silence:
                    self._speaking = False
                    f |= WindowFlag.END
                    ev_code[n_ev] = EventCode.END_OF_SPEECH
                    ev_sample[n_ev] = t
                    ev_aux[n_ev] = t - self._silence_run * w
                    n_ev += 1
            if self._speaking:
                f |= WindowFlag.SPEAKING
            flags_out[i] = f
            if runs_out is not None:
                runs_out[i] = (self._speech_run, self._silence_run)
        return n_ev

    def bind(self, probs, rms, flags_out, smoothed_out, ev_code, ev_sample, ev_aux,
             runs_out=None) -> None:
        cap = probs.shape[0]
        if cap < 1 or min(rms.shape[0], flags_out.shape[0], smoothed_out.shape[0],
                          ev_code.shape[0], ev_sample.shape[0], ev_aux.shape[0]) < cap:
            raise ValueError(f"expected every bound array to have length >= {cap} >= 1")
        if runs_out is not None:
            check_runs_out(runs_out, cap)
        self._bound = (probs, rms, flags_out, smoothed_out, ev_code, ev_sample, ev_aux, runs_out)

    def step(self, n: int, start_sample: int) -> int:
        if self._bound is None:
            raise ValueError("bind() the scratch arrays before step()")
        probs, rms, flags, smoothed, code, sample, aux, runs = self._bound
        if n < 0 or n > probs.shape[0]:
            raise ValueError(f"expected 0 <= n <= {probs.shape[0]}, got {n}")
        if n == 0:
            return 0
        return self.process(probs[:n], rms[:n], start_sample, flags, smoothed, code, sample, aux,
                            runs)


def step_many(hysts: list[Hysteresis], n_win: np.ndarray, start_sample: np.ndarray,
              n_events_out: np.ndarray) -> None:
    """Reference ``step_many``; see the compiled ``turnengine._kernels.hysteresis.step_many``."""
    n = len(hysts)
    if not (n_win.shape[0] == start_sample.shape[0] == n_events_out.shape[0] == n):
        raise ValueError(f"expected n_win, start_sample and n_events_out for {n} streams, got "
                         f"{n_win.shape[0]}, {start_sample.shape[0]} and "
                         f"{n_events_out.shape[0]}")
    for i, h in enumerate(hysts):
        if not isinstance(h, Hysteresis):
            raise TypeError(f"expected Hysteresis, got {type(h).__name__}")
        cap = -1 if h._bound is None else h._bound[0].shape[0]
        if n_win[i] and (cap < 0 or not 0 <= n_win[i] <= cap):
            raise ValueError(f"stream {i}: expected bound arrays and 0 <= n <= {cap}, got "
                             f"{n_win[i]}")
    for i, h in enumerate(hysts):
        n_events_out[i] = h.step(int(n_win[i]), int(start_sample[i])) if n_win[i] else 0
