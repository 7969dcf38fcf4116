"""Metrics with LiveKit's classes and fields (``livekit/agents/metrics/base.py``), SPEC 8.

All durations are seconds; ``timestamp`` is epoch seconds.  Nothing is clamped at 0 except
``transcription_delay`` (LiveKit's definition: 0 when the final transcript came before the end of
speech): a negative delay would be a bug to surface, and a negative ``idle_time`` means the VAD
ran slower than real time.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger("turnengine.metrics")


@dataclass(frozen=True)
class VADMetrics:
    """Frame-VAD work over about one second of audio.

    ``idle_time`` is the audio duration of the period minus the inference time (the real-time
    headroom; negative when inference is slower than real time); ``inference_duration_total``
    is the compute time of the backend.
    """

    label: str
    timestamp: float
    idle_time: float
    inference_duration_total: float
    inference_count: int
    metadata: dict[str, Any] | None = None
    type: Literal["vad_metrics"] = field(init=False, default="vad_metrics")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EchoMetrics:
    """The echo path over the call so far, with each ``VADMetrics`` once a playout reference
    is given (``TurnEngine.push_playout``; turnengine's own, no LiveKit equivalent).

    ``erle`` is the echo return loss enhancement in dB since the last ``EchoMetrics`` (about a
    second: microphone power over echo-reduced power, over the frames where the agent's
    playout was active; near-end speech and noise in those frames lower it), None when the
    agent was silent all that time; ``delay`` the playout-to-microphone delay the
    canceller works with (seconds, None when the backend does not say); ``converged`` whether
    the canceller has heard enough playout to have adapted (``playout_active_duration`` seconds
    of active playout so far, against the backend's convergence time).
    """

    label: str
    timestamp: float
    erle: float | None
    delay: float | None
    converged: bool
    playout_active_duration: float
    metadata: dict[str, Any] | None = None
    type: Literal["echo_metrics"] = field(init=False, default="echo_metrics")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EOUMetrics:
    """End-of-utterance metrics, one per committed user turn (LiveKit ``EOUMetrics``)."""

    timestamp: float
    end_of_utterance_delay: float
    transcription_delay: float
    on_user_turn_completed_delay: float
    speech_id: str
    metadata: dict[str, Any] | None = None
    type: Literal["eou_metrics"] = field(init=False, default="eou_metrics")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class STTMetrics:
    """What the STT gate forwarded for one speech segment (LiveKit ``STTMetrics`` fields).

    ``audio_duration`` is the seconds of audio passed to the STT (speech, padding and the
    end-of-speech hangover); ``duration`` is 0.0 for a streaming STT, as in LiveKit.
    """

    label: str
    request_id: str
    timestamp: float
    duration: float
    audio_duration: float
    streamed: bool = True
    metadata: dict[str, Any] | None = None
    type: Literal["stt_metrics"] = field(init=False, default="stt_metrics")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


AnyMetrics = VADMetrics | EOUMetrics | STTMetrics | EchoMetrics


@dataclass
class UsageSummary:
    """Totals of every metric seen by a :class:`UsageCollector`."""

    vad_inference_count: int = 0
    vad_inference_duration_total: float = 0.0
    eou_turns: int = 0
    end_of_utterance_delay_total: float = 0.0
    transcription_delay_total: float = 0.0
    stt_audio_duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class UsageCollector:
    """Sums metrics as they arrive (LiveKit ``metrics.UsageCollector``).

    Examples
    --------
    >>> usage = UsageCollector()
    >>> engine.on("metrics_collected", lambda ev: usage.collect(ev.metrics))  # doctest: +SKIP
    >>> usage.get_summary().eou_turns  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._summary = UsageSummary()

    def collect(self, metrics: AnyMetrics) -> None:
        s = self._summary
        if isinstance(metrics, VADMetrics):
            s.vad_inference_count += metrics.inference_count
            s.vad_inference_duration_total += metrics.inference_duration_total
        elif isinstance(metrics, EOUMetrics):
            s.eou_turns += 1
            s.end_of_utterance_delay_total += metrics.end_of_utterance_delay
            s.transcription_delay_total += metrics.transcription_delay
        elif isinstance(metrics, STTMetrics):
            s.stt_audio_duration += metrics.audio_duration

    def get_summary(self) -> UsageSummary:
        """A copy of the totals so far."""
        return dataclasses.replace(self._summary)


def log_metrics(metrics: AnyMetrics, *, log: logging.Logger | None = None) -> None:
    """Log one line for a metrics object (LiveKit ``metrics.log_metrics``)."""
    log = log or logger
    if isinstance(metrics, VADMetrics):
        log.info("VAD metrics: inference_count=%d inference_duration_total=%.4fs idle_time=%.3fs",
                 metrics.inference_count, metrics.inference_duration_total, metrics.idle_time)
    elif isinstance(metrics, EOUMetrics):
        log.info("EOU metrics: end_of_utterance_delay=%.3fs transcription_delay=%.3fs "
                 "speech_id=%s", metrics.end_of_utterance_delay, metrics.transcription_delay,
                 metrics.speech_id)
    elif isinstance(metrics, STTMetrics):
        log.info("STT metrics: audio_duration=%.3fs request_id=%s", metrics.audio_duration,
                 metrics.request_id)
    elif isinstance(metrics, EchoMetrics):
        log.info("Echo metrics: canceller=%s erle=%s delay=%s converged=%s", metrics.label,
                 "n/a" if metrics.erle is None else f"{metrics.erle:.1f}dB",
                 "n/a" if metrics.delay is None else f"{metrics.delay * 1000:.0f}ms",
                 metrics.converged)
    else:
        log.info("metrics: %r", metrics)
