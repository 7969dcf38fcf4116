"""What a timeline plot shows, as numbers: :func:`build_timeline` collects them from a replay
into a :class:`Timeline`, so tests and notebooks can check what is drawn without reading pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...audio import AudioFile
from ...engine import WindowLog
from ...events import (
    AgentFalseInterruptionEvent,
    AgentInterruptedEvent,
    AgentStateChangedEvent,
    Event,
    MetricsCollectedEvent,
    UserBackchannelEvent,
    UserTurnCompletedEvent,
)
from ...metrics import EchoMetrics
from ...options import TurnEngineOptions
from ...replay import ReplayResult
from ..eval.events import segments_from_events
from ..eval.labels import Labels

__all__ = ["Timeline", "TurnMark", "build_timeline", "options_text"]

_ENVELOPE_BINS = 4000


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
    eot_points : list of (float, float)
        Every end-of-turn model answer the turns carry (``eot_probabilities``): the time it
        was applied and P(turn complete).
    unlikely_threshold : float
        The probability a model answer must reach for the minimum delay.
    labels : Labels or None
        Timing labels of the file, if a label file was found.
    reference, echo_reduced : (t, lo, hi) or None
        With a playout: envelopes of the agent's playout and of the echo-reduced microphone
        (what the VAD heard), as ``envelope_*``.
    echo_note : str
        With a playout: the canceller, its delay and ERLE from the last ``EchoMetrics``.
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
    eot_points: list[tuple[float, float]] = field(default_factory=list)
    unlikely_threshold: float = 0.5
    labels: Labels | None = None
    reference: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    echo_reduced: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    echo_note: str = ""

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


def options_text(options: TurnEngineOptions) -> str:
    """The options that differ from the defaults, as ``name=value`` (or "default options")."""
    default = TurnEngineOptions()
    changed = [f"{k}={v}" for k, v in options.to_dict().items() if v != getattr(default, k)]
    return ", ".join(changed) if changed else "default options"




def build_timeline(result: ReplayResult, *, labels: Labels | None = None,
                   subtitle: str = "", playout: AudioFile | None = None) -> Timeline:
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
    playout : AudioFile, optional
        The playout the replay pushed: drawn with the echo-reduced signal.

    Raises
    ------
    RuntimeError
        If the replay's engine kept no window log.
    TypeError
        If the replay kept no samples to draw (``stream_file``).
    """
    if not isinstance(result.audio, AudioFile):
        raise TypeError("build_timeline needs the replayed samples: replay_file or "
                        "replay_audio, not stream_file")
    engine = result.engine
    window = engine.window_log()
    duration = float(max(result.report.duration, result.audio.duration,
                         window.end_time[-1] if window.end_time.size else 0.0))
    env_t, env_lo, env_hi = _envelope(result.audio.samples, result.audio.sample_rate)
    opts = engine.options
    tl = Timeline(
        name=Path(result.audio.path).name, duration_s=duration, audio_s=result.audio.duration,
        subtitle=subtitle or f"vad={engine.vad.name}; {options_text(opts)}",
        envelope_t=env_t, envelope_lo=env_lo, envelope_hi=env_hi, window=window,
        activation_threshold=opts.activation_threshold,
        deactivation_threshold=opts.effective_deactivation_threshold,
        unlikely_threshold=opts.unlikely_threshold, labels=labels)
    segs = segments_from_events(result.events)
    tl.speech = [(a, duration if b is None else b) for a, b in segs.speech_segments]
    _add_marks(tl, result.events)
    if playout is not None:
        _add_echo(tl, result, playout)
    return tl


def _add_echo(tl: Timeline, result: ReplayResult, playout: AudioFile) -> None:
    """The playout's and the echo-reduced signal's envelopes, and the last EchoMetrics."""
    tl.reference = _envelope(playout.samples, playout.sample_rate)
    kept = result.engine.echo_audio()
    if kept is not None:
        first, audio = kept
        rate = result.engine.model_rate
        t, lo, hi = _envelope(audio, rate)
        tl.echo_reduced = (t + first / rate, lo, hi)
    echo = [e.metrics for e in result.events if isinstance(e, MetricsCollectedEvent)
            and isinstance(e.metrics, EchoMetrics)]
    if echo:
        last = echo[-1]
        erle = [m.erle for m in echo if m.erle is not None]
        delay = "n/a" if last.delay is None else f"{last.delay * 1000:.0f} ms"
        tl.echo_note = (f"echo canceller {last.label}: delay {delay}, ERLE median "
                        f"{float(np.median(erle)):.1f} dB" if erle else
                        f"echo canceller {last.label}: delay {delay}")


def _add_marks(tl: Timeline, events: Iterable[Event]) -> None:
    """Turn decisions, agent-state bands, interruptions and backchannels, from the events."""
    agent_state, agent_since = "listening", 0.0
    for ev in events:
        t = float(ev.stream_time)
        if isinstance(ev, UserTurnCompletedEvent):
            prob = ev.eot_probability
            tl.turns.append(TurnMark(t, float(ev.end_of_utterance_delay), str(ev.reason),
                                     None if prob is None else float(prob)))
            tl.eot_points += [(float(a), float(p)) for a, p in ev.eot_probabilities]
        elif isinstance(ev, AgentStateChangedEvent):
            if agent_state != "listening" and t > agent_since:
                tl.agent_bands.append((agent_since, t, agent_state))
            agent_state, agent_since = str(ev.new_state), t
        elif isinstance(ev, AgentInterruptedEvent):
            tl.interruptions.append(t)
        elif isinstance(ev, AgentFalseInterruptionEvent):
            tl.false_interruptions.append((t, bool(ev.resumed)))
        elif isinstance(ev, UserBackchannelEvent):
            tl.backchannels.append((t, float(ev.duration)))
    if agent_state != "listening" and tl.duration_s > agent_since:
        tl.agent_bands.append((agent_since, tl.duration_s, agent_state))
