"""Run the engine over a directory of labelled clips and score it (``turnengine eval``, SPEC 11).

Each ``NAME.wav`` (or ``.flac``) with a ``NAME.json`` label file beside it is replayed through a
fresh engine (see :mod:`turnengine.replay`) and scored by :mod:`turnengine.evaluation`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evaluation import ClipScore, PooledScore, load_labels, pool, score_clip, segments_from_events
from .options import TurnEngineOptions
from .replay import replay_file

AUDIO_SUFFIXES = (".wav", ".flac")


@dataclass
class EvalResult:
    """Per-clip scores and their pooled summary."""

    clips: list[ClipScore]
    pooled: PooledScore

    def to_dict(self) -> dict[str, Any]:
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


def evaluate_clip(audio: Path, labels_path: Path, *, vad: str = "silero-onnx",
                  options: TurnEngineOptions | None = None) -> ClipScore:
    """Replay one labelled clip and score it."""
    labels = load_labels(labels_path)
    result = replay_file(audio, vad=vad, options=options)
    out = segments_from_events(result.events)
    return score_clip(labels, out.speech_segments, out.decision_segments, out.turn_completions,
                      duration_s=result.audio.duration, clip=audio.stem)


def evaluate_directory(directory: str | os.PathLike[str], *, vad: str = "silero-onnx",
                       options: TurnEngineOptions | None = None,
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
    on_clip : callable, optional
        Called with each clip's score as soon as it is ready (progress display).
    """
    scores = []
    for audio, labels in labelled_clips(directory):
        score = evaluate_clip(audio, labels, vad=vad, options=options)
        scores.append(score)
        if on_clip is not None:
            on_clip(score)
    return EvalResult(scores, pool(scores))
