"""Run the engine over a directory of labelled clips and score it (``turnengine eval``, SPEC 11).

Each ``NAME.wav`` (or ``.flac``; or ``NAME.mic.wav`` of an echo set) with a ``NAME.json``
label file beside it is replayed through a fresh engine (see :mod:`turnengine.replay`) and
scored by the scorers of :mod:`turnengine.tools.eval` (echo sets: :mod:`.echo_runner`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...audio import AudioFile, read_audio
from ...eot import load_smart_turn
from ...options import TurnEngineOptions
from ...replay import replay_audio
from .clip import ClipScore, score_clip
from .eotbench import EotBenchClip, EotBenchScore, eotbench_spans, pool_eotbench, score_spans
from .events import EngineOutput, segments_from_events
from .labels import Labels, load_labels
from .pooling import PooledScore, pool

__all__ = [
    "AUDIO_SUFFIXES",
    "EvalResult",
    "evaluate_clip",
    "evaluate_clip_eotbench",
    "evaluate_directory",
    "label_file",
    "labelled_clips",
    "resample_audio",
    "score_output",
]

AUDIO_SUFFIXES = (".wav", ".flac")
#: ``NAME.mic.wav`` pairs with ``NAME.json`` (echo sets).
MIC_SUFFIX = ".mic"


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
    """Per-clip scores and their pooled summary (SPEC 11), and the eot-bench scores.

    Attributes
    ----------
    clips : list of ClipScore
        SPEC 11 scores, one per clip.
    pooled : PooledScore
        Their pooled summary.
    eotbench_clips : list of EotBenchClip
        eot-bench scores, one per clip (see :mod:`.eotbench`).
    eotbench : EotBenchScore or None
        Their pooled figures (``None`` when the result was built without them).
    """

    clips: list[ClipScore]
    pooled: PooledScore
    eotbench_clips: list[EotBenchClip] = field(default_factory=list)
    eotbench: EotBenchScore | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"pooled": ..., "clips": [...], "eotbench": {...}}``: each score's ``to_dict()``;
        ``eotbench`` holds the pooled eot-bench figures plus ``"per_clip"`` (absent when
        ``eotbench`` is ``None``)."""
        out: dict[str, Any] = {"pooled": self.pooled.to_dict(),
                               "clips": [c.to_dict() for c in self.clips]}
        if self.eotbench is not None:
            out["eotbench"] = {**self.eotbench.to_dict(),
                               "per_clip": [c.to_dict() for c in self.eotbench_clips]}
        return out


def label_file(audio: Path) -> Path | None:
    """The label file of an audio file: ``NAME.json`` beside ``NAME.wav``, or beside
    ``NAME.mic.wav`` (echo sets, ``../shared/audio/echo``, whose ``NAME.playout.wav`` is the
    far-end reference, not a clip); ``None`` if there is none or ``audio`` is not audio."""
    if audio.suffix.lower() not in AUDIO_SUFFIXES:
        return None
    own = audio.with_suffix(".json")
    if own.is_file():
        return own
    stem = Path(audio.stem)
    if stem.suffix.lower() == MIC_SUFFIX:
        echo = audio.with_name(stem.stem + ".json")
        if echo.is_file():
            return echo
    return None


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
        labels = label_file(audio)
        if labels is not None:
            pairs.append((audio, labels))
    if not pairs:
        raise ValueError(f"{root} holds no audio file (.wav/.flac) with a .json label file "
                         "beside it")
    return pairs


def evaluate_clip(audio: Path, labels_path: Path, *, vad: str = "silero",
                  options: TurnEngineOptions | None = None, model_path: str | None = None,
                  turn_detector: str | None = None, eot_model: Any = None,
                  sample_rate: int | None = None) -> ClipScore:
    """Replay one labelled clip and score it (optionally resampled to ``sample_rate``)."""
    return evaluate_clip_eotbench(audio, labels_path, vad=vad, options=options,
                                  model_path=model_path, turn_detector=turn_detector,
                                  eot_model=eot_model, sample_rate=sample_rate)[0]


def evaluate_clip_eotbench(audio: Path, labels_path: Path, *, vad: str = "silero",
                           options: TurnEngineOptions | None = None,
                           model_path: str | None = None, turn_detector: str | None = None,
                           eot_model: Any = None,
                           sample_rate: int | None = None) -> tuple[ClipScore, EotBenchClip]:
    """Replay one labelled clip once; its SPEC 11 scores and its eot-bench scores.

    Parameters are those of `evaluate_directory` (``eot_model``: a loaded Smart Turn model to
    share).  The eot-bench scorer gets the ``stream_time`` of every ``user_turn_completed``.
    """
    labels = load_labels(labels_path)
    decoded = read_audio(audio)
    if sample_rate is not None and sample_rate != decoded.sample_rate:
        decoded = resample_audio(decoded, sample_rate)
    result = replay_audio(decoded, vad=vad, options=options, model_path=model_path,
                          turn_detector=turn_detector, eot_model=eot_model)
    return score_output(labels, segments_from_events(result.events), result.audio.duration,
                        audio.stem)


def score_output(labels: Labels, out: EngineOutput, duration_s: float,
                 clip: str) -> tuple[ClipScore, EotBenchClip]:
    """SPEC 11 scores and eot-bench scores of one replay's scorer inputs against its labels
    (``turnengine sweep`` scores cached replays with it)."""
    score = score_clip(labels, out.speech_segments, out.decision_segments, out.turn_completions,
                       duration_s=duration_s, clip=clip)
    holds, eots = eotbench_spans(labels)
    return score, score_spans(holds, eots, out.turn_completions, clip=clip)


def evaluate_directory(directory: str | os.PathLike[str], *, vad: str = "silero",
                       options: TurnEngineOptions | None = None, model_path: str | None = None,
                       turn_detector: str | None = None, sample_rate: int | None = None,
                       on_clip: Callable[[ClipScore], Any] | None = None,
                       eot_model: Any = None) -> EvalResult:
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
    eot_model : SmartTurnModel, optional
        A loaded Smart Turn model (a sweep loads it once); default: loaded here when
        ``turn_detector == "smart-turn"``.

    Returns
    -------
    EvalResult
        SPEC 11 scores and eot-bench scores of the same replays.
    """
    # Loaded once for every clip; when missing, each engine warns and falls back.
    if eot_model is None and turn_detector == "smart-turn":
        eot_model = load_smart_turn(warn=False)
    scores = []
    benches = []
    for audio, labels in labelled_clips(directory):
        score, bench = evaluate_clip_eotbench(
            audio, labels, vad=vad, options=options, model_path=model_path,
            turn_detector=turn_detector, eot_model=eot_model, sample_rate=sample_rate)
        scores.append(score)
        benches.append(bench)
        if on_clip is not None:
            on_clip(score)
    return EvalResult(scores, pool(scores), benches, pool_eotbench(benches))
