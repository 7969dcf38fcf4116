"""WebRTC AEC3 through LiveKit's ``livekit`` package: the ``aec3`` echo-canceller backend.

``livekit.rtc.AudioProcessingModule(echo_cancellation=True)`` (no noise suppression, gain
control or high-pass filter, so only the echo path changes the signal), 10 ms int16 frames:
per frame the playout goes to ``process_reverse_stream``, then the microphone frame of the
same instant to ``process_stream``, with ``set_stream_delay_ms(0)`` (the engine aligns the two
streams sample for sample; the acoustic delay is AEC3's to find).  Measured against the
engine's own path in docs/echo.md (``benchmarks/echo_aec3.py``).
"""

from __future__ import annotations

import numpy as np

from .echo import FAR_ACTIVE_POWER, EchoCanceller

#: Seconds of active playout after which AEC3 is taken as converged (measured on
#: ../shared/audio/echo: no false interruption with the warm-up cut to this, docs/echo.md).
AEC3_CONVERGED_S = 0.5


def _rtc():  # type: ignore[no-untyped-def]
    try:
        from livekit import rtc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("echo_canceller='aec3' needs LiveKit's livekit package: "
                          "pip install 'turnengine[aec3]'") from exc
    return rtc


class Aec3Canceller(EchoCanceller):
    """AEC3 on 10 ms frames (see the module notes).

    Parameters
    ----------
    sample_rate : int
        The engine's model rate, 8000 or 16000 Hz.

    Raises
    ------
    ImportError
        ``livekit`` is not installed.
    """

    name = "aec3"
    convergence_s = AEC3_CONVERGED_S

    def __init__(self, sample_rate: int) -> None:
        rtc = _rtc()
        self._rtc = rtc
        self.sample_rate_hz = int(sample_rate)
        self.frame_size = self.sample_rate_hz // 100
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True)

    def process(self, mic: np.ndarray, far: np.ndarray, out: np.ndarray,
                delays: np.ndarray, stats: np.ndarray) -> None:
        f, rate, rtc = self.frame_size, self.sample_rate_hz, self._rtc
        n = mic.shape[0]
        mic16 = np.clip(np.rint(mic * 32768.0), -32768, 32767).astype(np.int16)
        far16 = np.clip(np.rint(far * 32768.0), -32768, 32767).astype(np.int16)
        for i in range(0, n, f):
            ref = far16[i:i + f]
            self._apm.process_reverse_stream(rtc.AudioFrame(ref.tobytes(), rate, 1, f))
            near = rtc.AudioFrame(bytearray(mic16[i:i + f].tobytes()), rate, 1, f)
            self._apm.set_stream_delay_ms(0)
            self._apm.process_stream(near)
            out[i:i + f] = np.frombuffer(near.data, np.int16).astype(np.float32) / 32768.0
        delays[: n // f] = -1  # AEC3 keeps its delay estimate to itself
        frames = n // f
        for col, x in enumerate((mic[:n], out[:n])):
            stats[:frames, col] = np.sum(np.square(x.reshape(-1, f), dtype=np.float64), axis=1)
        p_far = np.mean(np.square(far[:n].reshape(-1, f), dtype=np.float64), axis=1)
        stats[:frames, 2] = p_far > FAR_ACTIVE_POWER

    def close(self) -> None:
        self._apm = None  # type: ignore[assignment]  # the FFI handle frees itself
