"""Session timeline plots (``turnengine plot``, SPEC 10).

A replay of one file is drawn as a PNG a person can read: the waveform, the VAD probability (raw
and smoothed) against the activation and deactivation thresholds, the engine's speaking segments,
each ``user_turn_completed`` decision with its ``end_of_utterance_delay`` and reason, the agent's
state (speaking, thinking) with interruptions, false interruptions and backchannels, and the
timing labels when a SPEC 11 label file (``FILE.json``) sits beside the audio.

The numbers are computed first (:func:`build_timeline` returns a :class:`Timeline`), then drawn
(:func:`draw_timeline`), so tests and notebooks can check what is drawn without reading pixels.
matplotlib is used through its object API on an Agg canvas: no pyplot, no global backend change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .engine import WindowLog
from .evaluation import Labels, load_labels, segments_from_events
from .options import TurnEngineOptions
from .replay import ReplayResult, replay_audio
from .scenario import Scenario

__all__ = [
    "TurnMark",
    "Timeline",
    "PlotResult",
    "build_timeline",
    "draw_timeline",
    "plot_file",
]

_ENVELOPE_BINS = 4000
_AGENT_COLORS = {"speaking": "#8e6cc0", "thinking": "#f2c14e", "initializing": "#bbbbbb"}


@dataclass(frozen=True)
class TurnMark:
    """One ``user_turn_completed`` decision.

    Attributes
    ----------
    t : float
        Decision time (``stream_time``), s of audio.
    end_of_utterance_delay : float
        Seconds from the end of the user's speech to the decision.
    reason : str
        ``no_model``, ``stt``, ``manual``, ``text``, or the end-of-turn model's reason.
    eot_probability : float or None
        The end-of-turn model's probability that the user was done (None without a model).
    """

    t: float
    end_of_utterance_delay: float
    reason: str
    eot_probability: float | None = None

    @property
    def last_speaking(self) -> float:
        """Back-dated end of the user's speech (s of audio) the delay is measured from."""
        return self.t - self.end_of_utterance_delay


