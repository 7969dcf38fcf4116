"""Sample counts to seconds: the engine clock (``stream_time``) and wall-clock epochs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleClock:
    """Converts engine-clock samples (model rate) to seconds.

    Attributes
    ----------
    model_rate : int
        Samples per second of the engine clock (16000 or 8000).
    started_at : float
        Epoch seconds (``time.time()``) of sample 0; ``created_at`` of events is
        ``started_at + sample / model_rate``.
    """

    model_rate: int
    started_at: float

    def seconds(self, sample: int) -> float:
        """``sample`` in seconds of audio."""
        return sample / self.model_rate

    def epoch(self, sample: int) -> float:
        """``sample`` as epoch seconds."""
        return self.started_at + sample / self.model_rate
