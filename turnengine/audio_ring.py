"""A ring of recent model-rate audio, addressed by engine-clock sample index.

Used for the audio of VAD events (prefix padding, whole utterances) and by the STT gate. It is
allocated only when one of those is in use, and copies each chunk's windows once.
"""

from __future__ import annotations

import numpy as np


class AudioRing:
    """The last ``capacity`` samples of float32 audio, indexed by absolute sample number.

    Parameters
    ----------
    capacity : int
        Samples kept (>= 1).
    start : int
        Clock sample at which recording starts; nothing before it is available.
    """

    def __init__(self, capacity: int, start: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 samples, got {capacity}")
        self._buf = np.zeros(capacity, dtype=np.float32)
        self._from = start  # earliest sample held
        self._to = start    # one past the latest sample written

    @property
    def available_from(self) -> int:
        """Earliest sample index still held."""
        return self._from

    def record(self, samples: np.ndarray, start: int) -> None:
        """Store ``samples`` (float32, shape (n,)) as clock samples ``start .. start + n``.

        A gap (``start`` beyond the last sample written, as after ``advance``) forgets
        everything before ``start``.
        """
        cap = self._buf.shape[0]
        n = samples.shape[0]
        if start != self._to:
            self._from = start
        if n >= cap:
            samples, start, n = samples[-cap:], start + n - cap, cap
        pos = start % cap
        first = min(n, cap - pos)
        self._buf[pos:pos + first] = samples[:first]
        self._buf[: n - first] = samples[first:]
        self._to = start + n
        self._from = max(self._from, self._to - cap)

    def between(self, a: int, b: int) -> np.ndarray:
        """A copy of samples ``[a, b)``, clipped to what is held (float32, shape (<= b - a,))."""
        a = max(a, self._from)
        b = min(b, self._to)
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        cap = self._buf.shape[0]
        i, j = a % cap, b % cap
        if i < j or b - a == 0:
            return self._buf[i:j].copy()
        return np.concatenate([self._buf[i:], self._buf[:j]])
