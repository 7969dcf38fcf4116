"""The per-window record of a session (``TurnEngine(keep_window_log=True)``), for plots and
live displays: a ring of the most recent windows, so memory stays bounded in endless sessions.

``keep_window_log=True`` keeps the last :data:`DEFAULT_WINDOW_LOG_LENGTH` windows (65,536: 35
minutes of Silero's 32 ms windows, 11 minutes of the energy detector's 10 ms windows; 33 bytes a
window, 2.2 MB); an int keeps that many.  The ring starts at 1024 windows (34 kB) and takes its
whole length once more windows are kept and not drained, so a short session, or a reader that
drains after each push, holds only the small one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._kernels.codes import WindowFlag
from .threads import locked

if TYPE_CHECKING:
    from .pipeline import Pipeline


@dataclass(frozen=True)
class WindowLog:
    """Per-window record of a session (``TurnEngine(keep_window_log=True)``): the most recent
    windows the ring still holds (at most its length), oldest first.

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


#: Windows kept by ``keep_window_log=True`` (see the module notes).
DEFAULT_WINDOW_LOG_LENGTH = 1 << 16


def window_log_length(keep: object) -> int | None:
    """The ring length asked for by ``keep_window_log``: None (no log), the default, or an int.

    Raises
    ------
    TypeError
        Neither a bool nor an int.
    ValueError
        An int < 1.
    """
    if isinstance(keep, bool):
        return DEFAULT_WINDOW_LOG_LENGTH if keep else None
    if not isinstance(keep, int):
        raise TypeError(f"keep_window_log expects a bool or a number of windows, got {keep!r}")
    if keep < 1:
        raise ValueError(f"keep_window_log must be >= 1 window (or a bool), got {keep}")
    return keep


class WindowLogRecorder:
    """A ring of the most recent windows' arrays (preallocated, no object per chunk).

    Parameters
    ----------
    model_rate, window_size : int
    length : int
        Windows kept at most; older ones are overwritten.
    """

    def __init__(self, model_rate: int, window_size: int,
                 length: int = DEFAULT_WINDOW_LOG_LENGTH) -> None:
        self._rate = model_rate
        self._w = window_size
        self.length = int(length)
        self.written = 0   # windows appended since the start (the ring's head)
        self._from = 0     # first window not yet drained
        self._arrays: list[np.ndarray] = []
        self._alloc(min(self.length, 1024))

    def _alloc(self, capacity: int) -> None:
        arrays: list[np.ndarray] = [np.zeros(capacity, np.int64), np.zeros(capacity, np.float32),
                                    np.zeros(capacity, np.float32), np.zeros(capacity, np.uint8),
                                    np.zeros((capacity, 2), np.int64)]
        if self._arrays:  # the windows still kept move to their places in the larger ring
            old = self._kept()
            new = np.arange(self.written - old.shape[0], self.written) % capacity
            for dst, src in zip(arrays, self._arrays, strict=True):
                dst[new] = src[old]
        self._arrays = arrays
        self._end, self._raw, self._smoothed, self._flags, self._runs = arrays
        self._cap = capacity

    def append(self, start: int, raw: np.ndarray, smoothed: np.ndarray, flags: np.ndarray,
               runs: np.ndarray) -> None:
        """Keep one chunk's windows, the first starting at clock sample ``start``."""
        n = raw.shape[0]
        if not n:
            return
        held = min(self.written - self._from, self._cap) + n  # (drained windows need no room)
        if held > self._cap and self._cap < self.length:
            self._alloc(self.length)  # (one step: no trail of freed arrays in the heap)
        ends = start + self._w * np.arange(1, n + 1, dtype=np.int64)
        skip = max(0, n - self._cap)  # a chunk longer than the ring keeps its newest windows
        pos = (self.written + skip) % self._cap
        for buf, src in zip(self._arrays, (ends, raw, smoothed, flags, runs), strict=True):
            part = src[skip:]
            first = min(part.shape[0], self._cap - pos)
            buf[pos:pos + first] = part[:first]
            buf[:part.shape[0] - first] = part[first:]
        self.written += n

    def log(self, now: int) -> WindowLog:
        """The windows kept and not drained (``now`` dates an empty log)."""
        return self._log_of(self._kept(), now)

    def drain(self, now: int) -> WindowLog:
        """The windows kept since the last drain, then forgets them (what a live display reads
        after each push)."""
        out = self._log_of(self._kept(), now)
        self._from = self.written
        return out

    @property
    def last_probability(self) -> tuple[float, float] | None:
        """(raw, smoothed) probability of the newest window kept, or None."""
        if self.written == self._from:
            return None
        j = (self.written - 1) % self._cap
        return float(self._raw[j]), float(self._smoothed[j])

    def _kept(self) -> np.ndarray:
        first = max(self._from, self.written - self._cap)
        return np.arange(first, self.written, dtype=np.int64) % self._cap

    def _log_of(self, idx: np.ndarray, now: int) -> WindowLog:
        sr, w = self._rate, self._w
        if not idx.shape[0]:
            empty = np.zeros(0, np.float32)
            return WindowLog(empty.astype(np.float64), empty, empty, np.zeros(0, bool), w / sr,
                             np.zeros(0, np.uint8), now)
        ends = self._end[idx]
        flags = self._flags[idx]
        speaking = (flags & int(WindowFlag.SPEAKING)) != 0
        return WindowLog(ends / sr, self._raw[idx], self._smoothed[idx], speaking, w / sr, flags,
                         int(ends[0]) - w, self._runs[idx])


class WindowLogAPI:
    """The window-log half of :class:`~turnengine.TurnEngine`'s public API (mixed in)."""

    _window_log: WindowLogRecorder | None
    _pipe: Pipeline
    _lock: Any

    @locked
    def window_log(self) -> WindowLog:
        """The VAD windows kept and not drained, oldest first: the whole session while it fits
        the ring (``keep_window_log``), else its most recent windows; see also
        :meth:`drain_window_log`.

        Raises
        ------
        RuntimeError
            If the engine was built without ``keep_window_log``.
        """
        return self._checked_log().log(self._pipe.now)

    @locked
    def drain_window_log(self) -> WindowLog:
        """The windows kept since the last drain, then forgets them (what live displays and
        framework adapters read after each ``push_audio``; more than the ring holds between two
        drains keeps the newest).

        Raises
        ------
        RuntimeError
            If the engine was built without ``keep_window_log``.
        """
        return self._checked_log().drain(self._pipe.now)

    @property
    def last_probability(self) -> tuple[float, float] | None:
        """(raw, smoothed) probability of the newest window kept, or None (O(1))."""
        return None if self._window_log is None else self._window_log.last_probability

    def _checked_log(self) -> WindowLogRecorder:
        if self._window_log is None:
            raise RuntimeError("build the engine with TurnEngine(..., keep_window_log=True) to "
                               "use window_log()")
        return self._window_log
