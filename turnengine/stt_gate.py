"""STT gate (SPEC 8): forward only speech (with prefix padding) to a streaming STT.

The gate opens when the VAD decides START_OF_SPEECH, releasing the ``prefix_padding_duration``
of audio before the back-dated onset, passes all audio while the user speaks, and closes at the
END_OF_SPEECH decision (the hangover is forwarded, so the STT can finalise its transcript).
While the agent speaks uninterruptibly and ``discard_audio_if_uninterruptible`` is on, the gate
passes silence of the same length instead (LiveKit's behaviour), so the STT stream stays
continuous but hears no speech.  Everything is addressed in engine-clock samples and read from
the engine's :class:`~turnengine.audio_ring.AudioRing`, so the gate never copies audio it does
not forward.

Memory: the queue of audio not yet read with ``engine.stt_audio()`` holds at most what the
audio history holds (the ring's capacity: ``prefix_padding_duration + max_buffered_speech +
min_silence_duration``, about 61 s by default).  A host that stops reading loses the oldest
audio first (counted in :attr:`SttGate.dropped_samples`, one warning), rather than the engine
growing without bound.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator

import numpy as np

from .audio_ring import AudioRing

logger = logging.getLogger("turnengine")


class SttGate:
    """Gated audio queue, driven by the engine's START/END decisions.

    Parameters
    ----------
    ring : AudioRing
        The engine's audio history (model rate); must hold at least the prefix padding plus one
        chunk.
    prefix_samples : int
        Padding released before the back-dated speech onset.

    Attributes
    ----------
    dropped_samples : int
        Samples dropped, oldest first, because more than the ring's capacity waited unread.
    """

    def __init__(self, ring: AudioRing, prefix_samples: int) -> None:
        self._ring = ring
        self._prefix = prefix_samples
        self._queue: deque[np.ndarray] = deque()
        self._next = -1            # next sample to release while open; -1 when closed
        self._released_to = 0      # never release a sample twice
        self._segment = 0          # samples forwarded for the current segment
        self._queued = 0           # samples waiting in the queue
        self.dropped_samples = 0

    def rebind(self, ring: AudioRing, prefix_samples: int) -> None:
        """Options changed: read from ``ring`` (the engine resized its history) and release
        ``prefix_samples`` of padding from the next speech onset on."""
        self._ring = ring
        self._prefix = prefix_samples

    @property
    def is_open(self) -> bool:
        return self._next >= 0

    def start(self, onset: int, muted: bool) -> None:
        """START_OF_SPEECH with back-dated ``onset``: open from ``onset - prefix``."""
        self._next = max(onset - self._prefix, self._released_to, self._ring.available_from)
        self._segment = 0
        del muted  # nothing is released until the next flush or end

    def flush(self, upto: int, muted: bool) -> None:
        """Release everything up to sample ``upto`` (the end of the processed audio)."""
        if self._next < 0 or upto <= self._next:
            return
        audio = self._ring.between(self._next, upto)
        self._next = upto
        self._released_to = upto
        if audio.shape[0]:
            pcm = (np.zeros(audio.shape[0], dtype=np.int16) if muted else
                   np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16))
            self._queue.append(pcm)
            self._queued += pcm.shape[0]
            self._segment += pcm.shape[0]
            if self._queued > self._ring.capacity:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        if not self.dropped_samples:
            logger.warning("stt_audio() is not being read: dropping the oldest gated audio "
                           "beyond %d samples", self._ring.capacity)
        while self._queued > self._ring.capacity and len(self._queue) > 1:
            n = self._queue.popleft().shape[0]
            self._queued -= n
            self.dropped_samples += n

    def end(self, t: int, muted: bool) -> int:
        """END_OF_SPEECH decided at ``t``: release up to ``t``, close, return samples forwarded."""
        self.flush(t, muted)
        self._next = -1
        return self._segment

    def drain(self) -> Iterator[np.ndarray]:
        """Yield queued frames (int16, shape (n,), model rate) in order, removing them."""
        while self._queue:
            pcm = self._queue.popleft()
            self._queued -= pcm.shape[0]
            yield pcm
