"""The simulated agent's voice in ``turnengine mic --simulate-agent``, and where it goes.

:class:`AgentVoice` gives the agent audible replies: the bundled real speech clip
(``turnengine/data/composed_dialogue.wav``), resampled to the session's rate and played from its
start at each reply.  The session writes one block of it (zeros while the agent is silent) to an
:class:`AgentOutput` per microphone block, and gives the same samples to the engine as the echo
reference (``TurnEngine.push_playout``), as a voice agent on laptop speakers would.

Outputs: :func:`speaker_output` (the default output device, sounddevice/PortAudio) and
:class:`LoopbackRoom`, a simulated room for tests and machines without speakers: what the agent
plays reaches the fake microphone (:func:`~turnengine.tools.mic.device.fake_input` with
``room=``) through a room impulse response after the device's output latency.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .device import MicError

__all__ = ["AgentOutput", "AgentVoice", "LoopbackRoom", "room_impulse_response",
           "speaker_output"]

VOICE_CLIP = Path(__file__).resolve().parents[2] / "data" / "composed_dialogue.wav"


class AgentOutput(Protocol):
    """Where the agent's audio goes: ``write`` one int16 block of shape ``(n,)`` per microphone
    block (zeros while the agent is silent); ``close`` at the end."""

    def write(self, block: np.ndarray) -> None: ...

    def close(self) -> None: ...


class AgentVoice:
    """The agent's audio for each reply: the bundled speech clip from its start, looped.

    Parameters
    ----------
    sample_rate : int
        The session's rate (Hz).
    """

    def __init__(self, sample_rate: int) -> None:
        import soundfile as sf
        from scipy.signal import resample_poly

        clip, rate = sf.read(VOICE_CLIP, dtype="float32", always_2d=True)
        mono = clip.mean(axis=1)
        if rate != sample_rate:
            g = np.gcd(rate, sample_rate)
            mono = resample_poly(mono, sample_rate // g, rate // g).astype(np.float32)
        self.samples = np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)
        self._pos = 0
        self._reply = -1

    def block(self, n: int, reply: int | None) -> np.ndarray:
        """The next ``n`` samples of reply number ``reply`` (zeros when ``reply`` is None: the
        agent is silent); a new reply starts the clip again."""
        if reply is None:
            return np.zeros(n, np.int16)
        if reply != self._reply:
            self._reply, self._pos = reply, 0
        idx = (self._pos + np.arange(n)) % self.samples.shape[0]
        self._pos += n
        return self.samples[idx]


def speaker_output(sample_rate: int, device: int | str | None = None) -> AgentOutput:
    """The default (or given) output device through sounddevice, written block by block.

    Raises
    ------
    MicError
        No PortAudio or no usable output device (``--agent-silent`` keeps the agent quiet).
    """
    from .device import _import_sounddevice

    sd = _import_sounddevice()
    try:
        stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="int16",
                                 device=device)
        stream.start()
    except Exception as exc:  # PortAudioError, ValueError: no device, bad rate
        raise MicError(f"cannot play the simulated agent's voice: {exc}; pass --agent-silent "
                       "to keep the agent quiet") from None
    return _Speaker(stream)


class _Speaker:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, block: np.ndarray) -> None:
        self._stream.write(np.ascontiguousarray(block.reshape(-1, 1)))

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def room_impulse_response(sample_rate: int, *, latency_s: float = 0.06, rt60_s: float = 0.3,
                          direct_gain: float = 0.5, direct_to_reverberant_db: float = 6.0,
                          seed: int = 0) -> np.ndarray:
    """A loudspeaker-to-microphone response: ``latency_s`` of silence (the device's output and
    input buffering), a direct path of ``direct_gain`` and an exponentially decaying diffuse
    tail (-60 dB after ``rt60_s``) ``direct_to_reverberant_db`` below it in energy (a laptop's
    speaker a few centimetres from its microphone), float64."""
    rng = np.random.default_rng(seed)
    lead = int(round(latency_s * sample_rate))
    n_tail = int(round(rt60_s * sample_rate))
    t = np.arange(n_tail) / sample_rate
    tail = rng.standard_normal(n_tail) * np.exp(-6.91 * t / rt60_s)
    tail *= direct_gain * np.sqrt(10 ** (-direct_to_reverberant_db / 10) / np.sum(tail ** 2))
    h = np.zeros(lead + n_tail)
    h[lead:] = tail
    h[lead] = direct_gain
    return h


class LoopbackRoom:
    """A simulated room: the agent's output comes back into a fake microphone.

    The session writes a block per microphone block; the fake input stream (built with
    ``room=``) waits until the blocks before the one it delivers were written, then adds their
    echo (the playout convolved with :func:`room_impulse_response`), so the replay is the same
    on every run however the threads are scheduled.

    Parameters
    ----------
    sample_rate : int
    blocksize : int
        Samples per block (the microphone's).
    impulse_response : numpy.ndarray, optional
        Default :func:`room_impulse_response` (its latency must be at least one block).
    timeout_s : float
        How long the input waits for the session's block before going on without it.
    """

    def __init__(self, sample_rate: int, blocksize: int,
                 impulse_response: np.ndarray | None = None, timeout_s: float = 10.0) -> None:
        h = room_impulse_response(sample_rate) if impulse_response is None else impulse_response
        lead = int(np.argmax(np.abs(h) > 0))
        if lead < blocksize:
            raise ValueError(f"the room's latency ({lead} samples) must be at least one block "
                             f"({blocksize})")
        self.h = h
        self.blocksize = blocksize
        self._played: list[np.ndarray] = []
        self._cond = threading.Condition()
        self._timeout = timeout_s

    def write(self, block: np.ndarray) -> None:
        with self._cond:
            self._played.append(np.asarray(block, np.float64).reshape(-1))
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._timeout = 0.0
            self._cond.notify_all()

    def echo_for(self, index: int, n: int) -> np.ndarray:
        """The echo in microphone block ``index`` (``n`` samples, float64): waits until blocks
        ``0 .. index - 1`` were written."""
        from scipy.signal import fftconvolve

        b = self.blocksize
        with self._cond:
            self._cond.wait_for(lambda: len(self._played) >= index, timeout=self._timeout)
            played = list(self._played[:index])
        start = index * b
        lo = max(0, start - self.h.shape[0] + 1)
        x = np.zeros(start + n - lo)
        for i in range(lo // b, index):  # the blocks that reach this one
            blk = played[i]
            a = i * b - lo
            seg = blk[: max(0, min(blk.shape[0], x.shape[0] - a))]
            x[max(a, 0):a + seg.shape[0]] = seg[max(0, -a):]
        y = fftconvolve(x, self.h)[: x.shape[0]]
        return y[start - lo:start - lo + n]
