"""Session timeline plots (``turnengine plot``, SPEC 10).

A replay of one file is drawn as a PNG a person can read: the waveform, the VAD probability (raw
and smoothed) against the activation and deactivation thresholds, the engine's speaking segments,
each ``user_turn_completed`` decision with its ``end_of_utterance_delay`` and reason, the agent's
state (speaking, thinking) with interruptions, false interruptions and backchannels, and the
timing labels when a SPEC 11 label file (``FILE.json``) sits beside the audio.

The numbers are computed first (:mod:`.timeline`: :func:`build_timeline` returns a
:class:`Timeline`), then drawn (:mod:`.draw`: :func:`draw_timeline`), so tests and notebooks
can check what is drawn without reading pixels; :mod:`.file` does both for one audio file.
"""

from __future__ import annotations

from .draw import draw_timeline
from .file import PlotResult, plot_file
from .timeline import Timeline, TurnMark, build_timeline

__all__ = [
    "TurnMark",
    "Timeline",
    "PlotResult",
    "build_timeline",
    "draw_timeline",
    "plot_file",
]
