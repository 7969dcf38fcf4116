"""Run the engine over a directory of labelled clips and score it (``turnengine eval``): moved
to :mod:`turnengine.tools.eval.runner`, re-exported here."""

from __future__ import annotations

from .tools.eval.runner import (
    AUDIO_SUFFIXES,
    EvalResult,
    evaluate_clip,
    evaluate_directory,
    labelled_clips,
    resample_audio,
)

__all__ = [
    "AUDIO_SUFFIXES",
    "EvalResult",
    "evaluate_clip",
    "evaluate_directory",
    "labelled_clips",
    "resample_audio",
]
