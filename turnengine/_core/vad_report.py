"""What the VAD reports: ``VADMetrics`` about once per second of audio, and the VAD events
(``start_of_speech``, ``inference_done``, ``end_of_speech``, LiveKit ``VADEvent`` fields) for
their subscribers only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .._kernels.codes import WindowFlag
from ..events import MetricsCollectedEvent, VADEvent, VADEventType
from ..metrics import EchoMetrics, VADMetrics
from ..options import TurnEngineOptions, seconds_to_samples
from .bus import EventBus
from .clock import SampleClock
from .history import AudioHistory

if TYPE_CHECKING:
    from .playout import EchoStage

INFERENCE_DONE = VADEventType.INFERENCE_DONE.value


class VadReporting:
    """VADMetrics accounting on window boundaries (chunking-invariant) and VAD events.

    Parameters
    ----------
    bus : EventBus
    clock : SampleClock
    history : AudioHistory
        Audio for the events' ``frames``.
    options : TurnEngineOptions
    vad_name : str
        ``VADMetrics.label``.
    window_size : int
    """

    def __init__(self, bus: EventBus, clock: SampleClock, history: AudioHistory,
                 options: TurnEngineOptions, vad_name: str, window_size: int) -> None:
        self._bus = bus
        self._clock = clock
        self._history = history
        self.options = options  # (replaced by update_options)
        self._label = vad_name
        self._w = window_size
        self.every = max(1, round(1.0 / (window_size / clock.model_rate)))
        self.n_windows = 0          # windows accounted so far (global index)
        self.next_boundary = self.every  # global window index of the next VADMetrics
        self._windows = 0           # since the last VADMetrics
        self._infer_s = 0.0
        #: The echo stage once a playout is pushed (``EchoMetrics``), and the map from the
        #: engine clock to microphone samples (they differ by the ``advance`` gaps).
        self.echo: EchoStage | None = None
        self.echo_sample: Callable[[int], int] = lambda t: t

    # -- VADMetrics -------------------------------------------------------------------------------
    def account(self, upto: int, per_window_s: float) -> None:
        """Count windows up to global index ``upto`` with ``per_window_s`` inference each."""
        d = upto - self.n_windows
        self._windows += d
        self._infer_s += d * per_window_s
        self.n_windows = upto
        self.next_boundary = (upto // self.every + 1) * self.every

    def add(self, n_windows: int, infer_s: float) -> None:
        """Count ``n_windows`` more windows (no boundary among them) that took ``infer_s``."""
        self.n_windows += n_windows
        self._windows += n_windows
        self._infer_s += infer_s
        self.next_boundary = (self.n_windows // self.every + 1) * self.every

    def emit_metrics(self, t: int) -> None:
        """``metrics_collected`` with the ``VADMetrics`` since the last one, decided at ``t``."""
        audio_s = self._windows * self._w / self._clock.model_rate
        created = self._clock.epoch(t)
        self._bus.emit(MetricsCollectedEvent(
            stream_time=self._clock.seconds(t), created_at=created,
            metrics=VADMetrics(label=self._label, timestamp=created,
                               idle_time=audio_s - self._infer_s,
                               inference_duration_total=self._infer_s,
                               inference_count=self._windows)))
        self._windows = 0
        self._infer_s = 0.0
        if self.echo is not None:
            self._emit_echo(t, created)

    def _emit_echo(self, t: int, created: float) -> None:
        """``metrics_collected`` with ``EchoMetrics`` as of the window that ends at ``t``."""
        assert self.echo is not None
        erle, active_s, converged, delay = self.echo.measured_at(self.echo_sample(t))
        self._bus.emit(MetricsCollectedEvent(
            stream_time=self._clock.seconds(t), created_at=created,
            metrics=EchoMetrics(label=self.echo.canceller.name, timestamp=created, erle=erle,
                                delay=delay, converged=converged,
                                playout_active_duration=active_s)))

    # -- VAD events -------------------------------------------------------------------------------
    def boundary(self, kind: VADEventType, t: int, boundary: int, utterance_start: int) -> None:
        """``start_of_speech``/``end_of_speech`` decided at ``t`` for speech that started or
        stopped at ``boundary`` (subscribers only)."""
        if not self._bus.has(kind.value):
            return
        sr, o = self._clock.model_rate, self.options
        pad = seconds_to_samples(o.prefix_padding_duration, sr)
        if kind is VADEventType.START_OF_SPEECH:
            speech, silence = (t - boundary) / sr, 0.0
            frames = self._history.between(boundary - pad, t)
        else:
            start = utterance_start if utterance_start >= 0 else boundary
            speech, silence = (boundary - start) / sr, (t - boundary) / sr
            cap = seconds_to_samples(o.max_buffered_speech, sr)
            frames = self._history.between(max(start - pad, t - cap), t)
        self._bus.notify(kind.value, VADEvent(
            type=kind, samples_index=t, timestamp=t / sr, speech_duration=speech,
            silence_duration=silence, speaking=kind is VADEventType.START_OF_SPEECH,
            frames=frames))

    def inference_done(self, samples: np.ndarray, flags: np.ndarray, smoothed: np.ndarray,
                       runs: np.ndarray, first: int, count: int, start: int,
                       per_window_s: float) -> None:
        """One ``inference_done`` per window ``first .. first + count`` of a chunk starting at
        clock sample ``start``; ``runs`` are the hysteresis kernel's raw (speech, silence)
        window runs after each window."""
        sr, w = self._clock.model_rate, self._w
        for i in range(first, first + count):
            f = int(flags[i])
            t = start + (i + 1) * w
            self._bus.notify(INFERENCE_DONE, VADEvent(
                type=VADEventType.INFERENCE_DONE, samples_index=t, timestamp=t / sr,
                speech_duration=0.0, silence_duration=0.0,
                probability=float(smoothed[i]), inference_duration=per_window_s,
                speaking=bool(f & WindowFlag.SPEAKING),
                raw_accumulated_speech=int(runs[i, 0]) * w / sr,
                raw_accumulated_silence=int(runs[i, 1]) * w / sr,
                frames=samples[i * w:(i + 1) * w].copy()))
