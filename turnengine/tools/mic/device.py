"""Where the microphone's audio comes from: a sounddevice (PortAudio) input stream, or a file
played through the same callback path.

The input stream is injectable: :class:`~turnengine.tools.mic.session.MicSession` takes an
:class:`InputSource` whose ``factory`` builds a sounddevice-style ``InputStream``.
:func:`open_microphone` gives the real one; :func:`fake_input` gives a :class:`FakeInputStream`
that plays a WAV file through the same callback from a thread, for tests, CI and machines
without a microphone.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ...audio import SUPPORTED_RATES, read_audio

__all__ = [
    "FALLBACK_RATES",
    "FakeInputStream",
    "InputSource",
    "InputStreamLike",
    "MicError",
    "StreamFactory",
    "choose_rate",
    "fake_input",
    "open_microphone",
]

FALLBACK_RATES: tuple[int, ...] = (48000, 16000)
"""Rates tried, in order, when the device's default rate is not one the engine takes."""


class MicError(RuntimeError):
    """The microphone cannot be used: no PortAudio library, no input device, no usable rate."""


class InputStreamLike(Protocol):
    """What a :class:`~turnengine.tools.mic.session.MicSession` needs of a stream (a subset of
    ``sounddevice.InputStream``)."""

    @property
    def active(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


StreamFactory = Callable[..., InputStreamLike]
"""Called as ``factory(samplerate=, blocksize=, device=, channels=, dtype="int16",
callback=cb)``, like ``sounddevice.InputStream``; ``cb(indata, frames, time, status)`` gets
``indata`` of shape ``(frames, channels)``."""


@dataclass(frozen=True)
class InputSource:
    """Where audio comes from.

    Attributes
    ----------
    factory : StreamFactory
        Builds the input stream.
    sample_rate : int
        Rate to open it at (Hz), one the engine takes.
    channels : int
        Channels to open (down-mixed by the engine).
    device : int, str or None
        Device given to the factory.
    name : str
        Shown to the user.
    live : bool
        Audio arrives at real time (a device, or a file played with ``realtime=True``). A
        faster source runs the end-of-turn model inline, at the exact sample, as a replay does.
    """

    factory: StreamFactory
    sample_rate: int
    channels: int = 1
    device: int | str | None = None
    name: str = "microphone"
    live: bool = True


def choose_rate(default_rate: float, accepts: Callable[[int], bool]) -> int:
    """Pick the rate to open an input device at.

    Parameters
    ----------
    default_rate : float
        The device's default sample rate (Hz).
    accepts : callable
        ``accepts(rate)``: whether the device can be opened at ``rate``.

    Returns
    -------
    int
        The default rate if the engine takes it (8, 16, 24, 32, 44.1 or 48 kHz) and the device
        accepts it, else the first of 48000 and 16000 Hz that the device accepts.

    Raises
    ------
    MicError
        Neither: the message names the default rate and the rates the engine takes.
    """
    default = int(round(default_rate))
    if default in SUPPORTED_RATES and accepts(default):
        return default
    for rate in FALLBACK_RATES:
        if rate != default and accepts(rate):
            return rate
    raise MicError(f"the input device runs at {default} Hz and cannot be opened at "
                   f"{' or '.join(map(str, FALLBACK_RATES))} Hz; the engine takes "
                   f"{', '.join(map(str, SUPPORTED_RATES))} Hz")


def _import_sounddevice() -> Any:
    """Import sounddevice (separate so tests can replace it)."""
    import sounddevice

    return sounddevice


def open_microphone(device: int | str | None = None) -> InputSource:
    """Find the input device and the rate to open it at (sounddevice / PortAudio).

    Parameters
    ----------
    device : int or str, optional
        A device index or a substring of its name (``python -m sounddevice`` lists them);
        default: the system's default input.

    Raises
    ------
    MicError
        No PortAudio library, no (such) input device, or no rate both the device and the
        engine take.  The message is one line.
    """
    try:
        sd = _import_sounddevice()
    except OSError as exc:
        raise MicError(f"cannot use a microphone: {exc} (install it, e.g. apt-get install "
                       "libportaudio2, or try --fake-input FILE.wav)") from None
    except ImportError as exc:
        raise MicError(f"cannot use a microphone: {exc} (pip install sounddevice)") from None
    errors: tuple[type[BaseException], ...] = (sd.PortAudioError, ValueError)
    which = "the default input device" if device is None else f"input device {device!r}"
    try:
        info = dict(sd.query_devices(device, kind="input"))
    except errors as exc:
        raise MicError(f"no microphone: cannot open {which} ({exc}); list devices with "
                       "`python -m sounddevice`, or try --fake-input FILE.wav") from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise MicError(f"no microphone: {which} ({info.get('name')!r}) has no input channels")
    name = str(info.get("name", "microphone"))

    def accepts(rate: int) -> bool:
        try:
            sd.check_input_settings(device=device, channels=1, dtype="int16", samplerate=rate)
        except errors:
            return False
        return True

    try:
        rate = choose_rate(float(info.get("default_samplerate", 0.0)), accepts)
    except MicError as exc:
        raise MicError(f"{name}: {exc}") from None

    def factory(**kwargs: Any) -> InputStreamLike:
        try:
            stream: InputStreamLike = sd.InputStream(**kwargs)
        except errors as exc:
            raise MicError(f"cannot open {which} ({name}): {exc}") from None
        return stream

    return InputSource(factory, rate, 1, device, name)


class FakeInputStream:
    """A sounddevice-style input stream that plays samples through the callback from a thread.

    Blocks are delivered like PortAudio delivers them: ``callback(indata, frames, time, status)``
    on another thread, ``indata`` of shape ``(blocksize, channels)`` (the last block padded with
    zeros), reused between calls (the receiver must copy).  ``active`` turns False when the
    samples run out.

    Parameters
    ----------
    samples : numpy.ndarray of int16, shape (n_frames, n_channels)
    samplerate : int
    blocksize : int
    callback : callable
    realtime : bool
        Pace the blocks at real time (as a microphone); default as fast as possible.
    room : LoopbackRoom, optional
        Adds to each block the echo of what the session played
        (:class:`~turnengine.tools.mic.voice.LoopbackRoom`).
    **_ : Any
        Other ``InputStream`` arguments (device, channels, dtype) are accepted and ignored.
    """

    def __init__(self, samples: np.ndarray, *, samplerate: int, blocksize: int,
                 callback: Callable[..., Any], realtime: bool = False, room: Any = None,
                 **_: Any) -> None:
        self._samples = samples
        self._room = room
        self.samplerate = samplerate
        self.blocksize = blocksize
        self._callback = callback
        self._realtime = realtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._active = False

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> None:
        self._active = True
        self._thread = threading.Thread(target=self._run, name="fake-portaudio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            n, ch = self._samples.shape
            buf = np.zeros((self.blocksize, ch), dtype=self._samples.dtype)
            t0 = time.perf_counter()
            for i in range(0, n, self.blocksize):
                if self._stop.is_set():
                    break
                piece = self._samples[i:i + self.blocksize]
                buf[:piece.shape[0]] = piece
                buf[piece.shape[0]:] = 0
                if self._room is not None:
                    echo = self._room.echo_for(i // self.blocksize, self.blocksize)
                    mixed = buf + np.round(echo)[:, None]
                    buf[:] = np.clip(mixed, -32768, 32767).astype(np.int16)
                self._callback(buf, self.blocksize, None, 0)
                if self._realtime:
                    lag = (i + self.blocksize) / self.samplerate - (time.perf_counter() - t0)
                    if lag > 0:
                        self._stop.wait(lag)
        finally:
            self._active = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._active = False

    def close(self) -> None:
        self.stop()


def fake_input(path: str | os.PathLike[str], *, realtime: bool = False,
               tail_s: float = 2.0, room: Any = None) -> InputSource:
    """An :class:`InputSource` that plays an audio file as if it came from a microphone.

    Parameters
    ----------
    path : str or PathLike
        WAV/FLAC file at a rate the engine takes; float files are converted to int16, as a
        microphone opened with ``dtype="int16"`` delivers them.
    realtime : bool
        Deliver it at real time instead of as fast as possible.
    tail_s : float
        Seconds of silence after the file (the caller goes quiet), so that the last turn is
        decided.
    room : LoopbackRoom, optional
        Plays what the session writes to it back into this microphone
        (:class:`~turnengine.tools.mic.voice.LoopbackRoom`).

    Raises
    ------
    FileNotFoundError, ValueError
        A missing or undecodable file, or a rate the engine does not take.
    """
    audio = read_audio(path)
    if audio.sample_rate not in SUPPORTED_RATES:
        raise ValueError(f"{path}: unsupported sample rate {audio.sample_rate} Hz; expected one "
                         f"of {', '.join(map(str, SUPPORTED_RATES))}")
    samples = audio.samples
    if samples.dtype != np.int16:
        samples = np.round(samples * 32767.0).astype(np.int16)
    tail = np.zeros((int(round(tail_s * audio.sample_rate)), samples.shape[1]), np.int16)
    samples = np.ascontiguousarray(np.concatenate([samples, tail]))
    factory = functools.partial(FakeInputStream, samples, realtime=realtime, room=room)
    return InputSource(factory, audio.sample_rate, samples.shape[1], None,
                       f"file {os.path.basename(os.fspath(path))}", live=realtime)