@dataclass
class Timeline:
    """Everything :func:`draw_timeline` draws, in seconds of audio.

    Attributes
    ----------
    name : str
        File name shown in the title.
    subtitle : str
        VAD, scenario and non-default options, shown under the title.
    duration_s : float
        Length of the plot: the file plus the silent tail the replay pushed.
    audio_s : float
        Length of the file itself.
    envelope_t, envelope_lo, envelope_hi : numpy.ndarray of float, shape (n_bins,)
        Min/max waveform envelope (full scale = 1).
    window : WindowLog
        Per-window raw and smoothed probabilities.
    activation_threshold, deactivation_threshold : float
        The thresholds in force.
    speech : list of (float, float)
        Engine speaking segments, back-dated (``audio_time``); an open one ends at
        ``duration_s``.
    turns : list of TurnMark
    agent_bands : list of (float, float, str)
        ``(start, end, state)`` for every agent state other than ``listening``.
    interruptions : list of float
        ``agent_interrupted`` decision times.
    false_interruptions : list of (float, bool)
        ``agent_false_interruption`` times and whether the agent resumed.
    backchannels : list of (float, float)
        ``user_backchannel`` decision times and durations.
    labels : Labels or None
        Timing labels of the file, if a label file was found.
    """

    name: str
    subtitle: str
    duration_s: float
    audio_s: float
    envelope_t: np.ndarray
    envelope_lo: np.ndarray
    envelope_hi: np.ndarray
    window: WindowLog
    activation_threshold: float
    deactivation_threshold: float
    speech: list[tuple[float, float]] = field(default_factory=list)
    turns: list[TurnMark] = field(default_factory=list)
    agent_bands: list[tuple[float, float, str]] = field(default_factory=list)
    interruptions: list[float] = field(default_factory=list)
    false_interruptions: list[tuple[float, bool]] = field(default_factory=list)
    backchannels: list[tuple[float, float]] = field(default_factory=list)
    labels: Labels | None = None

    def summary(self) -> str:
        """One line: turns, mean delay, interruptions, false interruptions, backchannels."""
        parts = [f"{len(self.turns)} user turn(s)"]
        if self.turns:
            mean = float(np.mean([t.end_of_utterance_delay for t in self.turns]))
            parts.append(f"mean end_of_utterance_delay {mean:.3f} s")
        parts.append(f"{len(self.interruptions)} interruption(s)")
        parts.append(f"{len(self.false_interruptions)} false interruption(s)")
        parts.append(f"{len(self.backchannels)} backchannel(s)")
        return ", ".join(parts)


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
        Things the caller may want to tell the user (a label file that could not be read).
    """

    timeline: Timeline
    figure: Any
    artists: dict[str, list[Any]]
    path: Path | None
    replay: ReplayResult
    notes: list[str] = field(default_factory=list)


def _envelope(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mono = samples.astype(np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if samples.dtype == np.int16:
        mono /= 32768.0
    n = mono.shape[0]
    bins = max(1, min(_ENVELOPE_BINS, n))
    edges = np.linspace(0, n, bins + 1).astype(np.int64)
    lo = np.minimum.reduceat(mono, edges[:-1])
    hi = np.maximum.reduceat(mono, edges[:-1])
    t = (edges[:-1] + edges[1:]) / 2.0 / rate
    return t, lo, hi


def _options_text(options: TurnEngineOptions) -> str:
    default = TurnEngineOptions()
    changed = [f"{k}={v}" for k, v in options.to_dict().items() if v != getattr(default, k)]
    return ", ".join(changed) if changed else "default options"


def build_timeline(result: ReplayResult, *, labels: Labels | None = None,
                   subtitle: str = "") -> Timeline:
    """Collect what to draw from a replay made with ``keep_window_log=True``.

    Parameters
    ----------
    result : ReplayResult
        From :func:`~turnengine.replay.replay_audio` / ``replay_file`` with
        ``keep_window_log=True``.
    labels : Labels, optional
        Timing labels of the file.
    subtitle : str
        Second title line (VAD, scenario, options); default: the non-default options.

    Raises
    ------
    RuntimeError
        If the replay's engine kept no window log.
    """
    engine = result.engine
    window = engine.window_log()
    duration = float(max(result.report.duration, result.audio.duration,
                         window.end_time[-1] if window.end_time.size else 0.0))
    env_t, env_lo, env_hi = _envelope(result.audio.samples, result.audio.sample_rate)
    opts = engine.options
    tl = Timeline(
        name=Path(result.audio.path).name, duration_s=duration, audio_s=result.audio.duration,
        subtitle=subtitle or f"vad={engine.vad.name}; {_options_text(opts)}",
        envelope_t=env_t, envelope_lo=env_lo, envelope_hi=env_hi, window=window,
        activation_threshold=opts.activation_threshold,
        deactivation_threshold=opts.effective_deactivation_threshold, labels=labels)
    segs = segments_from_events(result.events)
    tl.speech = [(a, duration if b is None else b) for a, b in segs.speech_segments]
    agent_state, agent_since = "listening", 0.0
    for ev in result.events:
        d = ev.to_dict()
        kind, t = d["type"], float(d["stream_time"])
        if kind == "user_turn_completed":
            prob = d.get("eot_probability")
            tl.turns.append(TurnMark(t, float(d["end_of_utterance_delay"]), str(d["reason"]),
                                     None if prob is None else float(prob)))
        elif kind == "agent_state_changed":
            if agent_state != "listening" and t > agent_since:
                tl.agent_bands.append((agent_since, t, agent_state))
            agent_state, agent_since = str(d["new_state"]), t
        elif kind == "agent_interrupted":
            tl.interruptions.append(t)
        elif kind == "agent_false_interruption":
            tl.false_interruptions.append((t, bool(d["resumed"])))
        elif kind == "user_backchannel":
            tl.backchannels.append((t, float(d["duration"])))
    if agent_state != "listening" and duration > agent_since:
        tl.agent_bands.append((agent_since, duration, agent_state))
    return tl


def _label_spans(labels: Labels) -> tuple[list[tuple[float, float]], list[tuple[float, float]],
                                           list[tuple[float, float]]]:
    speech = [(s.start_s, s.end_s) for s in labels.segments]
    pauses = [(s.start_s, s.end_s) for s in labels.intra_turn_pauses]
    backs = [(s.start_s, s.end_s) for s in labels.backchannels]
    return speech, pauses, backs


def draw_timeline(tl: Timeline, *, width_in: float | None = None) -> tuple[Any, dict[str, list]]:
    """Draw a :class:`Timeline` on a new matplotlib figure (Agg canvas).

    Parameters
    ----------
    tl : Timeline
    width_in : float, optional
        Figure width in inches; default grows with the duration (12 to 22 in at 100 dpi).

    Returns
    -------
    (matplotlib.figure.Figure, dict of str to list of Artist)
        The figure and the drawn markers by kind (see :class:`PlotResult`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    width = width_in if width_in is not None else float(np.clip(8 + tl.duration_s / 3, 12, 22))
    fig = Figure(figsize=(width, 8.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(3, 1, height_ratios=[1.0, 1.5, 1.6])
    ax_wave = fig.add_subplot(gs[0])
    ax_vad = fig.add_subplot(gs[1], sharex=ax_wave)
    ax_tl = fig.add_subplot(gs[2], sharex=ax_wave)
    artists: dict[str, list[Any]] = {k: [] for k in (
        "turn", "interruption", "false_interruption", "backchannel", "agent_band", "speech",
        "label_turn_end")}
    fig.suptitle(f"{tl.name}   ({tl.subtitle})\n{tl.summary()}", fontsize=11)
    labels = tl.labels
    l_speech, l_pauses, l_backs = _label_spans(labels) if labels is not None else ([], [], [])

    # -- waveform, with the labels behind it -----------------------------------------------------
    for a, b in l_speech:
        ax_wave.axvspan(a, b, color="#cfe8cf", lw=0, zorder=0)
    for a, b in l_pauses:
        ax_wave.axvspan(a, b, facecolor="none", edgecolor="#e08a2c", hatch="///", lw=0, zorder=0)
    ax_wave.fill_between(tl.envelope_t, tl.envelope_lo, tl.envelope_hi, color="#555555", lw=0.3,
                         zorder=2)
    if labels is not None:
        for t in labels.turn_ends:
            artists["label_turn_end"].append(
                ax_wave.axvline(t, color="#2a7a2a", ls="--", lw=1.0, zorder=3))
    peak = max(float(np.max(np.abs(tl.envelope_hi))), float(np.max(np.abs(tl.envelope_lo))), 1e-3)
    ax_wave.set_ylim(-1.1 * peak, 1.1 * peak)
    ax_wave.set_ylabel("waveform")
    ax_wave.set_yticks([])
    wave_handles: list[Any] = [Line2D([], [], color="#555555", lw=3, label="audio")]
    if labels is not None:
        wave_handles += [Patch(color="#cfe8cf", label="labelled speech"),
                         Patch(facecolor="none", edgecolor="#e08a2c", hatch="///",
                               label="labelled pause\n(same turn)"),
                         Line2D([], [], color="#2a7a2a", ls="--", label="labelled turn end")]
    ax_wave.legend(handles=wave_handles, loc="upper left", bbox_to_anchor=(1.005, 1.0),
                   fontsize=8, frameon=False)

    # -- VAD probability ---------------------------------------------------------------------------
    w = tl.window
    for a, b in tl.speech:
        ax_vad.axvspan(a, b, color="#dce9f7", lw=0, zorder=0)
    if w.end_time.size:
        ax_vad.step(w.end_time, w.probability, where="post", color="#9a9a9a", lw=0.7,
                    label="raw probability")
        ax_vad.step(w.end_time, w.smoothed, where="post", color="#1f5fbf", lw=1.3,
                    label="smoothed probability")
    ax_vad.axhline(tl.activation_threshold, color="#d62728", ls="--", lw=1.0,
                   label=f"activation {tl.activation_threshold:g}")
    ax_vad.axhline(tl.deactivation_threshold, color="#ff9f1c", ls=":", lw=1.4,
                   label=f"deactivation {tl.deactivation_threshold:g}")
    ax_vad.set_ylim(-0.03, 1.05)
    ax_vad.set_ylabel("VAD probability")
    handles, _ = ax_vad.get_legend_handles_labels()
    handles.append(Patch(color="#dce9f7", label="engine: user speaking"))
    ax_vad.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8,
                  frameon=False)

    # -- lanes: labels, user (engine), agent ----------------------------------------------------
    lanes = (["labels"] if labels is not None else []) + ["user (engine)", "agent"]
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    h = 0.5
    if labels is not None:
        ly = y["labels"]
        ax_tl.broken_barh([(a, b - a) for a, b in l_speech], (ly - h / 2, h), color="#7fbf7f")
        if l_pauses:
            ax_tl.broken_barh([(a, b - a) for a, b in l_pauses], (ly - h / 2, h),
                              facecolor="none", edgecolor="#e08a2c", hatch="///")
        if l_backs:
            ax_tl.broken_barh([(a, b - a) for a, b in l_backs], (ly - h / 2, h), color="#17becf")
        for t in labels.turn_ends:
            ax_tl.plot([t, t], [ly - h / 2 - 0.1, ly + h / 2 + 0.1], color="#2a7a2a", ls="--",
                       lw=1.0)
    uy = y["user (engine)"]
    if tl.speech:
        artists["speech"].append(ax_tl.broken_barh([(a, b - a) for a, b in tl.speech],
                                                   (uy - h / 2, h), color="#4c8ed9"))
    ay = y["agent"]
    for a, b, state in tl.agent_bands:
        artists["agent_band"].append(ax_tl.broken_barh(
            [(a, b - a)], (ay - h / 2, h), color=_AGENT_COLORS.get(state, "#bbbbbb")))
    # Turn decisions: a red bar from the end of speech to the decision, a line through the
    # lanes, and the delay and reason above (skipped where labels would collide).
    min_gap = tl.duration_s / (width * 1.4)  # about 0.7 in between two texts
    last_text = -np.inf
    top = len(lanes) - 0.5
    for turn in tl.turns:
        line = ax_tl.plot([turn.t, turn.t], [-0.5, top], color="#d62728", lw=1.2, zorder=4)[0]
        ax_tl.plot([turn.last_speaking, turn.t], [uy + h / 2 + 0.08] * 2, color="#d62728",
                   lw=2.5, solid_capstyle="butt", zorder=4)
        artists["turn"].append(line)
        if turn.t - last_text >= min_gap:
            prob = "" if turn.eot_probability is None else f" p={turn.eot_probability:.2f}"
            ax_tl.annotate(f"{turn.end_of_utterance_delay:.2f}s{prob}\n{turn.reason}",
                           (turn.t, top), xytext=(0, 2), textcoords="offset points",
                           ha="center", va="bottom", fontsize=7, color="#b01010",
                           annotation_clip=False)
            last_text = turn.t
    if tl.interruptions:
        artists["interruption"].append(ax_tl.scatter(
            tl.interruptions, [ay] * len(tl.interruptions), marker="X", s=90, color="#d62728",
            edgecolor="white", zorder=5))
    if tl.false_interruptions:
        artists["false_interruption"].append(ax_tl.scatter(
            [t for t, _ in tl.false_interruptions], [ay] * len(tl.false_interruptions),
            marker="v", s=80, color="#e377c2", edgecolor="black", zorder=5))
    if tl.backchannels:
        artists["backchannel"].append(ax_tl.scatter(
            [t for t, _ in tl.backchannels], [uy] * len(tl.backchannels), marker="o", s=60,
            color="#17becf", edgecolor="black", zorder=5))
    ax_tl.set_yticks([y[n] for n in lanes], lanes)
    ax_tl.set_ylim(-0.6, top + 0.75)
    ax_tl.set_xlabel("time (s of audio)")
    tl_handles: list[Any] = []
    if labels is not None:
        tl_handles.append(Patch(color="#7fbf7f", label="labelled speech"))
    tl_handles += [Patch(color="#4c8ed9", label="user speaking\n(engine, back-dated)"),
                   Line2D([], [], color="#d62728", lw=1.2,
                          label="user_turn_completed\n(bar: end_of_utterance_delay)")]
    states = sorted({s for _, _, s in tl.agent_bands})
    tl_handles += [Patch(color=_AGENT_COLORS.get(s, "#bbbbbb"), label=f"agent {s}")
                   for s in states]
    if tl.interruptions:
        tl_handles.append(Line2D([], [], ls="", marker="X", ms=9, color="#d62728",
                                 label="agent_interrupted"))
    if tl.false_interruptions:
        tl_handles.append(Line2D([], [], ls="", marker="v", ms=8, color="#e377c2", mec="black",
                                 label="false interruption"))
    if tl.backchannels:
        tl_handles.append(Line2D([], [], ls="", marker="o", ms=7, color="#17becf", mec="black",
                                 label="user_backchannel"))
    if tl.audio_s < tl.duration_s - 1e-6:
        tl_handles.append(Patch(color="#eeeeee", label="after the file\n(silence pushed)"))
    ax_tl.legend(handles=tl_handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8,
                 frameon=False)

    for ax in (ax_wave, ax_vad, ax_tl):
        ax.set_xlim(0.0, tl.duration_s)
        ax.grid(axis="x", color="#e6e6e6", lw=0.6)
        ax.set_axisbelow(True)
        if tl.audio_s < tl.duration_s - 1e-6:
            ax.axvspan(tl.audio_s, tl.duration_s, color="#eeeeee", lw=0, zorder=-1)
    ax_wave.tick_params(labelbottom=False)
    ax_vad.tick_params(labelbottom=False)
    return fig, artists


def plot_file(path: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
              scenario: Scenario | None = None, scenario_name: str | None = None,
              vad: str = "silero", options: TurnEngineOptions | None = None,
              model_path: str | None = None, turn_detector: str | None = None,
              labels: str | os.PathLike[str] | None | bool = True) -> PlotResult:
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
        True: use ``FILE.json`` beside the audio when it exists; False/None: no labels; a path:
        that label file.

    Raises
    ------
    FileNotFoundError
        The audio file (or an explicit label file) does not exist.
    ValueError
        Not decodable audio, an unsupported rate, bad options, or a bad explicit label file.
    """
    from .audio import read_audio

    audio = read_audio(path)
    notes: list[str] = []
    label_data: Labels | None = None
    if labels is True:
        beside = Path(path).with_suffix(".json")
        if beside.is_file():
            try:
                label_data = load_labels(beside)
            except ValueError as exc:
                notes.append(f"ignoring {beside.name}: not a label file ({exc})")
    elif labels:
        label_data = load_labels(Path(labels))
    result = replay_audio(audio, vad=vad, options=options, model_path=model_path,
                          scenario=scenario, turn_detector=turn_detector, keep_window_log=True)
    parts = [f"vad={vad}"]
    if turn_detector is not None:
        parts.append(f"turn_detector={turn_detector}")
    if scenario is not None:
        parts.append(f"scenario={scenario_name or 'yes'}")
    parts.append(_options_text(result.engine.options))
    tl = build_timeline(result, labels=label_data, subtitle="; ".join(parts))
    fig, artists = draw_timeline(tl)
    written: Path | None = None
    if out is not None:
        written = Path(out)
        fig.savefig(written, dpi=100)
    return PlotResult(tl, fig, artists, written, result, notes)
