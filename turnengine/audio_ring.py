"""A ring of recent audio, addressed by absolute sample index.

The one PCM ring of the package: the engine keeps model-rate float32 audio in it for the audio
of VAD events (prefix padding, whole utterances) and for the STT gate (allocated only when one
of those is in use, each chunk's windows copied once); the LiveKit adapter keeps the int16
input audio it attaches to its events.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class AudioRing:
    """The last ``capacity`` samples of one audio stream, indexed by absolute sample number.

    Parameters
    ----------
    capacity : int
        Samples kept (>= 1).
    start : int
        Sample index at which recording starts; nothing before it is available.
    dtype : numpy dtype
        Sample type held (float32 by default; the LiveKit adapter keeps int16 PCM).

    Raises
    ------
    ValueError
        If ``capacity < 1``.
    """

    def __init__(self, capacity: int, start: int = 0,
                 dtype: npt.DTypeLike = np.float32) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 samples, got {capacity}")
        self._buf = np.zeros(capacity, dtype=dtype)
        self._from = start  # earliest sample held
        self._to = start    # one past the latest sample written

    @property
    def capacity(self) -> int:
        """Samples the ring can hold."""
        return int(self._buf.shape[0])

    @property
    def available_from(self) -> int:
        """Earliest sample index still held."""
        return self._from

    @property
    def end(self) -> int:
        """One past the latest sample index written."""
        return self._to

    def record(self, samples: np.ndarray, start: int) -> None:
        """Store ``samples`` (shape (n,), the ring's dtype) as samples ``start .. start + n``.

        A gap (``start`` beyond the last sample written, as after the engine's ``advance``)
        forgets everything before ``start``.
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

    def append(self, samples: np.ndarray) -> None:
        """Store ``samples`` right after the latest sample written (:attr:`end`)."""
        self.record(samples, self._to)

    def between(self, a: int, b: int) -> np.ndarray:
        """A copy of samples ``[a, b)``, clipped to what is held (shape (<= b - a,))."""
        a = max(a, self._from)
        b = min(b, self._to)
        if b <= a:
            return np.zeros(0, dtype=self._buf.dtype)
        cap = self._buf.shape[0]
        i, j = a % cap, b % cap
        if i < j:
            return self._buf[i:j].copy()
        return np.concatenate([self._buf[i:], self._buf[:j]])

    def resized(self, capacity: int) -> AudioRing:
        """A ring of ``capacity`` samples holding the latest of what this one holds.

        Raises
        ------
        ValueError
            If ``capacity < 1``.
        """
        keep = self.between(self._to - capacity, self._to)
        ring = AudioRing(capacity, self._to - keep.shape[0], self._buf.dtype)
        ring.append(keep)
        return ring
