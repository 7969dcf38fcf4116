"""Audio input checks (SPEC 2) and file reading (soundfile).

The sample-rate rules live here and only here: the rates the engine takes
(:data:`SUPPORTED_RATES`, :func:`check_sample_rate`), the rates its models run at
(:data:`MODEL_RATES`, :func:`check_model_rate`) and which model rate an input rate is processed
at (:func:`model_rate_for`).  :func:`as_frames` validates one pushed chunk without touching
engine state and returns a view of shape ``(n_frames, n_channels)`` that the intake kernel
accepts.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ._kernels.pcm_spec import NATIVE_RATES_HZ, SUPPORTED_RATES_HZ

#: Input rates (Hz) the engine takes; the intake kernel resamples them to a model rate (the
#: kernel's own list, ``turnengine._kernels.pcm_spec``).
SUPPORTED_RATES: tuple[int, ...] = tuple(SUPPORTED_RATES_HZ)
#: Rates (Hz) the VAD and end-of-turn models run at (Silero's two branches; the intake passes
#: them through unresampled).
MODEL_RATES: tuple[int, ...] = tuple(NATIVE_RATES_HZ)
MAX_CHANNELS = 32


def check_sample_rate(sample_rate: object) -> int:
    """Return ``sample_rate`` as int if the engine supports it.

    Raises
    ------
    TypeError
        If it is not an int.
    ValueError
        If it is not one of :data:`SUPPORTED_RATES` (no silent resampling to a rate a model was
        not trained for).
    """
    rate = _int_rate(sample_rate)
    if rate not in SUPPORTED_RATES:
        raise ValueError(f"unsupported sample rate {sample_rate} Hz; expected one of "
                         f"{', '.join(map(str, SUPPORTED_RATES))}")
    return rate


def _int_rate(sample_rate: object) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise TypeError(f"expected an int sample rate in Hz, got {sample_rate!r}")
    return int(sample_rate)


def model_rate_for(sample_rate: object) -> int:
    """The model rate audio at ``sample_rate`` is processed at: 8000 for 8 kHz, else 16000.

    8 kHz (telephony) stays at 8 kHz, where Silero has its own branch; every other supported
    rate is resampled to 16 kHz by the intake kernel.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_sample_rate` (not an int, not one of :data:`SUPPORTED_RATES`).
    """
    return 8000 if check_sample_rate(sample_rate) == 8000 else 16000


def check_model_rate(sample_rate_hz: object, runner: str = "the model") -> int:
    """Return ``sample_rate_hz`` as int if it is one of :data:`MODEL_RATES`.

    Parameters
    ----------
    sample_rate_hz : int
        A model rate in Hz.
    runner : str
        What runs at that rate, for the error message (``"silero"``, ``"energy VAD"``).

    Raises
    ------
    TypeError
        If it is not an int.
    ValueError
        If it is not 8000 or 16000 (``"silero runs at 8000 or 16000 Hz, got 44100"``).
    """
    rate = _int_rate(sample_rate_hz)
    if rate not in MODEL_RATES:
        raise ValueError(f"{runner} runs at {' or '.join(map(str, MODEL_RATES))} Hz, got "
                         f"{sample_rate_hz}")
    return rate


def as_frames(chunk: object) -> np.ndarray:
    """Validate a pushed chunk and view it as ``(n_frames, n_channels)``.

    Parameters
    ----------
    chunk : bytes, bytearray, memoryview or numpy.ndarray
        int16 little-endian PCM bytes, or an int16/float32 array of shape ``(n_samples,)`` or
        ``(n_samples, n_channels)``; float32 must be finite and within [-1, 1].  A memoryview
        must be C-contiguous with format ``h`` (int16), ``f`` (float32) or ``B`` (raw PCM
        bytes); an ndarray subclass is read as its plain array, a masked array refused.

    Returns
    -------
    numpy.ndarray, shape (n_frames, n_channels), dtype int16 or float32, C-contiguous

    Raises
    ------
    TypeError
        Wrong container, dtype or memoryview format; a masked array.
    ValueError
        A strided memoryview, odd byte count, empty chunk, wrong number of dimensions, too
        many channels, NaN/inf or out-of-range floats.
    """
    if isinstance(chunk, memoryview):
        chunk = _from_memoryview(chunk)
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        nbytes = memoryview(chunk).nbytes
        if nbytes % 2:
            raise ValueError(f"expected int16 little-endian PCM with an even byte count, got "
                             f"{nbytes} bytes")
        if nbytes == 0:
            raise ValueError("expected a non-empty chunk, got 0 bytes")
        return np.frombuffer(chunk, dtype="<i2").astype(np.int16, copy=False).reshape(-1, 1)
    if not isinstance(chunk, np.ndarray):
        raise TypeError("expected bytes, bytearray, memoryview or a numpy array of int16/float32 "
                        f"samples, got {type(chunk).__name__}")
    if type(chunk) is not np.ndarray:
        chunk = _plain_array(chunk)
    if chunk.dtype not in (np.int16, np.float32):
        raise TypeError(f"expected int16 or float32 samples, got {chunk.dtype} array of shape "
                        f"{chunk.shape}")
    if chunk.ndim not in (1, 2):
        raise ValueError(f"expected shape (n_samples,) or (n_samples, n_channels), got "
                         f"{chunk.ndim}-D array of shape {chunk.shape}")
    if chunk.size == 0:
        raise ValueError(f"expected a non-empty chunk, got an array of shape {chunk.shape}")
    if chunk.ndim == 2 and chunk.shape[1] > MAX_CHANNELS:
        raise ValueError(f"expected shape (n_samples, n_channels) with at most {MAX_CHANNELS} "
                         f"channels, got {chunk.shape}; transpose channel-first audio")
    if chunk.dtype == np.float32:
        peak = float(np.max(np.abs(chunk)))
        if not np.isfinite(peak):
            bad = int(np.flatnonzero(~np.isfinite(chunk.reshape(-1)))[0])
            raise ValueError(f"expected finite float32 samples in [-1, 1], got NaN/inf at "
                             f"flat index {bad}")
        if peak > 1.0:
            raise ValueError(f"expected float32 samples in [-1, 1], got a peak of {peak:.6g} "
                             "(int16-scaled floats? divide by 32768)")
    frames = chunk.reshape(chunk.shape[0], -1)
    return np.ascontiguousarray(frames)


_MEMORYVIEW_FORMATS = {"B": None, "h": np.int16, "<h": np.int16,
                       "=h": np.int16, "f": np.float32, "<f": np.float32, "=f": np.float32}


def _plain_array(chunk: np.ndarray) -> np.ndarray:
    """An ndarray subclass as its plain view (np.matrix, ...); a masked array is refused, since
    its hidden samples would be heard."""
    if isinstance(chunk, np.ma.MaskedArray):
        raise TypeError("expected a plain numpy array, got a masked array: fill the masked "
                        "samples first (chunk.filled(0))")
    return np.asarray(chunk)


def _from_memoryview(view: memoryview) -> object:
    """A pushed memoryview: raw bytes (format ``B``, what ``memoryview(bytes)`` gives) stay
    int16 little-endian PCM bytes; format ``h`` is int16 and ``f`` float32 samples; anything
    else is refused (a float64 or object view read as PCM bytes would turn numbers or pointers
    into audio; an int8 ``b`` or char ``c`` view holds 8-bit values, not PCM bytes)."""
    if view.format not in _MEMORYVIEW_FORMATS:
        raise TypeError(f"expected a memoryview of int16 ('h') or float32 ('f') samples or of "
                        f"raw PCM bytes ('B'), got format {view.format!r}")
    if not view.c_contiguous:
        raise ValueError("expected a C-contiguous memoryview, got a strided one (copy it with "
                         "bytes(view) or np.ascontiguousarray)")
    dtype = _MEMORYVIEW_FORMATS[view.format]
    if dtype is None:
        return view
    return np.frombuffer(view, dtype=dtype).reshape(view.shape if view.ndim else (-1,))


class AudioFileWarning(UserWarning):
    """An audio file that decodes but is not quite what it says: a header that declares more
    audio than the file holds (a truncated recording, a lying header), or 8-bit samples."""


@dataclass(frozen=True)
class AudioFile:
    """A decoded audio file: ``samples`` of shape (n_frames, n_channels), float32 or int16."""

    path: str
    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.samples.shape[0] / self.sample_rate


@dataclass(frozen=True)
class AudioInfo:
    """An audio file checked by :func:`inspect_audio`, its samples not yet read.

    Attributes
    ----------
    path : str
    sample_rate : int
        Hz, as the header says.
    channels : int
    frames : int
        Frames the file holds (fewer than a truncated header declares).
    subtype : str
        soundfile's subtype (``"PCM_16"``, ``"FLOAT"``, ``"PCM_U8"``, ...).
    """

    path: str
    sample_rate: int
    channels: int
    frames: int
    subtype: str

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.frames / self.sample_rate

    @property
    def dtype(self) -> str:
        """What the samples are read as: ``"int16"`` for 16-bit PCM, else ``"float32"``."""
        return "int16" if self.subtype == "PCM_16" else "float32"


def inspect_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Check an audio file (WAV/FLAC/OGG) without decoding its samples.

    A WAV file whose header declares more audio than the file holds (truncated, or a lying
    header) and an 8-bit file are read anyway, with an :class:`AudioFileWarning`.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    PermissionError, OSError
        If the file cannot be opened for reading (the operating system's reason).
    ValueError
        If it is a directory, not audio soundfile can decode, or holds no samples.
    """
    import soundfile as sf

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:  # the OS's reason ("Permission denied"), not libsndfile's
            declared = _wav_data_shortfall(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such audio file: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not an audio file") from None
    try:
        info = sf.info(path)
    except (RuntimeError, sf.LibsndfileError, TypeError) as exc:
        raise ValueError(f"{path} is not an audio file soundfile can read ({exc})") from None
    if info.frames <= 0:
        raise ValueError(f"{path} contains no audio samples")
    if declared is not None:
        wanted_s, held_s = declared
        warnings.warn(f"{path} is truncated: its header declares {wanted_s:.3f} s of audio, the "
                      f"file holds {held_s:.3f} s; reading the {held_s:.3f} s present",
                      AudioFileWarning, stacklevel=2)
    if info.subtype in ("PCM_U8", "PCM_S8"):
        warnings.warn(f"{path} is 8-bit PCM (48 dB of dynamic range, the models were trained on "
                      "16-bit): read as float, quiet speech may be lost in its quantisation "
                      "noise", AudioFileWarning, stacklevel=2)
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames),
                     str(info.subtype))


def _wav_data_shortfall(f: BinaryIO) -> tuple[float, float] | None:
    """For a RIFF/WAVE file whose ``data`` chunk declares more bytes than the file holds:
    (declared, held) in seconds; None otherwise (other formats, or an unset streaming size)."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
        return None
    size = os.fstat(f.fileno()).st_size
    pos, byte_rate = 12, 0
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, n = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"fmt " and n >= 12:
            byte_rate = struct.unpack("<I", f.read(12)[8:12])[0]
        elif chunk_id == b"data":
            held = size - pos - 8
            if n in (0, 0xFFFFFFFF) or n <= held or byte_rate <= 0:
                return None  # complete, or a stream whose writer never set the size
            return n / byte_rate, held / byte_rate
        pos += 8 + n + (n & 1)
    return None


def audio_blocks(info: AudioInfo, block_frames: int) -> Iterator[np.ndarray]:
    """Read the file of ``info`` in blocks, for constant memory whatever its length.

    A file that ends early (fewer frames than its header declares, or a decoder error part-way,
    as in a cut FLAC file) gives the blocks decoded up to there and an
    :class:`AudioFileWarning`.

    Parameters
    ----------
    info : AudioInfo
        From :func:`inspect_audio`.
    block_frames : int
        Frames per block (the last block may be shorter).

    Yields
    ------
    numpy.ndarray, shape (n_frames, n_channels), dtype ``info.dtype``
        float samples clipped to [-1, 1].

    Raises
    ------
    ValueError
        If not even the first block decodes.
    """
    import soundfile as sf

    read = 0
    try:
        with sf.SoundFile(info.path) as f:
            for block in f.blocks(blocksize=block_frames, dtype=info.dtype, always_2d=True):
                if block.dtype == np.float32:
                    np.clip(block, -1.0, 1.0, out=block)
                read += block.shape[0]
                yield block
    except (RuntimeError, sf.LibsndfileError) as exc:
        if read == 0:
            raise ValueError(f"{info.path} is not an audio file soundfile can read ({exc})"
                             ) from None
        reason = f" ({exc})"
    else:
        reason = ""
    if read < info.frames:
        warnings.warn(f"{info.path} ended early{reason}: {read / info.sample_rate:.3f} s of the "
                      f"{info.duration:.3f} s its header declares", AudioFileWarning,
                      stacklevel=2)


def read_audio(path: str | os.PathLike[str]) -> AudioFile:
    """Read a whole WAV/FLAC/OGG file with soundfile (int16 when the file is 16-bit PCM).

    Checks and warnings as :func:`inspect_audio` and :func:`audio_blocks`; for long files,
    :func:`audio_blocks` reads in constant memory.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    PermissionError, OSError
        If the file cannot be opened for reading.
    ValueError
        If the file is not audio soundfile can decode, or is empty.
    """
    info = inspect_audio(path)
    data = np.empty((info.frames, info.channels), info.dtype)
    n = 0
    for block in audio_blocks(info, 1 << 16):
        data[n:n + block.shape[0]] = block
        n += block.shape[0]
    return AudioFile(info.path, data[:n] if n < info.frames else data, info.sample_rate)
