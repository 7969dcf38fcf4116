"""Recent model-rate audio for VAD-event frames, the STT gate and the end-of-turn model.

Allocated only when one of those is in use (:meth:`AudioHistory.enable`).  The driver records
each timers step's windows just before that step's events ask for audio, and never lets a step
span more than half the history, so one long push loses nothing.
"""

from __future__ import annotations

import numpy as np

from ..audio_ring import AudioRing
from ..options import TurnEngineOptions, seconds_to_samples


class AudioHistory:
    """The audio ring of one engine and how many windows a step may cover.

    Parameters
    ----------
    options : TurnEngineOptions
        Sizes the ring: prefix padding + ``max_buffered_speech`` + the VAD hangover.
    model_rate, window_size : int
    """

    def __init__(self, options: TurnEngineOptions, model_rate: int, window_size: int) -> None:
        self._rate = model_rate
        self._window_size = window_size
        self._capacity = self._capacity_for(options)
        self.ring: AudioRing | None = None
        self.max_step_windows = 0

    def _capacity_for(self, o: TurnEngineOptions) -> int:
        return seconds_to_samples(o.prefix_padding_duration + o.max_buffered_speech
                                  + o.min_silence_duration, self._rate) + 2 * self._window_size

    def resize(self, options: TurnEngineOptions) -> None:
        """Options changed: size the ring for them, keeping the latest audio it holds (a new
        :attr:`ring`: whoever reads the old one must take it)."""
        capacity = self._capacity_for(options)
        if capacity == self._capacity:
            return
        self._capacity = capacity
        if self.ring is not None:
            self.ring = self.ring.resized(capacity)
            self.max_step_windows = max(1, capacity // (2 * self._window_size))

    @property
    def enabled(self) -> bool:
        return self.ring is not None

    def enable(self, now: int) -> AudioRing:
        """Start keeping audio from clock sample ``now`` (no-op when already on)."""
        if self.ring is None:
            self.ring = AudioRing(self._capacity, now)
            # The STT gate reads after a step, so a step never spans more than half the ring.
            self.max_step_windows = max(1, self._capacity // (2 * self._window_size))
        return self.ring

    def record(self, samples: np.ndarray, start: int) -> None:
        """Keep ``samples`` (float32) as clock samples ``start ..`` (when enabled)."""
        if self.ring is not None:
            self.ring.record(samples, start)

    def between(self, a: int, b: int) -> np.ndarray:
        """A copy of clock samples ``[a, b)`` still held (empty when disabled)."""
        if self.ring is None:
            return np.zeros(0, dtype=np.float32)
        return self.ring.between(a, b)
