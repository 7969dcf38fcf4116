"""Echo-canceller backends behind one interface (issue 12: the agent's playout as a reference).

When the host gives the engine the audio the agent plays (``TurnEngine.push_playout``), the
microphone signal goes through an echo canceller before the VAD: the VAD, the hysteresis and
the interruption rules then see the echo-reduced signal.  Without playout nothing changes.

Backends:

``aec3``
    WebRTC's AEC3 (linear filter, delay estimator and residual-echo suppressor) as shipped by
    LiveKit's ``livekit`` package (``livekit.rtc.AudioProcessingModule(echo_cancellation=True)``,
    Apache-2.0; Rust FFI over libwebrtc), 10 ms frames.  Extra ``turnengine[aec3]``.

A backend turns ``n_frames * frame_size`` microphone samples and the same number of playout
samples of the same instants (float32 at the engine's model rate) into as many echo-reduced
samples, keeping its state across calls, and says per frame which playout-to-microphone
delay it found.  The engine measures the echo return loss enhancement itself
(:mod:`turnengine._core.playout`).
"""

from __future__ import annotations

import abc

import numpy as np

ECHO_CANCELLERS: tuple[str, ...] = ("aec3",)
DEFAULT_ECHO_CANCELLER = "aec3"


class EchoCanceller(abc.ABC):
    """Interface of an echo-canceller backend.

    Attributes
    ----------
    name : str
        Backend name, as passed to ``TurnEngine(echo_canceller=...)``.
    sample_rate_hz : int
        The engine's model rate (8000 or 16000).
    frame_size : int
        Samples per processing frame; the engine hands whole frames only.
    convergence_s : float
        Seconds of active playout (the agent audible) the canceller needs to adapt to the echo
        path.  With a reference, the engine's AEC warm-up (``aec_warmup_duration``) is cut to
        this: the canceller, not a fixed timer, keeps the echo out after it.
    """

    name: str
    sample_rate_hz: int
    frame_size: int
    convergence_s: float

    @abc.abstractmethod
    def process(self, mic: np.ndarray, far: np.ndarray, out: np.ndarray,
                delays: np.ndarray) -> None:
        """Cancel the echo of ``far`` in ``mic``.

        Parameters
        ----------
        mic : numpy.ndarray of float32, shape (n_frames * frame_size,)
            Microphone samples in [-1, 1].
        far : numpy.ndarray of float32, shape (n_frames * frame_size,)
            The playout at the same instants (zeros where the agent is silent).
        out : numpy.ndarray of float32, shape (>= n_frames * frame_size,)
            Receives the echo-reduced microphone samples.
        delays : numpy.ndarray of int64, shape (>= n_frames,)
            Receives, per frame, the playout-to-microphone delay the canceller works with
            (model-rate samples), -1 when it has none or does not say.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free native resources (idempotent)."""


#: Playout frames quieter than this mean power (float samples) count as "agent silent".
FAR_ACTIVE_POWER = 1e-7
