"""``TurnEngine``: one user's audio in, LiveKit-style session events out (SPEC 4-10).

Per pushed chunk the engine makes one pass through the compiled kernels::

    intake (int16/float32 -> float32 at 16/8 kHz)  ->  VAD backend (probability per window)
      ->  hysteresis (flags + START/END)  ->  timers (turn, interruption, away deadlines)

and only the sparse event codes the timers kernel writes become Python objects.  Every time is a
sample count on the engine clock (model-rate samples consumed, plus ``advance``), so a recorded
session replays to the same events however it is chunked.  Host calls (agent state, transcripts,
commits) take effect at the clock as it stands when they are made: the end of the last complete
VAD window pushed so far.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _kernels
from ._kernels import codes as _codes
from .audio import as_frames, check_sample_rate
from .audio_ring import AudioRing
from .emitter import EventEmitter
from .endpointing import TURN_DETECTORS, Decision, EndOfTurn
from .events import (
    AGENT_STATES,
    USER_STATES,
    AgentFalseInterruptionEvent,
    AgentInterruptedEvent,
    AgentStateChangedEvent,
    ConversationItemAddedEvent,
    Event,
    MetricsCollectedEvent,
    UserBackchannelEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
    UserTurnCompletedEvent,
    VADEvent,
    VADEventType,
)
from .metrics import EOUMetrics, STTMetrics, UsageCollector, VADMetrics
from .options import TurnEngineOptions, seconds_to_samples, seconds_to_windows
from .report import ChatMessage, SessionReport
from .stt_gate import SttGate
from .vad import DEFAULT_VAD, VADBackend, load_vad

logger = logging.getLogger("turnengine")

EC = _codes.EventCode

SESSION_EVENTS: tuple[str, ...] = (
    "user_state_changed",
    "agent_state_changed",
    "user_turn_completed",
    "agent_interrupted",
    "agent_false_interruption",
    "user_backchannel",
    "user_input_transcribed",
    "conversation_item_added",
    "metrics_collected",
)
VAD_EVENTS: tuple[str, ...] = tuple(t.value for t in VADEventType)
_INFERENCE_DONE = VADEventType.INFERENCE_DONE.value
_INT16 = np.dtype(np.int16)


_END = object()  # end-of-stream marker for events()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


@dataclass(frozen=True)
class WindowLog:
    """Per-window record of a session (``TurnEngine(keep_window_log=True)``).

    Attributes
    ----------
    end_time : numpy.ndarray of float64, shape (n_windows,)
        Engine-clock time (s) at the end of each window (its decision time).
    probability : numpy.ndarray of float32, shape (n_windows,)
        The backend's raw speech probability.
    smoothed : numpy.ndarray of float32, shape (n_windows,)
        The probability after ``smoothing_alpha``, as the thresholds see it.
    speaking : numpy.ndarray of bool, shape (n_windows,)
        The published speaking state after each window.
    window_s : float
        Window duration (s).
    flags : numpy.ndarray of uint8, shape (n_windows,)
        The hysteresis kernel's ``WindowFlag`` bits (RAW_SPEECH, SPEAKING, START, END).
    start_sample : int
        Engine-clock sample (model rate) where the first window begins.
    """

    end_time: np.ndarray
    probability: np.ndarray
    smoothed: np.ndarray
    speaking: np.ndarray
    window_s: float
    flags: np.ndarray
    start_sample: int = 0


class EngineClosedError(ValueError):
    """Raised when audio or host calls reach an engine after ``close()``."""


class TurnEngine:
    """Real-time turn detection for one user stream.

    Parameters
    ----------
    sample_rate : int
        Rate of the pushed audio in Hz: 8000 or 16000 natively; 24000, 32000, 44100 or 48000 are
        resampled to 16000 by the intake kernel.
    vad : str or VADBackend
        ``"silero"`` (default: Silero VAD v5 in turnengine's own kernel, weights read from the
        packaged ``silero_vad.onnx``; falls back to onnxruntime with a warning),
        ``"silero-onnx"`` (the same model on onnxruntime, the reference) or ``"energy"``
        (model-free); or a backend object at the model rate.
    turn_detector : {None, "smart-turn"}
        End-of-turn model (SPEC 5). None: the fixed ``min_endpointing_delay`` (or the dynamic
        one). ``"smart-turn"``: Pipecat's Smart Turn v3.2 audio model (extra
        ``turnengine[smart-turn]``), run speculatively once silence reaches 0.2 s; the turn
        waits ``max_endpointing_delay`` when P(complete) < ``unlikely_threshold``. Without the
        extra the engine warns and uses the fixed delay (``reason="fallback"``).
    model_path : str, optional
        A ``silero_vad.onnx`` to use instead of the packaged one.
    stt_gate : bool
        Keep the audio a streaming STT should receive (SPEC 8): read it with
        :meth:`stt_audio`; ``STTMetrics`` are reported per speech segment.
    keep_window_log : bool
        Keep every window's probabilities and flags (one array copy per chunk) for
        :meth:`window_log`, as ``turnengine plot`` does.
    eot_executor : {"thread", "inline"}
        Where end-of-turn predictions run: a worker thread (default; ``push_audio`` never waits
        for the model, its answer is applied at the next ``push_audio``/``advance``) or inline
        (replays: the answer lands at the prediction's own window, so a file always gives the
        same events).
    eot_model : SmartTurnModel, optional
        A loaded model to share between engines (each otherwise loads its own).
    audio_stall_watchdog : bool
        Wall-clock mode (SPEC 2): remember when audio last arrived, so that
        :meth:`check_audio_stall` can close a speaking state after ``audio_stall_timeout``
        seconds without input. Off by default: everything else runs on the audio clock.
    options : TurnEngineOptions, optional
        All options at once; keyword ``**kwargs`` override single ones (SPEC names and defaults,
        see :class:`~turnengine.options.TurnEngineOptions`).

    Raises
    ------
    TypeError, ValueError
        Unsupported sample rate, unknown backend or detector, a bad option value (for example a
        negative delay).

    Notes
    -----
    Event names and semantics follow LiveKit Agents (``AgentSession``): ``user_state_changed``,
    ``agent_state_changed``, ``user_turn_completed``, ``metrics_collected`` (``VADMetrics``,
    ``EOUMetrics``); ``agent_interrupted`` and ``user_backchannel`` are turnengine's own.  VAD
    events (``start_of_speech``, ``inference_done``, ``end_of_speech``) carry LiveKit
    ``VADEvent`` fields; ``inference_done`` exists only while someone subscribes to it.

    Examples
    --------
    >>> engine = TurnEngine(sample_rate=16000)  # doctest: +SKIP
    >>> engine.on("user_turn_completed", lambda ev: print(ev.transcript))  # doctest: +SKIP
    >>> events = engine.push_audio(pcm_int16_chunk)  # doctest: +SKIP
    """

    def __init__(self, sample_rate: int = 16000, vad: str | VADBackend = DEFAULT_VAD,
                 turn_detector: str | None = None, *, model_path: str | None = None,
                 stt_gate: bool = False, keep_window_log: bool = False,
                 eot_executor: str = "thread", eot_model: Any = None,
                 audio_stall_watchdog: bool = False,
                 options: TurnEngineOptions | None = None, **kwargs: Any) -> None:
        rate = check_sample_rate(sample_rate)
        if turn_detector not in TURN_DETECTORS:
            raise ValueError(f"unknown turn_detector {turn_detector!r}; expected one of "
                             f"{TURN_DETECTORS}")
        unknown = set(kwargs) - set(TurnEngineOptions.option_names())
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}; see "
                            "TurnEngineOptions.option_names()")
        if options is not None and not isinstance(options, TurnEngineOptions):
            raise TypeError(f"expected TurnEngineOptions, got {type(options).__name__}")
        self.options = (options or TurnEngineOptions()).replace(**kwargs)
        self.sample_rate = rate
        self.turn_detector = turn_detector

        pcm = _kernels.load("pcm")
        self._intake = pcm.Intake(rate)
        self._window_rms = pcm.window_rms
        self.model_rate = int(self._intake.output_rate_hz)
        if isinstance(vad, VADBackend):
            if vad.sample_rate_hz != self.model_rate:
                raise ValueError(f"VAD backend runs at {vad.sample_rate_hz} Hz but audio at "
                                 f"{rate} Hz is processed at {self.model_rate} Hz")
            self.vad = vad
        elif isinstance(vad, str):
            self.vad = load_vad(vad, self.model_rate, model_path)
        else:
            raise TypeError(f"expected a VAD backend name or VADBackend, got {type(vad).__name__}")
        self._eot = EndOfTurn(turn_detector, self.options, self.model_rate, eot_executor,
                              eot_model)
        self._eot_on = self._eot.uses_model
        self._build_kernels()

        self._emitter = EventEmitter(SESSION_EVENTS + VAD_EVENTS)
        self.started_at = time.time()
        self._closed = False
        self._shutdown_callbacks: list[Callable[[SessionReport], Any]] = []
        # Buffers: model-rate samples awaiting a whole window, and per-chunk kernel outputs.
        self._buf = np.zeros(4 * self._w, dtype=np.float32)
        self._pending = 0
        self._scratch_windows = 0
        self._alloc_scratch(64)
        # Python-side session state (mirrors of kernel states for event old/new values).
        self.user_state = "listening"
        self.agent_state = "listening"
        self._history: list[dict[str, Any]] = []
        self._chat: list[ChatMessage] = []
        self._utterance_start = -1
        self._usage = UsageCollector()
        self._turn_start: int | None = None
        self._last_end = -1
        self._finals: list[tuple[str, float | None]] = []
        self._last_final_sample = -1
        self._turn_count = 0
        self._n_windows = 0
        self._metrics_windows = 0
        self._metrics_infer_s = 0.0
        # Agent speech, transcripts, chat history.
        self._agent_speech_start: int | None = None
        self._agent_interruptible = self.options.allow_interruptions
        self._agent_speech_interrupted = False
        self._transcripts_fed = False
        self._utt_final_idx = 0       # index in _finals where the current utterance starts
        self._interim_words = 0
        self._after_backchannel = False
        self._chat_seq = 0
        # Audio history (for VAD event audio and the STT gate), allocated only when needed.
        self._ring: AudioRing | None = None
        self._ring_windows = 0
        self._gate: SttGate | None = None
        self._feat_pos = 0                  # clock sample up to which the turn audio was fed
        self._agent_spoke_since_end = False  # dynamic endpointing: pauses exclude agent turns
        self._last_utt_special = False       # the last utterance interrupted or backchannelled
        if self._eot_on:
            self._enable_audio_history()
        if stt_gate:
            self._enable_audio_history()
            assert self._ring is not None
            self._gate = SttGate(self._ring, seconds_to_samples(
                self.options.prefix_padding_duration, self.model_rate))
        self._stall_watchdog = bool(audio_stall_watchdog)
        self._last_audio_wall = time.monotonic()
        self._window_log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] | None = (
            [] if keep_window_log else None)
        # Scheduled host actions (heap of (sample, seq, action)); the event list that host calls
        # made inside callbacks or actions also report to.
        self._schedule: list[tuple[int, int, Callable[[TurnEngine], Any]]] = []
        self._schedule_seq = 0
        self._outer: list[Event] | None = None
        # asyncio consumers of events() and async shutdown callbacks.
        # Replaced, never mutated, so push_audio on another thread iterates a stable snapshot.
        self._streams: tuple[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]], ...] = ()
        self._shutdown_tasks: list[asyncio.Future[Any]] = []

    # -- construction helpers ----------------------------------------------------------------
    def _build_kernels(self) -> None:
        o, sr = self.options, self.model_rate
        self._w = self.vad.window_size
        window_s = self._w / sr
        self._hyst = _kernels.load("hysteresis").Hysteresis(
            self._w, o.activation_threshold, o.effective_deactivation_threshold,
            seconds_to_windows(o.min_speech_duration, window_s),
            seconds_to_windows(o.min_silence_duration, window_s),
            o.smoothing_alpha, o.min_volume)
        away = -1 if o.user_away_timeout is None else seconds_to_samples(o.user_away_timeout, sr)
        mode = {"vad": 0, "stt": 1, "manual": 2}[o.turn_detection]
        self._timers_mod = _kernels.load("timers")
        def samples_or_off(seconds: float | None) -> int:
            return -1 if seconds is None else seconds_to_samples(seconds, sr)

        self._timers = self._timers_mod.Timers(
            self._w, seconds_to_samples(o.min_endpointing_delay, sr),
            seconds_to_samples(o.min_interruption_duration, sr), away, mode,
            o.allow_interruptions, o.min_interruption_words,
            samples_or_off(o.aec_warmup_duration), samples_or_off(o.false_interruption_timeout),
            o.resume_false_interruption,
            self._eot.predict_after_samples if o.turn_detection == "vad" else -1)
        # VADMetrics about once per second of audio, on window boundaries (chunking-invariant).
        self._metrics_every = max(1, round(1.0 / window_s))

    def _alloc_scratch(self, n_windows: int) -> None:
        n = max(n_windows, 2 * self._scratch_windows)
        self._probs = np.zeros(n, dtype=np.float32)
        self._smoothed = np.zeros(n, dtype=np.float32)
        self._rms = np.zeros(n, dtype=np.float32)
        self._flags = np.zeros(n, dtype=np.uint8)
        self._h_code = np.zeros(n, dtype=np.int32)
        self._h_sample = np.zeros(n, dtype=np.int64)
        self._h_aux = np.zeros(n, dtype=np.int64)
        m = self._timers_mod.MAX_EVENTS_PER_WINDOW * n
        self._t_code = np.zeros(m, dtype=np.int32)
        self._t_sample = np.zeros(m, dtype=np.int64)
        self._t_aux = np.zeros(m, dtype=np.int64)
        self._scratch_windows = n
        # Bound once, so each chunk's kernel calls pass only counts (no buffer acquisition).
        self._hyst.bind(self._probs, self._rms, self._flags, self._smoothed, self._h_code,
                        self._h_sample, self._h_aux)
        self._timers.bind(self._flags, self._h_aux, self._t_code, self._t_sample, self._t_aux)

    # -- subscription ------------------------------------------------------------------------
    def on(self, name: str, callback: Callable[[Any], Any] | None = None) -> Any:
        """Subscribe to a session event or VAD event (see class notes); decorator form allowed.

        Raises
        ------
        ValueError
            If ``name`` is not an event of the engine.
        """
        if name in (VADEventType.START_OF_SPEECH.value, VADEventType.END_OF_SPEECH.value):
            self._enable_audio_history()
        return self._emitter.on(name, callback)

    def once(self, name: str, callback: Callable[[Any], Any]) -> Any:
        """Subscribe ``callback`` to the next ``name`` event only."""
        if name in (VADEventType.START_OF_SPEECH.value, VADEventType.END_OF_SPEECH.value):
            self._enable_audio_history()
        return self._emitter.once(name, callback)

    def off(self, name: str, callback: Callable[[Any], Any]) -> None:
        """Unsubscribe ``callback`` from ``name``."""
        self._emitter.off(name, callback)

    def add_shutdown_callback(self, callback: Callable[[SessionReport], Any]) -> None:
        """Call ``callback(report)`` once when the engine closes.

        Raises
        ------
        TypeError
            If ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(f"expected a callable, got {type(callback).__name__}")
        self._shutdown_callbacks.append(callback)

    # -- clock ---------------------------------------------------------------------------------
    @property
    def stream_time(self) -> float:
        """Seconds of audio on the engine clock (model-rate samples consumed, plus ``advance``)."""
        return (self._timers.now + self._pending) / self.model_rate

    @property
    def decision_time(self) -> float:
        """Seconds on the engine clock where decisions and host calls take effect: the end of
        the last complete VAD window, plus ``advance``."""
        return self._timers.now / self.model_rate

    def _epoch(self, sample: int) -> float:
        return self.started_at + sample / self.model_rate

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosedError("the engine is closed; create a new TurnEngine for a new "
                                    "session")

    # -- audio -------------------------------------------------------------------------------
    def push_audio(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> list[Event]:
        """Feed one chunk of PCM and return the session events it caused, in time order.

        Parameters
        ----------
        chunk : bytes, bytearray, memoryview or numpy.ndarray
            Mono int16 little-endian bytes, or an int16/float32 array of shape ``(n_samples,)``
            or ``(n_samples, n_channels)`` (down-mixed by averaging), at ``sample_rate``, of any
            length.

        Returns
        -------
        list of Event
            ``user_state_changed``, ``agent_interrupted``, ``agent_state_changed``,
            ``user_backchannel``, ``user_turn_completed`` and ``metrics_collected`` events.

        Raises
        ------
        TypeError
            Wrong container or dtype.
        ValueError
            Odd byte count, empty chunk, bad shape, NaN/inf or out-of-range floats, or a closed
            engine (``EngineClosedError``).  The engine state is unchanged after any error.
        """
        self._check_open()
        if (type(chunk) is np.ndarray and chunk.dtype is _INT16 and chunk.ndim == 1
                and chunk.shape[0] and chunk.flags.c_contiguous):
            frames = chunk  # the common case: mono int16, nothing to check or convert
        else:
            frames = as_frames(chunk)
        n_win = self._intake_frames(frames)
        if self._stall_watchdog:
            self._last_audio_wall = time.monotonic()
        return self._decide(n_win)

    def _intake_frames(self, frames: np.ndarray) -> int:
        """Phase 1 of a push: resample into the window buffer; return whole windows ready."""
        need = self._pending + int(self._intake.max_output(frames.shape[0]))
        if need > self._buf.shape[0]:
            grown = np.zeros(max(need, 2 * self._buf.shape[0]), dtype=np.float32)
            grown[: self._pending] = self._buf[: self._pending]
            self._buf = grown
        self._pending += int(self._intake.process(frames, self._buf[self._pending:]))
        return self._pending // self._w

    def _ready_windows(self, n_win: int) -> np.ndarray:
        """The samples of the ``n_win`` windows phase 1 made ready, shape (n_win * window,)."""
        return self._buf[: n_win * self._w]

    def _decide(self, n_win: int, probs: np.ndarray | None = None,
                infer_s: float = 0.0) -> list[Event]:
        """Phase 2: VAD (unless ``probs`` were computed by a batch), kernels, events."""
        if not n_win and not self._schedule and not self._eot_on:
            return []  # a push that completed no window: nothing can happen
        used = n_win * self._w
        out: list[Event] = []
        outer, self._outer = self._outer, out
        try:
            if self._eot_on:
                self._poll_eot(out)
            if self._schedule:
                self._run_due(out)
            if n_win:
                self._run_windows(self._buf[:used], n_win, out, probs, infer_s)
        finally:
            self._outer = outer
        rest = self._pending - used
        if rest:
            self._buf[:rest] = self._buf[used:self._pending]
        self._pending = rest
        return out

    def _run_windows(self, samples: np.ndarray, n_win: int, out: list[Event],
                     given: np.ndarray | None = None, infer_s: float = 0.0) -> None:
        if n_win > self._scratch_windows:
            self._alloc_scratch(n_win)
        w_size = self._w
        start = self._timers.now
        probs = self._probs[:n_win]
        if given is None:
            t0 = time.perf_counter()
            self.vad.process(samples, probs)
            infer_s = time.perf_counter() - t0
        else:
            probs[:] = given
        if self.options.min_volume > 0:
            self._window_rms(samples, w_size, self._rms)
        infer_runs = ((int(self._hyst.speech_run), int(self._hyst.silence_run))
                      if self._emitter.has(_INFERENCE_DONE) else None)
        n_h = self._hyst.step(n_win, start)
        if self._window_log is not None:
            self._window_log.append((start, probs.copy(), self._smoothed[:n_win].copy(),
                                     self._flags[:n_win].copy()))
        per_window_s = infer_s / n_win
        k = self._metrics_every
        g0 = self._n_windows  # windows before this chunk
        w = jh = 0
        # The timers kernel stops after each window that emits, so callbacks (and the host
        # calls they make) run with the clock exactly at that window's end; scheduled host
        # actions run at the end of the first window that reaches their time.
        while w < n_win:
            limit = n_win - w
            if self._schedule:
                due = self._schedule[0][0]
                need = max(1, -(-(due - (start + w * w_size)) // w_size))
                limit = min(limit, need)
            if self._ring is not None:
                limit = min(limit, self._ring_windows)  # never outrun the audio history
            n_t, used, used_h = self._timers.step(w, limit, jh, n_h, start + w * w_size)
            if self._ring is not None:  # the audio up to now, before events ask for it
                self._ring.record(samples[w * w_size:(w + used) * w_size], start + w * w_size)
            if infer_runs is not None:
                infer_runs = self._emit_inference_done(samples, w, used, start, per_window_s,
                                                       infer_runs)
            if self._eot_on and self._turn_start is not None:
                a = max(self._feat_pos - start, w * w_size)
                b = (w + used) * w_size
                if b > a:
                    self._eot.feed(samples[a:b])
                self._feat_pos = start + b
            g_end = g0 + w + used
            m = (self._n_windows // k + 1) * k  # next VADMetrics boundary (global window)
            while m <= g_end and not (n_t and m == g_end):
                self._account_windows(m, per_window_s)
                self._emit_vad_metrics(start + (m - g0) * w_size, out)
                m += k
            for j in range(n_t):
                self._dispatch(int(self._t_code[j]), int(self._t_sample[j]),
                               int(self._t_aux[j]), out)
            if m == g_end and n_t:
                self._account_windows(m, per_window_s)
                self._emit_vad_metrics(start + (m - g0) * w_size, out)
            self._account_windows(g_end, per_window_s)
            w += used
            jh += used_h
            if self._eot_on:
                self._poll_eot(out)
            if self._schedule:
                self._run_due(out)
            if self._gate is not None:
                self._gate.flush(self._timers.now, self._stt_muted())

    def _account_windows(self, upto: int, per_window_s: float) -> None:
        d = upto - self._n_windows
        self._metrics_windows += d
        self._metrics_infer_s += d * per_window_s
        self._n_windows = upto

    def window_log(self) -> WindowLog:
        """Every VAD window kept so far (needs ``keep_window_log=True``); see also
        :meth:`drain_window_log`.

        Raises
        ------
        RuntimeError
            If the engine was built without ``keep_window_log=True``.
        """
        return self._log_of(self._checked_log())

    def drain_window_log(self) -> WindowLog:
        """The windows kept since the last drain, then forgets them (memory stays flat; what
        live displays and framework adapters read after each ``push_audio``).

        Raises
        ------
        RuntimeError
            If the engine was built without ``keep_window_log=True``.
        """
        log = self._checked_log()
        out = self._log_of(log)
        log.clear()
        return out

    @property
    def last_probability(self) -> tuple[float, float] | None:
        """(raw, smoothed) probability of the newest window kept, or None (O(1))."""
        if not self._window_log:
            return None
        _, raw, smoothed, _ = self._window_log[-1]
        return float(raw[-1]), float(smoothed[-1])

    def _checked_log(self) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        if self._window_log is None:
            raise RuntimeError("build the engine with TurnEngine(..., keep_window_log=True) to "
                               "use window_log()")
        return self._window_log

    def _log_of(self, log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> WindowLog:
        sr, w = self.model_rate, self._w
        if not log:
            empty = np.zeros(0, np.float32)
            return WindowLog(empty.astype(np.float64), empty, empty, np.zeros(0, bool), w / sr,
                             np.zeros(0, np.uint8), self._timers.now)
        if len(log) == 1:
            start, raw, smoothed, flags = log[0]
        else:
            start = log[0][0]
            raw = np.concatenate([p for _, p, _, _ in log])
            smoothed = np.concatenate([q for _, _, q, _ in log])
            flags = np.concatenate([f for _, _, _, f in log])
        ends = np.concatenate([s0 + w * np.arange(1, p.shape[0] + 1)
                               for s0, p, _, _ in log]) / sr
        speaking = (flags & int(_codes.WindowFlag.SPEAKING)) != 0
        return WindowLog(ends, raw, smoothed, speaking, w / sr, flags, int(start))

    # -- scheduled host actions ------------------------------------------------------------------
    def schedule(self, seconds: float, action: Callable[[TurnEngine], Any]) -> None:
        """Run ``action(engine)`` when the engine clock reaches ``seconds``.

        During audio it runs at the end of the first VAD window that reaches ``seconds``; during
        :meth:`advance`, at exactly ``seconds``; a time already passed runs at the next
        ``push_audio``/``advance``.  Host calls made by the action take effect at that clock
        and their events are returned by the ``push_audio``/``advance`` that ran it.  This is how
        a replayed scenario (agent speech, transcripts) lands at the same sample however the
        audio is chunked.

        Raises
        ------
        TypeError
            ``action`` not callable, ``seconds`` not a number.
        ValueError
            ``seconds`` negative or not finite.
        """
        if not callable(action):
            raise TypeError(f"expected a callable action, got {type(action).__name__}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"seconds expects a number, got {seconds!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and >= 0, got {seconds}")
        self._schedule_seq += 1
        heapq.heappush(self._schedule, (seconds_to_samples(seconds, self.model_rate),
                                        self._schedule_seq, action))

    @property
    def decision_pending(self) -> bool:
        """True while a timer decision is still open: an endpointing or false-interruption
        deadline is armed, or a turn waits for the end-of-turn model's answer."""
        t = self._timers
        return (t.endpoint_deadline >= 0 or t.false_interruption_deadline >= 0
                or bool(t.awaiting_model))

    def wait_for_model(self, timeout: float | None = None) -> bool:
        """Block until the end-of-turn model has answered the question in flight (worker
        thread); the answer takes effect at the next :meth:`push_audio` or :meth:`advance`.

        Live hosts never need this (answers are picked up by the next push); it is for the end
        of a file or call, before letting the clock run out with :meth:`advance`.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; None waits as long as it takes.

        Returns
        -------
        bool
            True when no answer is outstanding any more, False on timeout.
        """
        return self._eot.wait(timeout)

    @property
    def next_action_time(self) -> float | None:
        """Clock time (s) of the earliest action given to :meth:`schedule` not yet run."""
        return self._schedule[0][0] / self.model_rate if self._schedule else None

    def _run_due(self, out: list[Event]) -> None:
        outer, self._outer = self._outer, out
        try:
            while self._schedule and self._schedule[0][0] <= self._timers.now:
                _, _, action = heapq.heappop(self._schedule)
                try:
                    action(self)
                except Exception:
                    logger.exception("scheduled action %r raised; the engine continues", action)
        finally:
            self._outer = outer

    # -- event construction --------------------------------------------------------------------
    def _emit(self, event: Event, out: list[Event]) -> None:
        out.append(event)
        if self._outer is not None and self._outer is not out:
            self._outer.append(event)
        self._history.append(event.to_dict())
        if isinstance(event, MetricsCollectedEvent):
            self._usage.collect(event.metrics)
        self._emitter.emit(event.type, event)
        for loop, queue in self._streams:
            self._post(loop, queue, event)

    @staticmethod
    def _post(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], item: Any) -> None:
        try:
            if loop.is_closed():
                return
            running = None
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                pass
            if running is loop:
                queue.put_nowait(item)
            else:
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the consumer's loop has shut down
            pass

    def _set_user_state(self, new: str, t: int, boundary: int, out: list[Event]) -> None:
        old = self.user_state
        if new == old:
            return
        self.user_state = new
        self._emit(UserStateChangedEvent(stream_time=t / self.model_rate,
                                         created_at=self._epoch(boundary), old_state=old,
                                         new_state=new, audio_time=boundary / self.model_rate),
                   out)

    def _set_agent_state_event(self, new: str, t: int, out: list[Event]) -> None:
        old = self.agent_state
        if new == old:
            return
        self.agent_state = new
        self._emit(AgentStateChangedEvent(stream_time=t / self.model_rate,
                                          created_at=self._epoch(t), old_state=old,
                                          new_state=new), out)

    def _dispatch(self, code: int, t: int, aux: int, out: list[Event]) -> None:
        sr = self.model_rate
        if code == EC.START_OF_SPEECH:
            if (self._last_end >= 0 and not self._agent_spoke_since_end
                    and not self._last_utt_special and self.agent_state != "speaking"):
                new_min = self._eot.observe_pause((aux - self._last_end) / sr)
                if new_min is not None:
                    self._timers.set_endpoint_delay(seconds_to_samples(new_min, sr))
            self._last_utt_special = False
            self._eot.decision = None  # the user went on: the pause's decision is void
            if self._turn_start is None:
                self._turn_start = aux
                if self._eot_on:
                    # As Pipecat's Smart Turn: the turn audio starts prefix_padding_duration
                    # (0.5 s, its pre_speech_ms) before the speech onset.
                    pad = seconds_to_samples(self.options.prefix_padding_duration, sr)
                    self._eot.start_turn(self._audio_between(aux - pad, t))
                    self._feat_pos = t
            self._utterance_start = aux
            self._utt_final_idx = len(self._finals)
            self._interim_words = 0
            self._after_backchannel = False
            self._set_user_state("speaking", t, aux, out)
            if self._gate is not None:
                self._gate.start(aux, self._stt_muted())
            self._emit_vad_boundary(VADEventType.START_OF_SPEECH, t, aux)
        elif code == EC.END_OF_SPEECH:
            self._last_end = aux
            self._agent_spoke_since_end = False
            self._set_user_state("listening", t, aux, out)
            if self._gate is not None:
                self._emit_stt_metrics(t, self._gate.end(t, self._stt_muted()), out)
            self._emit_vad_boundary(VADEventType.END_OF_SPEECH, t, aux)
        elif code == EC.EOT_PREDICT:
            decision = self._eot.request()
            if decision is not None:
                self._apply_eot(decision, out)
        elif code == EC.AGENT_INTERRUPTED:
            self._agent_speech_interrupted = True
            self._last_utt_special = True
            self._emit(AgentInterruptedEvent(stream_time=t / sr, created_at=self._epoch(t),
                                             speech_duration=(t - aux) / sr), out)
            self._set_agent_state_event("listening", t, out)
        elif code == EC.AGENT_FALSE_INTERRUPTION:
            resumed = aux > 0  # aux = 1 + the agent state resumed to, or 0
            self._emit(AgentFalseInterruptionEvent(stream_time=t / sr, created_at=self._epoch(t),
                                                   resumed=resumed), out)
            # The speech was not a turn.
            self._turn_start = None
            if resumed:
                self._agent_speech_interrupted = False
                self._set_agent_state_event(AGENT_STATES[aux - 1], t, out)
        elif code == EC.USER_BACKCHANNEL:
            self._last_utt_special = True
            if self._turn_start == aux:
                self._turn_start = None
            words = self._finals[self._utt_final_idx:]
            del self._finals[self._utt_final_idx:]
            self._after_backchannel = True
            self._emit(UserBackchannelEvent(
                stream_time=t / sr, created_at=self._epoch(t),
                duration=max(0, self._last_end - aux) / sr,
                transcript=" ".join(text for text, _ in words)), out)
        elif code == EC.USER_TURN_COMPLETED:
            self._complete_turn(t, aux, "stt" if self.options.turn_detection == "stt" else "",
                                out)
        elif code == EC.USER_AWAY:
            self._set_user_state("away", t, aux, out)
        else:  # pragma: no cover - the kernels emit only the codes above
            raise AssertionError(f"unknown kernel event code {code}")

    def _add_chat_item(self, item: ChatMessage, t: int, out: list[Event]) -> None:
        self._chat_seq += 1
        self._chat.append(item)
        self._emit(ConversationItemAddedEvent(stream_time=t / self.model_rate,
                                              created_at=self._epoch(t), item=item), out)

    def _emit_stt_metrics(self, t: int, forwarded: int, out: list[Event]) -> None:
        created = self._epoch(t)
        self._emit(MetricsCollectedEvent(
            stream_time=t / self.model_rate, created_at=created,
            metrics=STTMetrics(label="turnengine.stt_gate",
                               request_id=f"segment_{t}", timestamp=created, duration=0.0,
                               audio_duration=forwarded / self.model_rate)), out)

    def _stt_muted(self) -> bool:
        """The STT gate passes silence while the agent speaks uninterruptibly (SPEC 8)."""
        return (self.options.discard_audio_if_uninterruptible and self.agent_state == "speaking"
                and not self._agent_interruptible)

    def _apply_eot(self, decision: Decision, out: list[Event]) -> None:
        if not self._timers.awaiting_model:
            return  # the pause it answered for is over (the user spoke again, or a commit)
        self._eot.decision = decision
        fired = self._timers.model_answer(seconds_to_samples(decision.delay, self.model_rate))
        self._run_fired(fired, out)

    def _poll_eot(self, out: list[Event]) -> None:
        decision = self._eot.poll()
        if decision is not None:
            self._apply_eot(decision, out)

    def _complete_turn(self, t: int, last_speaking: int, reason: str, out: list[Event],
                       source: str = "voice", decision: Decision | None = None) -> None:
        """Emit a committed turn; ``reason`` "" means "as the end-of-turn decision says".

        ``decision`` overrides the voice pause's end-of-turn decision (a typed turn has none
        and leaves the voice one in place)."""
        sr = self.model_rate
        if decision is None:
            decision = self._eot.decision if self._eot.decision is not None else \
                self._eot.fixed_decision()
            self._eot.decision = None
        if not reason:
            reason = decision.reason
        self._turn_count += 1
        speech_id = f"turn_{self._turn_count}"
        transcript = " ".join(text for text, _ in self._finals).strip()
        confs = [c for _, c in self._finals if c is not None]
        confidence = float(np.mean(confs)) if confs else None
        eou_delay = max(0, t - last_speaking) / sr if last_speaking >= 0 else 0.0
        if self._last_final_sample >= 0 and last_speaking >= 0:
            transcription_delay = max(0, self._last_final_sample - last_speaking) / sr
        else:
            transcription_delay = 0.0
        created = self._epoch(t)
        self._emit(UserTurnCompletedEvent(
            stream_time=t / sr, created_at=created, transcript=transcript,
            transcript_confidence=confidence,
            started_speaking_at=(self._epoch(self._turn_start)
                                 if self._turn_start is not None else None),
            stopped_speaking_at=self._epoch(last_speaking) if last_speaking >= 0 else None,
            end_of_utterance_delay=eou_delay, transcription_delay=transcription_delay,
            eot_probability=decision.probability, endpointing_delay=decision.delay,
            reason=reason, speech_id=speech_id), out)
        self._emit(MetricsCollectedEvent(stream_time=t / sr, created_at=created,
                                         metrics=EOUMetrics(
                                             timestamp=created,
                                             end_of_utterance_delay=eou_delay,
                                             transcription_delay=transcription_delay,
                                             on_user_turn_completed_delay=0.0,
                                             speech_id=speech_id)), out)
        item_at = self._epoch(self._turn_start) if self._turn_start is not None else created
        self._add_chat_item(ChatMessage(id=speech_id, role="user", content=[transcript],
                                        created_at=item_at, transcript_confidence=confidence,
                                        source=source), t, out)
        self._turn_start = None
        self._finals = []
        self._utt_final_idx = 0
        self._last_final_sample = -1

    def _emit_vad_metrics(self, t: int, out: list[Event]) -> None:
        sr = self.model_rate
        audio_s = self._metrics_windows * self._w / sr
        infer_s = self._metrics_infer_s
        created = self._epoch(t)
        self._emit(MetricsCollectedEvent(stream_time=t / sr, created_at=created,
                                         metrics=VADMetrics(
                                             label=self.vad.name, timestamp=created,
                                             idle_time=max(0.0, audio_s - infer_s),
                                             inference_duration_total=infer_s,
                                             inference_count=self._metrics_windows)), out)
        self._metrics_windows = 0
        self._metrics_infer_s = 0.0

    # -- VAD events (only built for subscribers) -------------------------------------------------
    def _enable_audio_history(self) -> None:
        if self._ring is None:
            o = self.options
            cap = seconds_to_samples(o.prefix_padding_duration + o.max_buffered_speech
                                     + o.min_silence_duration, self.model_rate) + 2 * self._w
            self._ring = AudioRing(cap, self._timers.now)
            # Each timers step records its windows just before its events ask for audio; the
            # STT gate reads after the step, so a step never spans more than half the history.
            self._ring_windows = max(1, cap // (2 * self._w))

    def _audio_between(self, a: int, b: int) -> np.ndarray:
        if self._ring is None:
            return np.zeros(0, dtype=np.float32)
        return self._ring.between(a, b)

    def _emit_vad_boundary(self, kind: VADEventType, t: int, boundary: int) -> None:
        if not self._emitter.has(kind.value):
            return
        sr, o = self.model_rate, self.options
        pad = seconds_to_samples(o.prefix_padding_duration, sr)
        if kind is VADEventType.START_OF_SPEECH:
            speech, silence = (t - boundary) / sr, 0.0
            frames = self._audio_between(boundary - pad, t)
        else:
            start = self._utterance_start if self._utterance_start >= 0 else boundary
            speech, silence = (boundary - start) / sr, (t - boundary) / sr
            cap = seconds_to_samples(o.max_buffered_speech, sr)
            frames = self._audio_between(max(start - pad, t - cap), t)
        self._emitter.emit(kind.value, VADEvent(
            type=kind, samples_index=t, timestamp=t / sr, speech_duration=speech,
            silence_duration=silence, speaking=kind is VADEventType.START_OF_SPEECH,
            frames=frames))

    def _emit_inference_done(self, samples: np.ndarray, first: int, count: int, start: int,
                             per_window_s: float, runs: tuple[int, int]) -> tuple[int, int]:
        sr, w = self.model_rate, self._w
        speech, silence = runs
        for i in range(first, first + count):
            f = int(self._flags[i])
            if f & _codes.WindowFlag.RAW_SPEECH:
                speech, silence = speech + 1, 0
            else:
                speech, silence = 0, silence + 1
            t = start + (i + 1) * w
            self._emitter.emit(VADEventType.INFERENCE_DONE.value, VADEvent(
                type=VADEventType.INFERENCE_DONE, samples_index=t, timestamp=t / sr,
                speech_duration=0.0, silence_duration=0.0,
                probability=float(self._smoothed[i]), inference_duration=per_window_s,
                speaking=bool(f & _codes.WindowFlag.SPEAKING),
                raw_accumulated_speech=speech * w / sr,
                raw_accumulated_silence=silence * w / sr,
                frames=samples[i * w:(i + 1) * w].copy()))
        return speech, silence

    # -- host calls ----------------------------------------------------------------------------
    def _run_fired(self, fired: list[tuple[int, int, int]], out: list[Event]) -> list[Event]:
        for code, t, aux in fired:
            self._dispatch(code, t, aux, out)
        return out

    def set_agent_state(self, state: str, *,
                        allow_interruptions: bool | None = None) -> list[Event]:
        """Tell the engine what the agent is doing.

        Parameters
        ----------
        state : {"initializing", "listening", "thinking", "speaking"}
        allow_interruptions : bool, optional
            For ``"speaking"``: whether this speech may be interrupted (default: the
            ``allow_interruptions`` option).

        Returns
        -------
        list of Event
            ``agent_state_changed`` (when the state changes) and any interruption it causes (a
            user already speaking long enough).

        Raises
        ------
        ValueError
            Unknown state, or a closed engine.
        TypeError
            ``allow_interruptions`` not a bool.
        """
        self._check_open()
        if state not in AGENT_STATES:
            raise ValueError(f"unknown agent state {state!r}; expected one of {AGENT_STATES}")
        if allow_interruptions is not None and not isinstance(allow_interruptions, bool):
            raise TypeError(f"allow_interruptions expects a bool, got {allow_interruptions!r}")
        interruptible = (self.options.allow_interruptions if allow_interruptions is None
                         else allow_interruptions)
        out: list[Event] = []
        now = self._timers.now
        if state == "speaking" and self.agent_state != "speaking":
            self._agent_speech_start = now
            self._agent_speech_interrupted = False
            self._agent_spoke_since_end = True
        self._agent_interruptible = interruptible
        self._set_agent_state_event(state, now, out)
        return self._run_fired(
            self._timers.set_agent_state(AGENT_STATES.index(state), interruptible), out)

    def agent_started_speaking(self, *, allow_interruptions: bool | None = None) -> list[Event]:
        """Shorthand for ``set_agent_state("speaking", allow_interruptions=...)``."""
        return self.set_agent_state("speaking", allow_interruptions=allow_interruptions)

    def agent_stopped_speaking(self, text: str | None = None, *,
                               interrupted: bool = False) -> list[Event]:
        """The agent's speech ended: played out, or cut short (``interrupted``).

        Parameters
        ----------
        text : str, optional
            What the agent said (or the part that was played); adds an assistant message to
            the chat history, dated at the start of the speech and marked ``interrupted`` when
            the host says so or the engine interrupted it.
        interrupted : bool
            True when the speech was cut short.

        Returns
        -------
        list of Event
            ``conversation_item_added`` (with ``text``) and ``agent_state_changed``.
        """
        self._check_open()
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text expects a str, got {type(text).__name__}")
        if not isinstance(interrupted, bool):
            raise TypeError(f"interrupted expects a bool, got {interrupted!r}")
        out: list[Event] = []
        now = self._timers.now
        if text is not None:
            start = self._agent_speech_start if self._agent_speech_start is not None else now
            self._add_chat_item(ChatMessage(
                id=f"agent_{self._chat_seq + 1}", role="assistant", content=[text],
                created_at=self._epoch(start),
                interrupted=interrupted or self._agent_speech_interrupted), now, out)
        self._agent_speech_start = None
        self._agent_speech_interrupted = False
        return out + self.set_agent_state("listening")

    def push_transcript(self, text: str, is_final: bool, confidence: float | None = None,
                        language: str | None = None, speaker_id: str | None = None) -> list[Event]:
        """Feed what the user's speech-to-text said.

        Emits ``user_input_transcribed``.  Words of the current utterance (its finals plus the
        latest interim) count toward ``min_interruption_words``.  A non-empty final transcript
        joins the current turn's transcript, makes a pending interruption real (no
        ``agent_false_interruption``), opens the end-of-turn decision in ``"stt"`` mode, and
        brings an ``away`` user back to ``listening``.  Transcripts that arrive after a
        backchannel and before new speech belong to that backchannel, not to the next turn.

        Parameters
        ----------
        text : str
        is_final : bool
        confidence : float, optional
            In [0, 1]; the turn reports the mean over its finals as ``transcript_confidence``.
        language, speaker_id : str, optional
            Passed through on the event.

        Raises
        ------
        TypeError
            ``text`` not a str, ``is_final`` not a bool.
        ValueError
            ``confidence`` outside [0, 1], or a closed engine.
        """
        self._check_open()
        if not isinstance(text, str):
            raise TypeError(f"text expects a str, got {type(text).__name__}")
        if not isinstance(is_final, bool):
            raise TypeError(f"is_final expects a bool, got {is_final!r}")
        if confidence is not None and (isinstance(confidence, bool) or not isinstance(
                confidence, (int, float)) or not 0.0 <= confidence <= 1.0):
            raise ValueError(f"confidence must be in [0, 1] or None, got {confidence!r}")
        out: list[Event] = []
        now = self._timers.now
        sr = self.model_rate
        if not self._transcripts_fed:
            self._transcripts_fed = True
            self._timers.transcripts_fed()
        self._emit(UserInputTranscribedEvent(stream_time=now / sr, created_at=self._epoch(now),
                                             transcript=text, is_final=is_final,
                                             language=language, speaker_id=speaker_id,
                                             confidence=confidence), out)
        words = len(text.split())
        if is_final and text.strip():
            if self._timers.user_back():
                self._set_user_state("listening", now, now, out)
            if self._after_backchannel and self.user_state != "speaking":
                return out  # a late transcript of the backchannel: reported, not a turn
            self._finals.append((text.strip(), None if confidence is None else float(confidence)))
            self._last_final_sample = now
            self._interim_words = 0
            self._run_fired(self._timers.final_transcript(), out)
        elif not is_final:
            self._interim_words = words
        if self.user_state == "speaking":
            utt_words = sum(len(t.split()) for t, _ in self._finals[self._utt_final_idx:])
            self._run_fired(self._timers.set_words(utt_words + self._interim_words), out)
        return out

    def push_text_input(self, text: str) -> list[Event]:
        """Typed user input: interrupts the agent as a voice turn would and commits a turn now.

        Emits, in order: ``agent_interrupted`` and ``agent_state_changed`` (when the agent was
        speaking interruptibly), then ``user_turn_completed`` (``reason="text"``, the text as
        transcript), its ``EOUMetrics`` and ``conversation_item_added`` with ``source="text"``.
        An agent message the host reports afterwards for the speech this text cut off is dated
        at that speech's start, so the history reads in the order things happened.

        Raises
        ------
        TypeError
            ``text`` not a str.
        ValueError
            Empty ``text``, or a closed engine.
        """
        self._check_open()
        if not isinstance(text, str):
            raise TypeError(f"text expects a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("expected non-empty text input, got an empty string")
        out: list[Event] = []
        now = self._timers.now
        sr = self.model_rate
        if (self.agent_state == "speaking" and self.options.allow_interruptions
                and self._agent_interruptible):
            self._agent_speech_interrupted = True
            self._emit(AgentInterruptedEvent(stream_time=now / sr, created_at=self._epoch(now),
                                             speech_duration=0.0), out)
            self._set_agent_state_event("listening", now, out)
            self._run_fired(self._timers.set_agent_state(AGENT_STATES.index("listening"), True),
                            out)
        self._timers.settle_interruption()  # a committed turn makes any interruption real
        saved = (self._finals, self._turn_start, self._last_final_sample, self._utt_final_idx)
        self._finals, self._turn_start, self._last_final_sample = [(text.strip(), None)], now, -1
        self._utt_final_idx = 0
        self._complete_turn(now, now, "text", out, source="text",
                            decision=Decision(0.0, "text", None))
        # A voice turn in progress keeps its own transcript and start.
        self._finals, self._turn_start, self._last_final_sample, self._utt_final_idx = saved
        return out

    def mark_backchannel(self) -> bool:
        """Say that the user's current utterance is a backchannel ("mm-hm", a cough).

        It will not interrupt the agent and opens no turn (SPEC 6: "or when the host marks it
        so"); ``user_backchannel`` follows when it ends.

        Returns
        -------
        bool
            True when an utterance was in progress and had not interrupted yet.
        """
        self._check_open()
        return bool(self._timers.mark_backchannel())

    def commit_user_turn(self) -> list[Event]:
        """End the user's turn now (``turn_detection="manual"``, or to force it in any mode).

        Returns
        -------
        list of Event
            ``user_turn_completed`` (``reason="manual"``), its ``EOUMetrics`` and
            ``conversation_item_added``, unless there was no user speech and no transcript since
            the last turn (then nothing).

        Notes
        -----
        The committed speech is not a turn again: when the VAD still says speaking (its
        hangover) and no voice follows, its end opens no second turn; voice after the commit
        is a new turn.  An end-of-turn model question in flight is settled (a late answer is
        dropped); ``eot_probability`` is reported only when the model answered this pause.
        """
        self._check_open()
        out: list[Event] = []
        had_turn = self._timers.turn_open or self._turn_start is not None or bool(self._finals)
        if not self._timers.model_answered:
            self._eot.decision = None  # no answer for this pause: the user spoke since
        last = int(self._timers.commit())
        if had_turn:
            self._complete_turn(self._timers.now, last, "manual", out)
        return out

    def advance(self, seconds: float) -> list[Event]:
        """Move the engine clock forward with no audio (mute, network drop) so timers fire.

        Deadlines (endpointing, false interruption, user away) fire at their exact time.

        Parameters
        ----------
        seconds : float
            >= 0, finite.

        Raises
        ------
        TypeError
            ``seconds`` not a number.
        ValueError
            Negative or non-finite ``seconds``, or a closed engine.
        """
        self._check_open()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"seconds expects a number, got {seconds!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and >= 0, got {seconds}")
        out: list[Event] = []
        target = self._timers.now + seconds_to_samples(seconds, self.model_rate)
        outer, self._outer = self._outer, out
        try:
            if self._eot_on:
                self._poll_eot(out)
            self._run_due(out)
            while self._schedule and self._schedule[0][0] <= target:
                self._run_fired(self._timers.advance(self._schedule[0][0] - self._timers.now),
                                out)
                self._run_due(out)
            self._run_fired(self._timers.advance(target - self._timers.now), out)
            self._run_due(out)
        finally:
            self._outer = outer
        return out

    def check_audio_stall(self, now: float | None = None) -> list[Event]:
        """The audio-stall watchdog (SPEC 2): close a speaking state when audio stopped flowing.

        Call it from a wall-clock timer (for example every 0.5 s). When the engine was built with
        ``audio_stall_watchdog=True``, the user is ``speaking`` and no audio arrived for
        ``audio_stall_timeout`` seconds of wall clock, the utterance ends as if the VAD had
        ended it: ``user_state_changed`` (speaking -> listening, back-dated to the last voiced
        window) at the current engine clock, then whatever follows an end of speech (the turn,
        when its delay has passed; call :meth:`advance` to let later timers fire).

        Parameters
        ----------
        now : float, optional
            ``time.monotonic()`` reading to use (tests); default: the current one.

        Returns
        -------
        list of Event

        Raises
        ------
        RuntimeError
            If the engine was built without ``audio_stall_watchdog=True``.
        """
        self._check_open()
        if not self._stall_watchdog:
            raise RuntimeError("build the engine with TurnEngine(..., audio_stall_watchdog=True) "
                               "to use check_audio_stall()")
        now = time.monotonic() if now is None else now
        out: list[Event] = []
        if (self.user_state == "speaking"
                and now - self._last_audio_wall >= self.options.audio_stall_timeout):
            logger.warning("no audio for %.1f s of wall clock while the user was speaking; "
                           "closing the speaking state", now - self._last_audio_wall)
            self._hyst.force_silence()
            outer, self._outer = self._outer, out
            try:
                self._run_fired(self._timers.force_end(), out)
            finally:
                self._outer = outer
        return out

    def stt_audio(self) -> Iterator[np.ndarray]:
        """Yield the audio to forward to a streaming STT since the last call (SPEC 8).

        Yields
        ------
        numpy.ndarray of int16, shape (n,)
            Model-rate (16 kHz, or 8 kHz) mono PCM: speech with ``prefix_padding_duration``
            before its onset, through the end-of-speech decision; silence of the same length
            while the agent speaks uninterruptibly (``discard_audio_if_uninterruptible``).

        Raises
        ------
        RuntimeError
            If the engine was built without ``stt_gate=True``.
        """
        if self._gate is None:
            raise RuntimeError("build the engine with TurnEngine(..., stt_gate=True) to use "
                               "stt_audio()")
        return self._gate.drain()

    # -- asyncio ---------------------------------------------------------------------------------
    def events(self) -> AsyncIterator[Event]:
        """Async iterator over every session event from now on; ends when the engine closes.

        Must be called from a running event loop.  ``push_audio`` may run on another thread
        (events are handed over with ``call_soon_threadsafe``).

        Examples
        --------
        >>> async for ev in engine.events():  # doctest: +SKIP
        ...     if ev.type == "agent_interrupted":
        ...         await tts.pause()
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        entry = (loop, queue)
        self._streams = (*self._streams, entry)
        if self._closed:
            queue.put_nowait(_END)

        async def stream() -> AsyncIterator[Event]:
            try:
                while True:
                    item = await queue.get()
                    if item is _END:
                        return
                    yield item
            finally:
                self._streams = tuple(e for e in self._streams if e is not entry)

        return stream()

    # -- end of session ----------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def _report(self) -> SessionReport:
        chat = sorted(self._chat, key=lambda m: m.created_at)  # stable: ties keep their order
        return SessionReport(
            options=self.options.to_dict() | {"vad": self.vad.name,
                                              "turn_detector": self.turn_detector,
                                              "sample_rate": self.sample_rate},
            events=list(self._history), chat_history=chat, started_at=self.started_at,
            duration=self.stream_time, timestamp=time.time(),
            usage=self._usage.get_summary().to_dict())

    def close(self) -> SessionReport:
        """End the session: build the report, call each shutdown callback once, end streams.

        A callback may be a coroutine function: inside a running event loop it is scheduled as
        a task (await :meth:`aclose` instead to wait for it); otherwise it is run to completion
        with :func:`asyncio.run`.  A callback that raises is logged.  Calling ``close`` again
        returns a fresh report without calling the callbacks again.
        """
        report = self._report()
        if self._closed:
            return report
        self._closed = True
        self._eot.close()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for cb in self._shutdown_callbacks:
            try:
                result = cb(report)
                if inspect.isawaitable(result):
                    if running is not None:
                        self._shutdown_tasks.append(asyncio.ensure_future(result))
                    else:
                        asyncio.run(_awaited(result))
            except Exception:
                logger.exception("shutdown callback %r raised", cb)
        for loop, queue in self._streams:
            self._post(loop, queue, _END)
        return report

    async def aclose(self) -> SessionReport:
        """Async ``close``: awaits coroutine shutdown callbacks before returning the report."""
        report = self.close()
        tasks, self._shutdown_tasks = self._shutdown_tasks, []
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                logger.error("shutdown callback raised: %r", result)
        return report

    def __enter__(self) -> TurnEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"TurnEngine(sample_rate={self.sample_rate}, vad={self.vad.name!r}, "
                f"user_state={self.user_state!r}, agent_state={self.agent_state!r}, "
                f"stream_time={self.stream_time:.3f})")


__all__ = ["TurnEngine", "EngineClosedError", "SESSION_EVENTS", "VAD_EVENTS", "USER_STATES"]
