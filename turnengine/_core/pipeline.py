"""The per-stream kernel pipeline: intake -> VAD -> hysteresis -> timers, codes out.

One :class:`Pipeline` per stream owns the compiled kernels, the buffer of model-rate samples
awaiting a whole VAD window and the per-window scratch arrays the kernels are bound to.  It
knows nothing of events: each timers step leaves ``(code, sample, aux)`` triples that the
driver hands to the session.  Every time is an int64 sample count on the engine clock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from .. import _kernels
from .._kernels.codes import AgentState, TurnDetection, WindowFlag
from ..options import TurnEngineOptions, seconds_to_samples, seconds_to_windows
from ..vad import VADBackend, load_vad

if TYPE_CHECKING:  # the kernels' stubs: every call below is checked against them
    from .._kernels.hysteresis import Hysteresis
    from .._kernels.timers import Timers
    from .playout import EchoStage

Fired = list[tuple[int, int, int]]


def _samples_or_off(seconds: float | None, rate: int) -> int:
    return -1 if seconds is None else seconds_to_samples(seconds, rate)


def resolve_vad(vad: object, model_rate: int, sample_rate: int,
                model_path: str | None) -> VADBackend:
    """A backend at ``model_rate`` from a name or a backend object.

    Raises
    ------
    TypeError
        ``vad`` is neither a name nor a :class:`~turnengine.vad.VADBackend`.
    ValueError
        A backend object at another rate, or an unknown name.
    """
    if isinstance(vad, VADBackend):
        if vad.sample_rate_hz != model_rate:
            raise ValueError(f"VAD backend runs at {vad.sample_rate_hz} Hz but audio at "
                             f"{sample_rate} Hz is processed at {model_rate} Hz")
        return vad
    if isinstance(vad, str):
        return load_vad(vad, model_rate, model_path)
    raise TypeError(f"expected a VAD backend name or VADBackend, got {type(vad).__name__}")


class Pipeline:
    """Kernels, buffers and cursors of one stream.

    Parameters
    ----------
    sample_rate : int
        Rate of the pushed audio (already checked).
    vad : str or VADBackend
        As :class:`~turnengine.TurnEngine`.
    model_path : str, optional
        A ``silero_vad.onnx`` to use instead of the packaged one.
    options : TurnEngineOptions
    predict_after : int
        Silence (model-rate samples) after which the timers ask the end-of-turn model; -1 off.
    """

    def __init__(self, sample_rate: int, vad: object, model_path: str | None,
                 options: TurnEngineOptions, predict_after: int) -> None:
        pcm = _kernels.load("pcm")
        self.intake_kernel = pcm.Intake(sample_rate)
        self._window_rms = pcm.window_rms
        self.model_rate = int(self.intake_kernel.output_rate_hz)
        self.vad = resolve_vad(vad, self.model_rate, sample_rate, model_path)
        self.window_size = w = int(self.vad.window_size)
        self.min_volume = options.min_volume
        self.hysteresis = self._build_hysteresis(options)
        #: The hysteresis options changed after the windows in the scratch arrays were
        #: classified (``update_options`` from a callback mid-chunk): see :meth:`reclassify`.
        self.hysteresis_stale = False
        self._timers_mod = _kernels.load("timers")
        self.timers = self._build_timers(options, predict_after)
        self.buf = np.zeros(4 * w, dtype=np.float32)
        self.pending = 0      # samples in buf, the first `consumed` of them already stepped
        self.consumed = 0
        self.capacity = 0
        self.grouped = False
        #: The echo stage (``push_playout``), None until the first playout.
        self.echo: EchoStage | None = None
        #: Microphone samples (model rate) through the intake and the echo stage so far.
        self.mic_samples = 0
        self.advanced = 0       # clock samples added by advance(), not audio
        self._group_rest: tuple[np.ndarray, np.ndarray, int] | None = None
        self._alloc_scratch(64)

    def _hysteresis_args(self, o: TurnEngineOptions) -> tuple[float, float, int, int, float,
                                                              float]:
        window_s = self.window_size / self.model_rate
        return (o.activation_threshold, o.effective_deactivation_threshold,
                seconds_to_windows(o.min_speech_duration, window_s),
                seconds_to_windows(o.min_silence_duration, window_s),
                o.smoothing_alpha, o.min_volume)

    def _build_hysteresis(self, o: TurnEngineOptions) -> Hysteresis:
        return _kernels.load("hysteresis").Hysteresis(self.window_size,
                                                      *self._hysteresis_args(o))

    def configure_hysteresis(self, o: TurnEngineOptions) -> None:
        """New hysteresis options from the next window on (the running state carries over)."""
        self.hysteresis.configure(*self._hysteresis_args(o))
        self.min_volume = o.min_volume
        self.hysteresis_stale = True

    def reclassify(self, first: int, n_win: int, first_hyst: int, start: int) -> int:
        """Decide windows ``first .. n_win`` of the chunk again with the hysteresis options now
        in force, from the state the hysteresis had after window ``first - 1`` (its outputs
        there); their hysteresis events go from entry ``first_hyst`` on.  Returns how many
        (``first`` >= 1; ``start``: clock sample of window 0)."""
        i = first - 1
        h, w = self.hysteresis, self.window_size
        h.restore(float(self.smoothed[i]), bool(self.flags[i] & WindowFlag.SPEAKING),
                  int(self.runs[i, 0]), int(self.runs[i, 1]))
        self.hysteresis_stale = False
        rms = None
        if self.min_volume > 0:
            self._window_rms(self.buf[: n_win * w], w, self.rms)
            rms = self.rms[first:n_win]
        return int(h.process(self.probs[first:n_win], rms, start + first * w,
                             self.flags[first:], self.smoothed[first:],
                             self._h_code[first_hyst:], self._h_sample[first_hyst:],
                             self.h_aux[first_hyst:], runs_out=self.runs[first:]))

    def _build_timers(self, o: TurnEngineOptions, predict_after: int) -> Timers:
        sr = self.model_rate
        mode = TurnDetection[o.turn_detection.upper()]
        return self._timers_mod.Timers(
            self.window_size, seconds_to_samples(o.min_endpointing_delay, sr),
            seconds_to_samples(o.min_interruption_duration, sr),
            _samples_or_off(o.user_away_timeout, sr), int(mode),
            o.allow_interruptions, o.min_interruption_words,
            _samples_or_off(o.aec_warmup_duration, sr),
            _samples_or_off(o.false_interruption_timeout, sr),
            o.resume_false_interruption,
            predict_after if mode is TurnDetection.VAD else -1,
            o.endpointing_start == "silence",
            seconds_to_windows(o.min_speech_duration, self.window_size / sr),
            _samples_or_off(o.eot_prediction_interval, sr) if predict_after >= 0 else -1)

    def _alloc_scratch(self, n_windows: int, probs: np.ndarray | None = None) -> None:
        n = max(n_windows, 2 * self.capacity) if probs is None else probs.shape[0]
        self.probs = np.zeros(n, dtype=np.float32) if probs is None else probs
        self.smoothed = np.zeros(n, dtype=np.float32)
        self.rms = np.zeros(n, dtype=np.float32)
        self.flags = np.zeros(n, dtype=np.uint8)
        self._h_code = np.zeros(n, dtype=np.int32)
        self._h_sample = np.zeros(n, dtype=np.int64)
        self.h_aux = np.zeros(n, dtype=np.int64)
        self.runs = np.zeros((n, 2), dtype=np.int64)  # raw (speech, silence) runs per window
        m = self._timers_mod.MAX_EVENTS_PER_WINDOW * n
        self.t_code = np.zeros(m, dtype=np.int32)
        self.t_sample = np.zeros(m, dtype=np.int64)
        self.t_aux = np.zeros(m, dtype=np.int64)
        self.capacity = n
        # Bound once, so each chunk's kernel calls pass only counts (no buffer acquisition).
        self.hysteresis.bind(self.probs, self.rms, self.flags, self.smoothed, self._h_code,
                             self._h_sample, self.h_aux, runs_out=self.runs)
        self.timers.bind(self.flags, self.h_aux, self.t_code, self.t_sample, self.t_aux)

    def attach(self, buf: np.ndarray, probs: np.ndarray, pending: np.ndarray,
               consumed: np.ndarray, row: int) -> None:
        """Group mode (``TurnEngineGroup``): this stream's samples and VAD probabilities live in
        rows of the group's arrays, which the group fills (float32, shape (capacity,)); its
        buffered sample count is ``pending[row] - consumed[row]`` of the group's int64 arrays."""
        self.grouped = True
        self.buf = buf
        self._group_rest = (pending, consumed, row)
        self._alloc_scratch(probs.shape[0], probs)

    @property
    def buffered(self) -> int:
        """Model-rate samples pushed but not yet through the kernels (less than a window
        between pushes)."""
        if self._group_rest is None:
            held = 0 if self.echo is None else self.echo.buffered
            return self.pending - self.consumed + held
        pending, consumed, row = self._group_rest
        return int(pending[row] - consumed[row])

    # -- clock ------------------------------------------------------------------------------------
    @property
    def now(self) -> int:
        """Engine clock (model-rate samples): the end of the last complete window, plus advance."""
        return int(self.timers.now)

    # -- intake -----------------------------------------------------------------------------------
    def intake(self, frames: np.ndarray) -> int:
        """Resample ``frames`` into the window buffer; return the whole windows now ready.

        Raises
        ------
        RuntimeError
            In group mode: the group pushes every stream's audio at once.
        """
        if self.grouped:
            raise RuntimeError("this engine belongs to a TurnEngineGroup: push audio through "
                               "the group")
        if self.consumed:  # drop the windows the last push stepped
            used, self.consumed = self.consumed, 0
            rest = self.pending - used
            if rest:
                self.buf[:rest] = self.buf[used:self.pending]
            self.pending = rest
        n_max = int(self.intake_kernel.max_output(frames.shape[0]))
        self._grow(self.pending + n_max)
        echo = self.echo
        if echo is None:
            n = int(self.intake_kernel.process(frames, self.buf[self.pending:]))
        else:  # through the echo canceller (whole frames; the rest waits in the stage)
            n = echo.ready(int(self.intake_kernel.process(frames, echo.room(n_max))))
            echo.run(n, self.buf[self.pending:])
        self.pending += n
        self.mic_samples += n
        return self.pending // self.window_size

    def _grow(self, need: int) -> None:
        if need > self.buf.shape[0]:
            grown = np.zeros(max(need, 2 * self.buf.shape[0]), dtype=np.float32)
            grown[: self.pending] = self.buf[: self.pending]
            self.buf = grown

    def windows(self, n_win: int) -> np.ndarray:
        """The samples of the first ``n_win`` ready windows, shape (n_win * window_size,)."""
        return self.buf[: n_win * self.window_size]

    def stepped(self, n_win: int) -> None:
        """The first ``n_win`` windows of this push went through the timers: the clock covers
        them, so :attr:`buffered` stops counting them (``stream_time`` inside callbacks)."""
        if self._group_rest is None:
            self.consumed = n_win * self.window_size
        else:
            _, consumed, row = self._group_rest
            consumed[row] = n_win * self.window_size

    def consume(self, n_win: int) -> None:
        """The first ``n_win`` windows went through the kernels: the next :meth:`intake` drops
        them from the buffer."""
        self.consumed = n_win * self.window_size

    # -- per-window kernels -----------------------------------------------------------------------
    def classify(self, n_win: int, given: np.ndarray | None) -> tuple[int, float]:
        """VAD (unless ``given`` probabilities came from a batch) and hysteresis over the ready
        windows; returns (hysteresis codes written, inference seconds)."""
        if n_win > self.capacity:  # (a group sizes its streams' arrays itself)
            self._alloc_scratch(n_win)
        samples = self.buf[: n_win * self.window_size]
        probs = self.probs[:n_win]
        infer_s = 0.0
        if given is None:
            t0 = time.perf_counter()
            self.vad.process(samples, probs)
            infer_s = time.perf_counter() - t0
        else:
            probs[:] = given
        if self.min_volume > 0:
            self._window_rms(samples, self.window_size, self.rms)
        self.hysteresis_stale = False
        return int(self.hysteresis.step(n_win, self.timers.now)), infer_s

    def codes(self, n: int) -> Fired:
        """The ``n`` (code, sample, aux) triples the last :meth:`step` wrote."""
        return [(int(self.t_code[j]), int(self.t_sample[j]), int(self.t_aux[j]))
                for j in range(n)]

    # -- host commands to the timers --------------------------------------------------------------
    def set_agent_state(self, state: AgentState, interruptible: bool) -> Fired:
        return list(self.timers.set_agent_state(int(state), interruptible))

    def advance(self, n_samples: int) -> Fired:
        fired = list(self.timers.advance(n_samples))
        self.advanced += n_samples
        return fired

    def mic_sample(self, t: int) -> int:
        """The microphone sample (model rate) at engine clock ``t`` of the chunk in progress
        (the clock also counts ``advance``)."""
        return t - self.advanced
