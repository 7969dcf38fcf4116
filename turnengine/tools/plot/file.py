"""``turnengine plot``: replay one file and draw its timeline as a PNG (:func:`plot_file`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...audio import read_audio
from ...options import TurnEngineOptions
from ...replay import ReplayResult, replay_audio
from ...scenario import Scenario
from ..eval.labels import Labels, load_labels
from .draw import draw_timeline
from .timeline import Timeline, build_timeline, options_text

__all__ = ["PlotResult", "plot_file"]


@dataclass
class PlotResult:
    """What :func:`plot_file` made.

    Attributes
    ----------
    timeline : Timeline
        The numbers drawn.
    figure : matplotlib.figure.Figure
        The figure (already saved when ``path`` is set).
    artists : dict of str to list
        The drawn markers by kind: ``"turn"`` (one per ``user_turn_completed``),
        ``"interruption"``, ``"false_interruption"``, ``"backchannel"``, ``"agent_band"``,
        ``"speech"``, ``"label_turn_end"``.
    path : pathlib.Path or None
        Where the PNG was written.
    replay : ReplayResult
        The replay the timeline came from (events, report, engine).
    notes : list of str
        Things the caller may want to tell the user (a label file that could not be read, or
        none found beside the audio).
    """

    timeline: Timeline
    figure: Any
    artists: dict[str, list[Any]]
    path: Path | None
    replay: ReplayResult
    notes: list[str] = field(default_factory=list)


def plot_file(path: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
              scenario: Scenario | None = None, scenario_name: str | None = None,
              vad: str = "silero", options: TurnEngineOptions | None = None,
              model_path: str | None = None, turn_detector: str | None = None,
              labels: str | os.PathLike[str] | None | bool = True,
              playout: str | os.PathLike[str] | None = None) -> PlotResult:
    """Replay an audio file and draw its timeline; write it as PNG when ``out`` is given.

    Parameters
    ----------
    path : str or PathLike
        WAV/FLAC file (any supported rate).
    out : str or PathLike, optional
        PNG to write.
    scenario : Scenario, optional
        Host side of the call (agent speech, transcripts); see :mod:`turnengine.scenario`.
    scenario_name : str, optional
        Name of the scenario shown in the title.
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
        Engine options (applied over the scenario's).
    model_path : str, optional
        A ``silero_vad.onnx`` instead of the packaged one.
    turn_detector : {None, "smart-turn"}
        End-of-turn model; its probability is shown at each turn decision.
    labels : bool or path
        True: use ``FILE.json`` beside the audio when it exists (``NAME.json`` for a
        ``NAME.mic.wav``); False/None: no labels; a path: that label file.
    playout : str or PathLike, optional
        The agent's playout (same clock and rate): given to the engine as the echo reference,
        and drawn with the echo-reduced signal the VAD heard.

    Raises
    ------
    FileNotFoundError
        The audio file (or an explicit label file) does not exist.
    ValueError
        Not decodable audio, an unsupported rate, bad options, or a bad explicit label file.
    """
    audio = read_audio(path)
    notes: list[str] = []
    label_data = _labels_for(path, labels, notes)
    far = None if playout is None else read_audio(playout)
    result = replay_audio(audio, vad=vad, options=options, model_path=model_path,
                          scenario=scenario, turn_detector=turn_detector, keep_window_log=True,
                          playout=far)
    subtitle = _subtitle(vad, turn_detector,
                         None if scenario is None else scenario_name or "yes",
                         options_text(result.engine.options), playout)
    tl = build_timeline(result, labels=label_data, subtitle=subtitle, playout=far)
    fig, artists = draw_timeline(tl)
    written: Path | None = None
    if out is not None:
        written = Path(out)
        fig.savefig(written, dpi=100)
    return PlotResult(tl, fig, artists, written, result, notes)


def _subtitle(vad: str, turn_detector: str | None, scenario: str | None, options: str,
              playout: str | os.PathLike[str] | None) -> str:
    parts = [f"vad={vad}"]
    if turn_detector is not None:
        parts.append(f"turn_detector={turn_detector}")
    if scenario is not None:
        parts.append(f"scenario={scenario}")
    parts.append(options)
    if playout is not None:
        parts.append(f"playout={Path(playout).name}")
    return "; ".join(parts)


def _labels_for(path: str | os.PathLike[str], labels: str | os.PathLike[str] | None | bool,
                notes: list[str]) -> Labels | None:
    """The labels to draw: ``FILE.json`` beside the audio (``labels=True``; a note when it is
    not a label file), an explicit file, or none."""
    if labels is True:
        beside = Path(path).with_suffix(".json")
        if Path(path).name.endswith(".mic.wav"):  # an echo set's NAME.mic.wav + NAME.json
            beside = Path(path).with_name(Path(path).name[:-len(".mic.wav")] + ".json")
        if beside.is_file():
            try:
                return load_labels(beside)
            except ValueError as exc:
                notes.append(f"ignoring {beside.name}: not a label file ({exc})")
        else:
            notes.append(f"no labels found (looked for {beside}); --labels L.json names a "
                         "label file")
        return None
    if labels:
        return load_labels(Path(labels))
    return None
