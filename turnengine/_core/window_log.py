"""The per-window record of a session (``TurnEngine(keep_window_log=True)``), for plots and
live displays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._kernels.codes import WindowFlag


@dataclass(frozen=True)
class WindowLog:
    """Per-window record of a session (``TurnEngine(keep_window_log=True)``).

    Attributes
    ----------
    end_time : numpy.ndarray of float64, shape (n_windows,)
        Engine-clock time (s) at the end of each window (its decision time).
    probability : numpy.ndarray of float32, shape (n_windows,)
        The backend's raw speech probability.
    smoothed : numpy.ndarray of float32, shape (n_windows,)
        The probability after ``smoothing_alpha``, as the thresholds see it.
    speaking : numpy.ndarray of bool, shape (n_windows,)
        The published speaking state after each window.
    window_s : float
        Window duration (s).
    flags : numpy.ndarray of uint8, shape (n_windows,)
        The hysteresis kernel's ``WindowFlag`` bits (RAW_SPEECH, SPEAKING, START, END).
    start_sample : int
        Engine-clock sample (model rate) where the first window begins.
    runs : numpy.ndarray of int64, shape (n_windows, 2)
        The hysteresis kernel's raw (speech, silence) window runs after each window (the
        ``raw_accumulated_speech``/``_silence`` of LiveKit's ``VADEvent``, in windows).
    """

    end_time: np.ndarray
    probability: np.ndarray
    smoothed: np.ndarray
    speaking: np.ndarray
    window_s: float
    flags: np.ndarray
    start_sample: int = 0
    runs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))


# start sample, raw, smoothed, flags, runs
_Chunk = tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class WindowLogRecorder:
    """Keeps one copy of each chunk's window arrays.

    Parameters
    ----------
    model_rate, window_size : int
    """

    def __init__(self, model_rate: int, window_size: int) -> None:
        self._rate = model_rate
        self._w = window_size
        self._chunks: list[_Chunk] = []

    def append(self, start: int, raw: np.ndarray, smoothed: np.ndarray, flags: np.ndarray,
               runs: np.ndarray) -> None:
        """Keep copies of one chunk's windows starting at clock sample ``start``."""
        self._chunks.append((start, raw.copy(), smoothed.copy(), flags.copy(), runs.copy()))

    def log(self, now: int) -> WindowLog:
        """Every window kept so far (``now`` dates an empty log)."""
        return self._log_of(self._chunks, now)

    def drain(self, now: int) -> WindowLog:
        """The windows kept since the last drain, then forgets them."""
        out = self._log_of(self._chunks, now)
        self._chunks = []
        return out

    @property
    def last_probability(self) -> tuple[float, float] | None:
        """(raw, smoothed) probability of the newest window kept, or None."""
        if not self._chunks:
            return None
        _, raw, smoothed, _, _ = self._chunks[-1]
        return float(raw[-1]), float(smoothed[-1])

    def _log_of(self, log: list[_Chunk], now: int) -> WindowLog:
        sr, w = self._rate, self._w
        if not log:
            empty = np.zeros(0, np.float32)
            return WindowLog(empty.astype(np.float64), empty, empty, np.zeros(0, bool), w / sr,
                             np.zeros(0, np.uint8), now)
        if len(log) == 1:
            start, raw, smoothed, flags, runs = log[0]
        else:
            start = log[0][0]
            raw = np.concatenate([c[1] for c in log])
            smoothed = np.concatenate([c[2] for c in log])
            flags = np.concatenate([c[3] for c in log])
            runs = np.concatenate([c[4] for c in log])
        ends = np.concatenate([c[0] + w * np.arange(1, c[1].shape[0] + 1) for c in log]) / sr
        speaking = (flags & int(WindowFlag.SPEAKING)) != 0
        return WindowLog(ends, raw, smoothed, speaking, w / sr, flags, int(start), runs)
