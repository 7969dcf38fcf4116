"""Replay an echo set through the engine and score it (``turnengine eval`` on an echo set).

Each ``NAME.mic.wav`` is replayed with the ``scenario`` of its ``NAME.json`` (the agent speaks
at the labelled times, so the engine has an agent to interrupt) and scored by :mod:`.echo`;
:mod:`.echo_report` pools the scores.  The engine is given the ``NAME.playout.wav`` beside
it as the far-end reference (``push_playout``), unless asked not to (the engine without a
reference: the baseline of docs/echo.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...audio import AudioFile, read_audio
from ...eot import load_smart_turn
from ...options import TurnEngineOptions
from ...replay import replay_audio
from ...scenario import Scenario
from .echo import EchoClipScore, EchoLabels, is_echo_labels, load_echo_labels, score_echo_clip
from .echo_report import EchoResult
from .events import agent_from_events
from .runner import labelled_clips, resample_audio

__all__ = ["evaluate_echo_audio", "evaluate_echo_directory", "is_echo_set"]


def is_echo_set(pairs: list[tuple[Path, Path]]) -> bool:
    """Whether the label files of ``pairs`` are echo-set files (the first one decides; a file
    that is not readable JSON counts as not)."""
    if not pairs:
        return False
    try:
        data = json.loads(pairs[0][1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and is_echo_labels(data)


def _playout_for(labels_path: Path) -> AudioFile | None:
    """``NAME.playout.wav`` beside ``NAME.json``, decoded, or None."""
    path = labels_path.with_name(f"{labels_path.stem}.playout.wav")
    return read_audio(path) if path.exists() else None


def evaluate_echo_audio(audio: AudioFile, labels: EchoLabels, *, vad: str = "silero",
                        options: TurnEngineOptions | None = None, **replay: Any
                        ) -> EchoClipScore:
    """Replay ``audio`` (a mic signal, raw or echo-reduced) with the labels' scenario; score it.

    Parameters
    ----------
    audio : AudioFile
        The microphone signal.
    labels : EchoLabels
        Its labels; ``labels.scenario`` plays the agent.
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
        Complete engine options; default: the scenario's ``options`` on the SPEC defaults.
    **replay
        Passed to :func:`~turnengine.replay.replay_audio` (``model_path``, ``turn_detector``,
        ``eot_model``).

    Raises
    ------
    ValueError
        A bad scenario, options or audio (as :func:`~turnengine.replay.replay_audio`).
    """
    scenario = Scenario.from_dict(labels.scenario, f"{labels.clip}: scenario")
    result = replay_audio(audio, vad=vad, options=options, scenario=scenario, **replay)
    interruptions, speaking = agent_from_events(result.events)
    return score_echo_clip(labels, interruptions, speaking)


def evaluate_echo_directory(directory: str | os.PathLike[str], *, vad: str = "silero",
                            options: TurnEngineOptions | None = None,
                            model_path: str | None = None, turn_detector: str | None = None,
                            sample_rate: int | None = None,
                            on_clip: Callable[[EchoClipScore], Any] | None = None,
                            use_playout: bool = True, echo_canceller: str | None = None
                            ) -> EchoResult:
    """Score every ``NAME.mic.wav`` (or ``NAME.wav``) + ``NAME.json`` of an echo set.

    Parameters are those of :func:`~.runner.evaluate_directory`; ``on_clip`` gets each
    :class:`~.echo.EchoClipScore` as soon as it is ready.  With ``use_playout`` (default) a
    ``NAME.playout.wav`` beside the mic file is given to the engine as the far-end reference
    (``push_playout``, through ``echo_canceller``); without one, or with
    ``use_playout=False``, the engine hears the mic alone.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`~.runner.labelled_clips`; ``ValueError`` too for a label file that is not an
        echo-set one.
    """
    eot_model = load_smart_turn(warn=False) if turn_detector == "smart-turn" else None
    scores = []
    for audio_path, labels_path in labelled_clips(directory):
        labels = load_echo_labels(labels_path)
        decoded = read_audio(audio_path)
        playout = _playout_for(labels_path) if use_playout else None
        if sample_rate is not None and sample_rate != decoded.sample_rate:
            decoded = resample_audio(decoded, sample_rate)
            playout = None if playout is None else resample_audio(playout, sample_rate)
        echo: dict[str, Any] = {} if playout is None else {"playout": playout}
        if playout is not None and echo_canceller is not None:
            echo["echo_canceller"] = echo_canceller
        score = evaluate_echo_audio(decoded, labels, vad=vad, options=options,
                                    model_path=model_path, turn_detector=turn_detector,
                                    eot_model=eot_model, **echo)
        scores.append(score)
        if on_clip is not None:
            on_clip(score)
    return EchoResult.from_clips(scores)
