"""Drawing a :class:`~turnengine.tools.plot.timeline.Timeline`: three panels sharing the time
axis (waveform with the labels behind it; VAD probability against both thresholds; lanes for
the labels, the user as the engine saw it, and the agent).

matplotlib is used through its object API on an Agg canvas: no pyplot, no global backend change.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..eval.labels import Labels
from .timeline import Timeline

__all__ = ["ARTIST_KINDS", "draw_timeline"]

ARTIST_KINDS = ("turn", "interruption", "false_interruption", "backchannel", "agent_band",
                "speech", "label_turn_end")
"""Keys of the artists dict returned by :func:`draw_timeline`."""

_AGENT_COLORS = {"speaking": "#8e6cc0", "thinking": "#f2c14e", "initializing": "#bbbbbb"}

Spans = list[tuple[float, float]]
Artists = dict[str, list[Any]]


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
        The figure and the drawn markers by kind (see
        :class:`~turnengine.tools.plot.file.PlotResult`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width = width_in if width_in is not None else float(np.clip(8 + tl.duration_s / 3, 12, 22))
    fig = Figure(figsize=(width, 8.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(3, 1, height_ratios=[1.0, 1.5, 1.6])
    ax_wave = fig.add_subplot(gs[0])
    ax_vad = fig.add_subplot(gs[1], sharex=ax_wave)
    ax_tl = fig.add_subplot(gs[2], sharex=ax_wave)
    artists: Artists = {k: [] for k in ARTIST_KINDS}
    fig.suptitle(f"{tl.name}   ({tl.subtitle})\n{tl.summary()}", fontsize=11)
    _draw_waveform(ax_wave, tl, artists)
    _draw_vad(ax_vad, tl)
    _draw_lanes(ax_tl, tl, artists, width)
    for ax in (ax_wave, ax_vad, ax_tl):
        ax.set_xlim(0.0, tl.duration_s)
        ax.grid(axis="x", color="#e6e6e6", lw=0.6)
        ax.set_axisbelow(True)
        if tl.audio_s < tl.duration_s - 1e-6:
            ax.axvspan(tl.audio_s, tl.duration_s, color="#eeeeee", lw=0, zorder=-1)
    ax_wave.tick_params(labelbottom=False)
    ax_vad.tick_params(labelbottom=False)
    return fig, artists


def _label_spans(labels: Labels | None) -> tuple[Spans, Spans, Spans]:
    """Labelled speech, intra-turn pauses and backchannels (all empty without labels)."""
    if labels is None:
        return [], [], []
    speech = [(s.start_s, s.end_s) for s in labels.segments]
    pauses = [(s.start_s, s.end_s) for s in labels.intra_turn_pauses]
    backs = [(s.start_s, s.end_s) for s in labels.backchannels]
    return speech, pauses, backs


def _legend(ax: Any, handles: list[Any]) -> None:
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8,
              frameon=False)


def _draw_waveform(ax: Any, tl: Timeline, artists: Artists) -> None:
    """The waveform envelope, with labelled speech, pauses and turn ends behind it."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    labels = tl.labels
    l_speech, l_pauses, _ = _label_spans(labels)
    for a, b in l_speech:
        ax.axvspan(a, b, color="#cfe8cf", lw=0, zorder=0)
    for a, b in l_pauses:
        ax.axvspan(a, b, facecolor="none", edgecolor="#e08a2c", hatch="///", lw=0, zorder=0)
    mic_color = "#555555" if tl.echo_reduced is None else "#b8b8b8"
    if tl.reference is not None:
        t, lo, hi = tl.reference
        ax.fill_between(t, lo, hi, color="#c9b8e6", lw=0.3, zorder=1)
    ax.fill_between(tl.envelope_t, tl.envelope_lo, tl.envelope_hi, color=mic_color, lw=0.3,
                    zorder=2)
    if tl.echo_reduced is not None:
        t, lo, hi = tl.echo_reduced
        ax.fill_between(t, lo, hi, color="#333333", lw=0.3, zorder=2.5)
    if labels is not None:
        for t_end in labels.turn_ends:
            artists["label_turn_end"].append(
                ax.axvline(t_end, color="#2a7a2a", ls="--", lw=1.0, zorder=3))
    peak = max(float(np.max(np.abs(tl.envelope_hi))), float(np.max(np.abs(tl.envelope_lo))), 1e-3)
    ax.set_ylim(-1.1 * peak, 1.1 * peak)
    ax.set_ylabel("waveform")
    ax.set_yticks([])
    handles: list[Any] = [Line2D([], [], color=mic_color, lw=3, label="audio")]
    if tl.reference is not None:
        handles.append(Line2D([], [], color="#c9b8e6", lw=3, label="agent playout"))
    if tl.echo_reduced is not None:
        handles.append(Line2D([], [], color="#333333", lw=3, label="echo-reduced\n(VAD input)"))
        ax.set_title(tl.echo_note, fontsize=9, loc="left")
    if labels is not None:
        handles += [Patch(color="#cfe8cf", label="labelled speech"),
                    Patch(facecolor="none", edgecolor="#e08a2c", hatch="///",
                          label="labelled pause\n(same turn)"),
                    Line2D([], [], color="#2a7a2a", ls="--", label="labelled turn end")]
    _legend(ax, handles)


