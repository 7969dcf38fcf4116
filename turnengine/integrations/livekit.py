"""LiveKit Agents adapter: a ``livekit.agents.vad.VAD`` backed by turnengine.

Drop it in where ``silero.VAD.load()`` goes::

    from livekit.agents import AgentSession
    from turnengine.integrations.livekit import VAD

    session = AgentSession(vad=VAD.load(), stt=..., llm=..., tts=...)

Each ``vad.stream()`` runs one :class:`~turnengine.TurnEngine` (the native Silero kernel by
default) and emits LiveKit ``VADEvent`` objects with the fields and timing rules of LiveKit's own
``livekit-plugins-silero`` ``VADStream``: ``INFERENCE_DONE`` for every window (``AgentSession``
reads its ``speech_duration``, ``raw_accumulated_speech``/``raw_accumulated_silence`` and
``speaking`` for interruptions and end-of-turn timing), ``START_OF_SPEECH`` after
``min_speech_duration`` of speech with the prefix-padded onset as ``frames``, and
``END_OF_SPEECH`` after ``min_silence_duration`` of silence with the whole utterance.
``samples_index`` counts samples at the inference rate; ``frames`` are int16 ``rtc.AudioFrame``
objects at the input rate, as in LiveKit.

The per-window events are built from the engine's per-push window arrays (probability, smoothed
probability, flags), not from per-window engine callbacks; see docs/integrations.md for the
measured cost and the parity with ``livekit-plugins-silero``.

Requires the ``livekit`` extra (``pip install "turnengine[livekit]"``): ``livekit-agents``
1.2 to 1.x (the ``vad.VAD``/``vad.VADStream`` interface is the same across them; tested on
1.8.9).
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from livekit import rtc
from livekit.agents import utils as agents_utils
from livekit.agents import vad as agents_vad

from ..audio import MODEL_RATES, SUPPORTED_RATES, model_rate_for
from ..audio_ring import AudioRing
from ..options import TurnEngineOptions, seconds_to_samples
from ..vad import VAD_BACKENDS
from . import END, START, WindowTap, shared_backend, vad_options

logger = logging.getLogger("turnengine.integrations.livekit")

VADEvent = agents_vad.VADEvent
VADEventType = agents_vad.VADEventType


@dataclass(frozen=True)
class VADOptions:
    """What a :class:`VAD` and its streams run with.

    Attributes
    ----------
    engine : TurnEngineOptions
        Hysteresis options (SPEC 3.2, LiveKit silero plugin names and defaults).
    sample_rate : {16000, 8000}
        Inference rate in Hz (LiveKit's ``sample_rate``): the model runs at this rate whatever
        the input rate.
    backend : str
        turnengine VAD backend: ``"silero"`` (native kernel), ``"silero-onnx"`` or ``"energy"``.
    model_path : str or None
        A ``silero_vad.onnx`` to use instead of the packaged one.
    inference_frames : bool
        Attach the window's audio to each ``INFERENCE_DONE`` event (as LiveKit does).
    """

    engine: TurnEngineOptions
    sample_rate: int = 16000
    backend: str = "silero"
    model_path: str | None = None
    inference_frames: bool = True

    @classmethod
    def create(cls, sample_rate: int, backend: str, model_path: str | None,
               inference_frames: bool, **hysteresis: Any) -> VADOptions:
        """Validated options (``hysteresis``: :data:`~turnengine.integrations.VAD_OPTION_NAMES`).

        Raises
        ------
        ValueError, TypeError
            An unsupported ``sample_rate`` or backend, a bad hysteresis option.
        """
        if sample_rate not in MODEL_RATES:
            raise ValueError(f"sample_rate must be 8000 or 16000 (the inference rate), got "
                             f"{sample_rate}")
        if backend not in VAD_BACKENDS:
            raise ValueError(f"unknown VAD backend {backend!r}; expected one of {VAD_BACKENDS}")
        return cls(engine=vad_options(**hysteresis), sample_rate=int(sample_rate),
                   backend=backend, model_path=None if model_path is None else str(model_path),
                   inference_frames=bool(inference_frames))


class VAD(agents_vad.VAD):
    """LiveKit ``VAD`` backed by turnengine; build it with :meth:`load`.

    Parameters
    ----------
    opts : VADOptions
        Options (see :meth:`load`).

    Notes
    -----
    ``model`` is the turnengine backend name, ``provider`` is ``"turnengine"``; the VAD's
    ``metrics_collected`` (LiveKit ``VADMetrics``) come from LiveKit's own ``VADStream``
    monitor, fed by the ``INFERENCE_DONE`` events.
    """

    @classmethod
    def load(cls, *, min_speech_duration: float = 0.05, min_silence_duration: float = 0.55,
             prefix_padding_duration: float = 0.5, max_buffered_speech: float = 60.0,
             activation_threshold: float = 0.5, sample_rate: Literal[8000, 16000] = 16000,
             force_cpu: bool = True, onnx_file_path: str | None = None,
             deactivation_threshold: float | None = None, smoothing_alpha: float = 0.35,
             min_volume: float = 0.0, backend: str = "silero",
             inference_frames: bool = True) -> VAD:
        """Load the model once and return a VAD whose streams share its weights.

        The first eight parameters are ``livekit.plugins.silero.VAD.load``'s, with its defaults:
        a drop-in replacement.  Call it in the worker's prewarm function, as with silero: it reads
        the weights and designs the resampling filters there, not on the first audio frame.

        Parameters
        ----------
        min_speech_duration, min_silence_duration : float
            Seconds of consecutive speech before ``START_OF_SPEECH``; of consecutive non-speech
            before ``END_OF_SPEECH``.
        prefix_padding_duration, max_buffered_speech : float
            Seconds of audio before the onset delivered with ``START_OF_SPEECH``; cap (s) on the
            audio delivered with ``END_OF_SPEECH``.
        activation_threshold, deactivation_threshold : float
            A window whose smoothed probability is >= ``activation_threshold`` is speech; while
            speaking, it stays speech while > ``deactivation_threshold`` (default
            ``max(activation_threshold - 0.15, 0.01)``).
        sample_rate : {16000, 8000}
            Inference rate (Hz).  Input at another rate is resampled: 24-48 kHz to 16 kHz by
            turnengine's intake kernel, anything else by LiveKit's ``rtc.AudioResampler``.
        force_cpu : bool
            Accepted for compatibility; turnengine always runs on the CPU.
        onnx_file_path : str, optional
            A ``silero_vad.onnx`` file (Silero backends).
        smoothing_alpha, min_volume : float
            Exponential smoothing of the probabilities (0.35, LiveKit's ``ExpFilter``); RMS gate
            in [0, 1] (0, the default, is off).
        backend : {"silero", "silero-onnx", "energy"}
            turnengine VAD backend.
        inference_frames : bool
            Attach each window's audio to ``INFERENCE_DONE`` (as LiveKit; AgentSession ignores it).

        Returns
        -------
        VAD

        Raises
        ------
        ValueError, TypeError
            An unsupported ``sample_rate`` or backend; an option out of range or of wrong type.
        FileNotFoundError
            No ``silero_vad.onnx`` installed (Silero backends).
        """
        del force_cpu
        return cls(opts=VADOptions.create(sample_rate, backend, onnx_file_path, inference_frames,
            min_speech_duration=min_speech_duration, min_silence_duration=min_silence_duration,
            prefix_padding_duration=prefix_padding_duration,
            max_buffered_speech=max_buffered_speech, activation_threshold=activation_threshold,
            deactivation_threshold=deactivation_threshold, smoothing_alpha=smoothing_alpha,
            min_volume=min_volume))._prewarmed()

    def __init__(self, *, opts: VADOptions) -> None:
        probe = shared_backend(opts.backend, opts.sample_rate, opts.model_path)
        super().__init__(capabilities=agents_vad.VADCapabilities(
            update_interval=probe.window_size / probe.sample_rate_hz))
        self._opts = opts
        self._streams: weakref.WeakSet[VADStream] = weakref.WeakSet()

    def _backend(self) -> Any:
        return shared_backend(self._opts.backend, self._opts.sample_rate, self._opts.model_path)

    def _prewarmed(self) -> VAD:
        """Read the weights, and design one resampling filter (imports scipy.signal, seconds on
        a cold start) so that no stream does it on the event loop; return this VAD."""
        if self._opts.sample_rate == 16000:
            WindowTap(48000, self._backend().fresh(), self._opts.engine)
        return self

    @property
    def model(self) -> str:
        return self._opts.backend

    @property
    def provider(self) -> str:
        return "turnengine"

    @property
    def options(self) -> VADOptions:
        """The options new streams start with."""
        return self._opts

    @property
    def min_silence_duration(self) -> float:
        return float(self._opts.engine.min_silence_duration)

    def stream(self) -> VADStream:
        """A new stream with its own :class:`~turnengine.TurnEngine`; must run in an event loop."""
        stream = VADStream(self, self._opts)
        self._streams.add(stream)
        return stream

    def update_options(
        self,
        *,
        min_speech_duration: float | None = None,
        min_silence_duration: float | None = None,
        prefix_padding_duration: float | None = None,
        max_buffered_speech: float | None = None,
        activation_threshold: float | None = None,
        deactivation_threshold: float | None = None,
        smoothing_alpha: float | None = None,
        min_volume: float | None = None,
    ) -> None:
        """Change hysteresis options for new streams and for the open ones.

        An open stream switches at its next quiet window (not speaking, no speech run), so a
        segment in progress keeps the rules it started with; the model's state carries over.

        Raises
        ------
        TypeError, ValueError
            A bad option value (nothing changes then).
        """
        changes = {k: v for k, v in dict(
            min_speech_duration=min_speech_duration, min_silence_duration=min_silence_duration,
            prefix_padding_duration=prefix_padding_duration,
            max_buffered_speech=max_buffered_speech, activation_threshold=activation_threshold,
            deactivation_threshold=deactivation_threshold, smoothing_alpha=smoothing_alpha,
            min_volume=min_volume).items() if v is not None}
        self._opts = replace(self._opts, engine=self._opts.engine.replace(**changes))
        for stream in self._streams:
            stream.update_options(**changes)


class VADStream(agents_vad.VADStream):
    """One audio stream: ``push_frame(rtc.AudioFrame)`` in, ``VADEvent`` out (``async for``).

    Driven by LiveKit's ``VADStream`` machinery (input channel, event channel, metrics
    monitor); ``flush()`` is a hard segment boundary (a fresh engine, counters from zero) and
    ``end_input()`` flushes then ends the stream.  All frames of a stream must share one sample
    rate (a frame at another rate is dropped with an error log, as in LiveKit).
    """

    def __init__(self, vad: VAD, opts: VADOptions) -> None:
        super().__init__(vad)
        self._opts = opts
        self._pending_opts: TurnEngineOptions | None = None
        self._input_rate = 0
        self._tap: WindowTap | None = None
        self._resampler: rtc.AudioResampler | None = None
        self._ring: AudioRing | None = None
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._base_model = 0      # inference-rate samples before the current engine
        self._base_in = 0         # input samples before the current engine
        self._speaking = False    # LiveKit's pub_speaking
        self._pub_speech = 0      # windows (LiveKit pub_speech_duration)
        self._pub_silence = 0     # windows (LiveKit pub_silence_duration)
        self._speech_run = 0      # windows (LiveKit speech_threshold_duration)
        self._silence_run = 0     # windows (LiveKit silence_threshold_duration)
        self._utterance_start = 0  # inference-rate sample where the open segment began

    @property
    def engine(self) -> Any:
        """The stream's current :class:`~turnengine.TurnEngine` (None before the first frame)."""
        return None if self._tap is None else self._tap.engine

    def update_options(self, **changes: Any) -> None:
        """Switch to new hysteresis options at the next quiet window (see ``VAD.update_options``).

        Raises
        ------
        TypeError, ValueError
            A bad option value.
        """
        base = self._pending_opts or self._opts.engine
        self._pending_opts = base.replace(**changes)

    # -- engine lifecycle ------------------------------------------------------------------
    def _new_tap(self, backend: Any) -> WindowTap:
        rate = self._input_rate if self._resampler is None else self._opts.sample_rate
        return WindowTap(rate, backend, self._opts.engine)

    def _setup(self, input_rate: int) -> None:
        self._input_rate = input_rate
        model_rate = self._opts.sample_rate
        direct = input_rate in SUPPORTED_RATES and model_rate_for(input_rate) == model_rate
        self._resampler = None if direct else rtc.AudioResampler(
            input_rate=input_rate, output_rate=model_rate,
            quality=rtc.AudioResamplerQuality.QUICK)
        backend = shared_backend(self._opts.backend, model_rate, self._opts.model_path).fresh()
        self._tap = self._new_tap(backend)
        self._ring = None
        self._size_buffers()

    def _size_buffers(self) -> None:
        """Padding and audio caps from the options; (re)allocate the input ring to fit them."""
        assert self._tap is not None
        o, rate = self._opts.engine, self._input_rate
        self._pad = seconds_to_samples(o.prefix_padding_duration, self._opts.sample_rate)
        self._max_in = seconds_to_samples(o.max_buffered_speech + o.prefix_padding_duration,
                                          rate)
        w_in = -(-self._tap.window_size * rate // self._opts.sample_rate)
        capacity = self._max_in + 4 * w_in
        # Options changed mid-stream: keep what the old ring holds.
        self._ring = (AudioRing(capacity, dtype=np.int16) if self._ring is None
                      else self._ring.resized(capacity))

    def _flush(self) -> None:
        """Hard segment boundary: fresh model state and hysteresis, counters from zero.

        The new engine is built on the next frame (none is needed after ``end_input``).
        """
        self._tap = None
        self._ring = None
        self._reset_counters()

    def _apply_pending_options(self) -> None:
        assert self._tap is not None and self._ring is not None
        opts, self._pending_opts = self._pending_opts, None
        assert opts is not None
        # The new engine's clock starts at zero at the end of the old engine's last window; the
        # input after that point (less than one window) is pushed again, so windows stay on
        # the same grid.
        decided = self._base_model + self._tap.samples_decided
        since = self._in_index(decided)
        self._base_model, self._base_in = decided, since
        self._opts = replace(self._opts, engine=opts)
        self._tap = self._new_tap(self._tap.engine.vad)  # same model state, new hysteresis
        self._size_buffers()
        self._speech_run = self._silence_run = 0
        rest = self._ring.between(since, self._ring.end)
        if rest.shape[0] and self._resampler is None:
            self._tap.push(rest)  # less than one window: completes none

    # -- the stream task ---------------------------------------------------------------------
    @agents_utils.log_exceptions(logger=logger)
    async def _main_task(self) -> None:
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                self._flush()
                continue
            if not isinstance(item, rtc.AudioFrame):
                continue
            self._process(item)

    def _process(self, frame: rtc.AudioFrame) -> None:
        if self._input_rate and frame.sample_rate != self._input_rate:
            logger.error("a frame with another sample rate was already pushed (%d Hz, stream "
                         "runs at %d Hz); dropped", frame.sample_rate, self._input_rate)
            return
        if self._tap is None:
            self._setup(frame.sample_rate)
        assert self._tap is not None and self._ring is not None
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        if frame.num_channels > 1:
            pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
            if self._resampler is not None:
                frame = rtc.AudioFrame(pcm.tobytes(), frame.sample_rate, 1, pcm.shape[0])
        if pcm.shape[0] == 0:
            return
        self._ring.append(pcm)
        if self._resampler is not None:
            parts = [np.frombuffer(f.data, dtype=np.int16) for f in self._resampler.push(frame)]
            parts = [p for p in parts if p.shape[0]]
            if not parts:
                return
            pcm = parts[0] if len(parts) == 1 else np.concatenate(parts)
        t0 = time.perf_counter()
        windows = self._tap.push(pcm)
        elapsed = time.perf_counter() - t0
        if len(windows):
            self._emit(windows, elapsed)
        if (self._pending_opts is not None and not self._speaking and self._speech_run == 0):
            self._apply_pending_options()

    def _in_index(self, sample: int) -> int:
        """Input-sample index of inference-rate sample ``sample`` (absolute)."""
        return self._base_in + (sample - self._base_model) * self._input_rate \
            // self._opts.sample_rate

    def _audio_frame(self, a: int, b: int) -> rtc.AudioFrame:
        assert self._ring is not None
        pcm = self._ring.between(self._in_index(a), self._in_index(b))
        return rtc.AudioFrame(pcm.tobytes(), self._input_rate, 1, pcm.shape[0])

    def _emit(self, windows: Any, elapsed: float) -> None:
        """Turn one push's window arrays into LiveKit events, with the silero plugin's rules."""
        assert self._tap is not None
        send = self._event_ch.send_nowait
        w = self._tap.window_size
        sr = self._opts.sample_rate
        ws = w / sr
        per = elapsed / len(windows)
        with_frames = self._opts.inference_frames
        t = self._base_model + windows.start
        for f, p, runs in zip(windows.flags.tolist(), windows.smoothed.tolist(),
                              windows.runs.tolist(), strict=True):
            t += w
            if self._speaking:
                self._pub_speech += 1
            else:
                self._pub_silence += 1
            send(VADEvent(
                type=VADEventType.INFERENCE_DONE, samples_index=t, timestamp=t / sr,
                speech_duration=self._pub_speech * ws, silence_duration=self._pub_silence * ws,
                frames=[self._audio_frame(t - w, t)] if with_frames else [],
                probability=p, inference_duration=per, speaking=self._speaking,
                raw_accumulated_silence=self._silence_run * ws,
                raw_accumulated_speech=self._speech_run * ws))
            self._speech_run, self._silence_run = runs  # the kernel's, after this window
            if f & START:
                self._speaking = True
                self._pub_silence = 0
                self._pub_speech = self._speech_run
                self._utterance_start = t - self._speech_run * w
                send(VADEvent(
                    type=VADEventType.START_OF_SPEECH, samples_index=t, timestamp=t / sr,
                    speech_duration=self._speech_run * ws, silence_duration=0.0,
                    frames=[self._audio_frame(self._utterance_start - self._pad, t)],
                    speaking=True))
            elif f & END:
                self._speaking = False
                self._pub_silence = self._silence_run
                first = max(self._in_index(self._utterance_start - self._pad),
                            self._in_index(t) - self._max_in)
                assert self._ring is not None
                pcm = self._ring.between(first, self._in_index(t))
                send(VADEvent(
                    type=VADEventType.END_OF_SPEECH, samples_index=t, timestamp=t / sr,
                    speech_duration=max(0, self._pub_speech - self._silence_run) * ws,
                    silence_duration=self._silence_run * ws,
                    frames=[rtc.AudioFrame(pcm.tobytes(), self._input_rate, 1, pcm.shape[0])],
                    speaking=False))
                self._pub_speech = 0


if TYPE_CHECKING:
    from .livekit_turn import TurnDetector, TurnDetectorStream


def __getattr__(name: str) -> Any:
    """``TurnDetector`` and ``TurnDetectorStream`` (module ``livekit_turn``), imported on first
    use: they need livekit-agents' streaming turn-detector interface (tested on 1.8.9), the VAD
    works from 1.2."""
    if name in ("TurnDetector", "TurnDetectorStream"):
        from . import livekit_turn

        return getattr(livekit_turn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["VAD", "VADStream", "VADOptions", "VADEvent", "VADEventType", "TurnDetector",
           "TurnDetectorStream"]
