"""Replay an audio file through a :class:`~turnengine.TurnEngine` (used by ``run`` and ``eval``).

The file is pushed in fixed-size chunks, as a live call delivers it; after its last sample the
replay pushes a short tail of digital silence (the caller goes quiet), so that the end of the
last utterance and its turn are decided as they would be live.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import AudioFile, read_audio
from .engine import TurnEngine
from .events import Event
from .options import TurnEngineOptions
from .report import SessionReport


def default_tail_s(options: TurnEngineOptions) -> float:
    """Silence pushed after the file: enough for END_OF_SPEECH and the endpointing delay."""
    return options.min_silence_duration + options.min_endpointing_delay + 0.1


@dataclass
class ReplayResult:
    """What one replay produced.

    Attributes
    ----------
    audio : AudioFile
        The decoded file.
    events : list of Event
        Every session event, in order (``metrics_collected`` included).
    report : SessionReport
        The report returned by ``close()``.
    wall_s : float
        Wall-clock seconds the replay took.
    """

    audio: AudioFile
    events: list[Event]
    report: SessionReport
    wall_s: float


def replay_file(path: str | os.PathLike[str], *, vad: str = "silero-onnx",
                options: TurnEngineOptions | None = None, model_path: str | None = None,
                chunk_ms: float = 20.0, tail_s: float | None = None, realtime: bool = False,
                on_events: Callable[[list[Event]], Any] | None = None) -> ReplayResult:
    """Push a WAV/FLAC file through a new engine and collect its events.

    Parameters
    ----------
    path : str or PathLike
        Audio file at any supported rate (SPEC 2), mono or multi-channel.
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
        Engine options (SPEC defaults when omitted).
    model_path : str, optional
        A ``silero_vad.onnx`` instead of the packaged one.
    chunk_ms : float
        Size of each pushed chunk in milliseconds (> 0).
    tail_s : float, optional
        Seconds of silence pushed after the file; default :func:`default_tail_s`.
    realtime : bool
        Sleep so that audio is pushed no faster than real time.
    on_events : callable, optional
        Called with each non-empty list of events as it is produced (for live printing).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not decodable audio, an unsupported rate, bad options or ``chunk_ms <= 0``.
    """
    if not chunk_ms > 0:
        raise ValueError(f"chunk_ms must be > 0, got {chunk_ms}")
    options = options or TurnEngineOptions()
    audio = read_audio(path)
    engine = TurnEngine(sample_rate=audio.sample_rate, vad=vad, model_path=model_path,
                        options=options)
    tail = default_tail_s(options) if tail_s is None else tail_s
    if tail < 0:
        raise ValueError(f"tail_s must be >= 0, got {tail}")
    samples = audio.samples[:, 0] if audio.samples.shape[1] == 1 else audio.samples
    silence = np.zeros((int(round(tail * audio.sample_rate)),) + samples.shape[1:],
                       dtype=samples.dtype)
    signal = np.concatenate([samples, silence]) if silence.shape[0] else samples
    chunk = max(1, int(round(audio.sample_rate * chunk_ms / 1000.0)))
    events: list[Event] = []
    wall0 = time.perf_counter()
    for i in range(0, signal.shape[0], chunk):
        piece = np.ascontiguousarray(signal[i:i + chunk])
        produced = engine.push_audio(piece)
        if produced:
            events += produced
            if on_events is not None:
                on_events(produced)
        if realtime:
            lag = (i + piece.shape[0]) / audio.sample_rate - (time.perf_counter() - wall0)
            if lag > 0:
                time.sleep(lag)
    report = engine.close()
    return ReplayResult(audio, events, report, time.perf_counter() - wall0)