def _draw_vad(ax: Any, tl: Timeline) -> None:
    """Raw and smoothed VAD probability, both thresholds, the engine's speaking segments."""
    from matplotlib.patches import Patch

    w = tl.window
    for a, b in tl.speech:
        ax.axvspan(a, b, color="#dce9f7", lw=0, zorder=0)
    if w.end_time.size:
        ax.step(w.end_time, w.probability, where="post", color="#9a9a9a", lw=0.7,
                label="raw probability")
        ax.step(w.end_time, w.smoothed, where="post", color="#1f5fbf", lw=1.3,
                label="smoothed probability")
    ax.axhline(tl.activation_threshold, color="#d62728", ls="--", lw=1.0,
               label=f"activation {tl.activation_threshold:g}")
    ax.axhline(tl.deactivation_threshold, color="#ff9f1c", ls=":", lw=1.4,
               label=f"deactivation {tl.deactivation_threshold:g}")
    if tl.eot_points:
        t, p = zip(*tl.eot_points, strict=True)
        ax.plot(t, p, "D", color="#2ca02c", ms=4, zorder=5,
                label=f"end-of-turn model P(done)\n(>= {tl.unlikely_threshold:g}: min delay)")
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel("VAD probability")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(color="#dce9f7", label="engine: user speaking"))
    _legend(ax, handles)


def _draw_lanes(ax: Any, tl: Timeline, artists: Artists, width: float) -> None:
    """Lanes: labels (if any), the user as the engine saw it, the agent; turn decisions across
    them; interruption, false-interruption and backchannel markers."""
    lanes = (["labels"] if tl.labels is not None else []) + ["user (engine)", "agent"]
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    h = 0.5
    if tl.labels is not None:
        _draw_label_lane(ax, tl.labels, y["labels"], h)
    uy, ay = y["user (engine)"], y["agent"]
    if tl.speech:
        artists["speech"].append(ax.broken_barh([(a, b - a) for a, b in tl.speech],
                                                (uy - h / 2, h), color="#4c8ed9"))
    for a, b, state in tl.agent_bands:
        artists["agent_band"].append(ax.broken_barh(
            [(a, b - a)], (ay - h / 2, h), color=_AGENT_COLORS.get(state, "#bbbbbb")))
    top = len(lanes) - 0.5
    _draw_turns(ax, tl, artists, uy + h / 2 + 0.08, top, tl.duration_s / (width * 1.4))
    _draw_markers(ax, tl, artists, uy, ay)
    ax.set_yticks([y[n] for n in lanes], lanes)
    ax.set_ylim(-0.6, top + 0.75)
    ax.set_xlabel("time (s of audio)")
    _legend(ax, _lanes_legend(tl))


