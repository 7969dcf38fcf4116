"""Echo-canceller backends behind one interface (issue 12: the agent's playout as a reference).

When the host gives the engine the audio the agent plays (``TurnEngine.push_playout``), the
microphone signal goes through an echo canceller before the VAD: the VAD, the hysteresis and
the interruption rules then see the echo-reduced signal.  Without playout nothing changes.

Backends:

``native`` (default)
    turnengine's own kernel (``ext/echo.pyx``; algorithm in ``turnengine._kernels.echo_ref``):
    envelope delay estimation, a two-path partitioned-block frequency-domain adaptive filter
    and a residual-echo suppressor, 4 ms blocks, the output 4 ms late.
``aec3``
    WebRTC's AEC3 (linear filter, delay estimator and residual-echo suppressor) as shipped by
    LiveKit's ``livekit`` package (``livekit.rtc.AudioProcessingModule(echo_cancellation=True)``,
    Apache-2.0; Rust FFI over libwebrtc), 10 ms frames.  Extra ``turnengine[aec3]``.

A backend turns ``n_frames * frame_size`` microphone samples and the same number of playout
samples of the same instants (float32 at the engine's model rate) into as many echo-reduced
samples, keeping its state across calls, and says per frame which playout-to-microphone
delay it found and the energies the engine's ERLE is made of (:mod:`turnengine._core.playout`).
"""

from __future__ import annotations

import abc

import numpy as np

#: Playout frames quieter than this mean power (float samples) count as "agent silent": the
#: native kernel's own threshold, shared by every backend.
from ._kernels.echo_spec import FAR_ACTIVE_POWER as FAR_ACTIVE_POWER

ECHO_CANCELLERS: tuple[str, ...] = ("native", "aec3")
DEFAULT_ECHO_CANCELLER = "native"


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
                delays: np.ndarray, stats: np.ndarray) -> None:
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
        stats : numpy.ndarray of float64, shape (>= n_frames, 3), C-contiguous
            Receives, per frame, the microphone energy and the output energy (sums of squares)
            and 1.0 where the playout frame is active (mean power above
            :data:`FAR_ACTIVE_POWER`), else 0.0: the engine's ERLE.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free native resources (idempotent)."""




#: Seconds of active playout after which the native canceller counts as converged at 16 kHz
#: (its delay locks within about 0.3 s of agent speech and the filter converges within about
#: 0.5 s more on ../shared/audio/echo: docs/echo.md).  It adapts once per 64-sample block, so
#: at 8 kHz (8 ms blocks) it needs twice as long: ``convergence_s`` scales with 16000 / rate.
NATIVE_CONVERGENCE_S = 1.0


class NativeCanceller(EchoCanceller):
    """The ``native`` backend: the compiled kernel ``turnengine._kernels.echo``.

    Parameters
    ----------
    sample_rate : int
        The engine's model rate, 8000 or 16000 Hz.
    reference : bool, optional
        Use the pure-Python twin (None: ``TURNENGINE_PUREPYTHON``).
    """

    name = "native"

    def __init__(self, sample_rate: int, reference: bool | None = None) -> None:
        from . import _kernels

        self._kernel = _kernels.load("echo", reference).EchoCanceller(sample_rate)
        self.sample_rate_hz = int(sample_rate)
        self.frame_size = int(self._kernel.block_size)
        self.convergence_s = NATIVE_CONVERGENCE_S * 16000 / self.sample_rate_hz

    def process(self, mic: np.ndarray, far: np.ndarray, out: np.ndarray,
                delays: np.ndarray, stats: np.ndarray) -> None:
        self._kernel.process(mic, far, out, delays, stats)
