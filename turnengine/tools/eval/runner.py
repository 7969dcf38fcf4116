"""Run the engine over a directory of labelled clips and score it (``turnengine eval``, SPEC 11).

Each ``NAME.wav`` (or ``.flac``) with a ``NAME.json`` label file beside it is replayed through a
fresh engine (see :mod:`turnengine.replay`) and scored by the scorers of
:mod:`turnengine.tools.eval`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...audio import AudioFile, read_audio
from ...eot import load_smart_turn
from ...options import TurnEngineOptions
from ...replay import replay_audio
from .clip import ClipScore, score_clip
from .events import segments_from_events
from .labels import load_labels
from .pooling import PooledScore, pool

__all__ = [
    "AUDIO_SUFFIXES",
    "EvalResult",
    "evaluate_clip",
    "evaluate_directory",
    "labelled_clips",
    "resample_audio",
]

AUDIO_SUFFIXES = (".wav", ".flac")


def resample_audio(audio: AudioFile, rate: int) -> AudioFile:
    """``audio`` resampled to ``rate`` with scipy's polyphase filter (for evaluations)."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, audio.sample_rate)
    x = resample_poly(audio.samples.astype(np.float64), rate // g, audio.sample_rate // g, axis=0)
    if audio.samples.dtype == np.int16:
        x = np.clip(np.round(x), -32768, 32767)
    return AudioFile(audio.path, np.ascontiguousarray(x.astype(audio.samples.dtype)), rate)


@dataclass
class EvalResult:
    """Per-clip scores and their pooled summary."""

    clips: list[ClipScore]
    pooled: PooledScore

    def to_dict(self) -> dict[str, Any]:
        """``{"pooled": ..., "clips": [...]}``, each score's ``to_dict()``."""
        return {"pooled": self.pooled.to_dict(), "clips": [c.to_dict() for c in self.clips]}


def labelled_clips(directory: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """``(audio, labels)`` pairs in ``directory``, sorted by name.

    Raises
    ------
    FileNotFoundError
        If ``directory`` is not a directory.
    ValueError
        If it holds no audio file with a label file beside it.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory: {root}")
    pairs = []
    for audio in sorted(root.iterdir()):
        if audio.suffix.lower() in AUDIO_SUFFIXES and audio.with_suffix(".json").is_file():
            pairs.append((audio, audio.with_suffix(".json")))
    if not pairs:
        raise ValueError(f"{root} holds no audio file (.wav/.flac) with a .json label file "
                         "beside it")
    return pairs


def evaluate_clip(audio: Path, labels_path: Path, *, vad: str = "silero",
                  options: TurnEngineOptions | None = None, model_path: str | None = None,
                  turn_detector: str | None = None, eot_model: Any = None,
                  sample_rate: int | None = None) -> ClipScore:
    """Replay one labelled clip and score it (optionally resampled to ``sample_rate``)."""
    labels = load_labels(labels_path)
    decoded = read_audio(audio)
    if sample_rate is not None and sample_rate != decoded.sample_rate:
        decoded = resample_audio(decoded, sample_rate)
    result = replay_audio(decoded, vad=vad, options=options, model_path=model_path,
                          turn_detector=turn_detector, eot_model=eot_model)
    out = segments_from_events(result.events)
    return score_clip(labels, out.speech_segments, out.decision_segments, out.turn_completions,
                      duration_s=result.audio.duration, clip=audio.stem)


def evaluate_directory(directory: str | os.PathLike[str], *, vad: str = "silero",
                       options: TurnEngineOptions | None = None, model_path: str | None = None,
                       turn_detector: str | None = None, sample_rate: int | None = None,
                       on_clip: Callable[[ClipScore], Any] | None = None) -> EvalResult:
    """Score every labelled clip of ``directory``; pool frame counts and latency lists.

    Parameters
    ----------
    directory : str or PathLike
        Folder of ``NAME.wav`` + ``NAME.json`` pairs (SPEC 11 label format).
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
        Engine options; SPEC defaults when omitted.
    model_path : str, optional
        A ``silero_vad.onnx`` instead of the packaged one.
    turn_detector : {None, "smart-turn"}
        End-of-turn model (loaded once, shared by every clip).
    sample_rate : int, optional
        Resample every clip to this rate first (scipy ``resample_poly``), e.g. 8000 to measure
        telephony audio.
    on_clip : callable, optional
        Called with each clip's score as soon as it is ready (progress display).
    """
    # Loaded once for every clip; when missing, each engine warns and falls back.
    eot_model = load_smart_turn(warn=False) if turn_detector == "smart-turn" else None
    scores = []
    for audio, labels in labelled_clips(directory):
        score = evaluate_clip(audio, labels, vad=vad, options=options, model_path=model_path,
                              turn_detector=turn_detector, eot_model=eot_model,
                              sample_rate=sample_rate)
        scores.append(score)
        if on_clip is not None:
            on_clip(score)
    return EvalResult(scores, pool(scores))