def _draw_label_lane(ax: Any, labels: Labels, ly: float, h: float) -> None:
    l_speech, l_pauses, l_backs = _label_spans(labels)
    ax.broken_barh([(a, b - a) for a, b in l_speech], (ly - h / 2, h), color="#7fbf7f")
    if l_pauses:
        ax.broken_barh([(a, b - a) for a, b in l_pauses], (ly - h / 2, h),
                       facecolor="none", edgecolor="#e08a2c", hatch="///")
    if l_backs:
        ax.broken_barh([(a, b - a) for a, b in l_backs], (ly - h / 2, h), color="#17becf")
    for t in labels.turn_ends:
        ax.plot([t, t], [ly - h / 2 - 0.1, ly + h / 2 + 0.1], color="#2a7a2a", ls="--", lw=1.0)


def _draw_turns(ax: Any, tl: Timeline, artists: Artists, bar_y: float, top: float,
                min_gap: float) -> None:
    """Turn decisions: a red bar from the end of speech to the decision, a line through the
    lanes, and the delay and reason above (skipped where texts closer than ``min_gap`` s, about
    0.7 in, would collide)."""
    last_text = -np.inf
    for turn in tl.turns:
        line = ax.plot([turn.t, turn.t], [-0.5, top], color="#d62728", lw=1.2, zorder=4)[0]
        ax.plot([turn.last_speaking, turn.t], [bar_y] * 2, color="#d62728",
                lw=2.5, solid_capstyle="butt", zorder=4)
        artists["turn"].append(line)
        if turn.t - last_text >= min_gap:
            prob = "" if turn.eot_probability is None else f" p={turn.eot_probability:.2f}"
            ax.annotate(f"{turn.end_of_utterance_delay:.2f}s{prob}\n{turn.reason}",
                        (turn.t, top), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="#b01010",
                        annotation_clip=False)
            last_text = turn.t


def _draw_markers(ax: Any, tl: Timeline, artists: Artists, uy: float, ay: float) -> None:
    if tl.interruptions:
        artists["interruption"].append(ax.scatter(
            tl.interruptions, [ay] * len(tl.interruptions), marker="X", s=90, color="#d62728",
            edgecolor="white", zorder=5))
    if tl.false_interruptions:
        artists["false_interruption"].append(ax.scatter(
            [t for t, _ in tl.false_interruptions], [ay] * len(tl.false_interruptions),
            marker="v", s=80, color="#e377c2", edgecolor="black", zorder=5))
    if tl.backchannels:
        artists["backchannel"].append(ax.scatter(
            [t for t, _ in tl.backchannels], [uy] * len(tl.backchannels), marker="o", s=60,
            color="#17becf", edgecolor="black", zorder=5))


def _lanes_legend(tl: Timeline) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    if tl.labels is not None:
        handles.append(Patch(color="#7fbf7f", label="labelled speech"))
    handles += [Patch(color="#4c8ed9", label="user speaking\n(engine, back-dated)"),
                Line2D([], [], color="#d62728", lw=1.2,
                       label="user_turn_completed\n(bar: end_of_utterance_delay)")]
    states = sorted({s for _, _, s in tl.agent_bands})
    handles += [Patch(color=_AGENT_COLORS.get(s, "#bbbbbb"), label=f"agent {s}")
                for s in states]
    if tl.interruptions:
        handles.append(Line2D([], [], ls="", marker="X", ms=9, color="#d62728",
                              label="agent_interrupted"))
    if tl.false_interruptions:
        handles.append(Line2D([], [], ls="", marker="v", ms=8, color="#e377c2", mec="black",
                              label="false interruption"))
    if tl.backchannels:
        handles.append(Line2D([], [], ls="", marker="o", ms=7, color="#17becf", mec="black",
                              label="user_backchannel"))
    if tl.audio_s < tl.duration_s - 1e-6:
        handles.append(Patch(color="#eeeeee", label="after the file\n(silence pushed)"))
    return handles
