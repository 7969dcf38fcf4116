""":meth:`push_playout`: the agent's own audio as the echo reference, mixed into
:class:`~turnengine.TurnEngine` (the stage itself: :mod:`turnengine._core.playout`).

The agent's audio is the one signal a voice agent always has and the frameworks do not use:
LiveKit's answer to echo is ``aec_warmup_duration`` (no interruptions for the first seconds),
Pipecat's is to leave it to the client (docs/echo.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..audio import as_frames, check_sample_rate
from ..options import seconds_to_samples
from .playout import EchoStage, load_echo_canceller
from .threads import locked

if TYPE_CHECKING:
    from ..options import TurnEngineOptions
    from .pipeline import Pipeline
    from .vad_report import VadReporting


def capped_warmup(o: TurnEngineOptions, pipe: Pipeline) -> int:
    """The AEC warm-up (model-rate samples, -1 off) the timers use: ``aec_warmup_duration``,
    cut to the canceller's convergence time once a playout reference is given."""
    warm = o.aec_warmup_duration
    if warm is None:
        return -1
    if pipe.echo is not None:
        warm = min(warm, pipe.echo.canceller.convergence_s)
    return seconds_to_samples(warm, pipe.model_rate)


class PlayoutAPI:
    """``push_playout`` and ``echo_canceller`` of :class:`~turnengine.TurnEngine`."""

    _pipe: Pipeline
    _vad_report: VadReporting
    _echo_name: str
    _keep_echo_audio: bool = False
    sample_rate: int

    if TYPE_CHECKING:  # provided by TurnEngine
        @property
        def options(self) -> TurnEngineOptions: ...
        def _check_open(self) -> None: ...

    @property
    def echo_canceller(self) -> str | None:
        """The echo-canceller backend in use: None until the first :meth:`push_playout`."""
        return None if self._pipe.echo is None else self._pipe.echo.canceller.name

    @locked
    def push_playout(self, chunk: bytes | bytearray | memoryview | np.ndarray,
                     sample_rate: int | None = None) -> None:
        """Give the engine the audio the agent is playing: its echo is removed from the
        microphone before the VAD, so the agent's own voice does not interrupt it.

        Push the playout as it is sent to the loudspeaker, before or with the microphone
        audio of the same instants.  A chunk follows the last one; after a pause (the agent
        silent, nothing pushed) it starts at the microphone audio received so far.  Where no
        playout was pushed the agent counts as silent.  The first call builds the canceller
        (``echo_canceller`` backend given to the constructor); from then on every microphone
        sample goes through it.  With a reference, ``aec_warmup_duration`` is cut to the
        canceller's convergence time (docs/echo.md).  Without playout nothing changes.

        Parameters
        ----------
        chunk : bytes, bytearray, memoryview or numpy.ndarray
            As :meth:`push_audio`: mono int16 little-endian bytes, or an int16/float32 array
            of shape ``(n_samples,)`` or ``(n_samples, n_channels)``.
        sample_rate : int, optional
            Its rate, one :meth:`push_audio` takes (8-48 kHz; a TTS at 24 kHz, say); default
            the engine's ``sample_rate``.  Every playout chunk of a call has the same rate.

        Raises
        ------
        TypeError, ValueError
            A chunk :meth:`push_audio` would refuse; an unsupported rate, or another rate than
            the call's earlier playout; playout more than 2 s ahead of the microphone audio
            received; a closed engine.  Nothing changes.
        RuntimeError
            The engine is a stream of a :class:`~turnengine.TurnEngineGroup` (the group pushes
            every stream's audio at once and has no echo path).
        ImportError
            The backend's package is missing (``aec3``: ``pip install turnengine[aec3]``).
        """
        self._check_open()
        frames = as_frames(chunk)
        rate = self.sample_rate if sample_rate is None else check_sample_rate(sample_rate)
        pipe = self._pipe
        if pipe.grouped:
            raise RuntimeError("push_playout is not available on a TurnEngineGroup stream: the "
                               "group has no echo path; use a TurnEngine per stream for calls "
                               "with a playout reference")
        stage = pipe.echo
        if stage is None:
            canceller = load_echo_canceller(self._echo_name, pipe.model_rate)
            stage = EchoStage(canceller, rate, pipe.mic_samples)
            stage.push_playout(frames)  # (raises before anything is kept)
            if self._keep_echo_audio:
                stage.recorded = []
            pipe.echo = stage
            self._vad_report.echo = stage
            self._vad_report.echo_sample = pipe.mic_sample
            pipe.timers.set_aec_warmup(capped_warmup(self.options, pipe))
            return
        if rate != stage.playout_rate:
            raise ValueError(f"playout at {rate} Hz, but this call's playout so far was at "
                             f"{stage.playout_rate} Hz; push every playout chunk at one rate")
        stage.push_playout(frames)

    def keep_echo_audio(self) -> None:
        """Keep the echo-reduced microphone signal from now on, for :meth:`echo_audio`
        (``turnengine plot``; memory grows with the call)."""
        self._keep_echo_audio = True
        if self._pipe.echo is not None and self._pipe.echo.recorded is None:
            self._pipe.echo.recorded = []

    def echo_audio(self) -> tuple[int, np.ndarray] | None:
        """The echo-reduced microphone signal kept since :meth:`keep_echo_audio`: ``(first
        sample, float32 samples at model_rate)``, the first sample counted in model-rate
        microphone samples from the start of the call (the canceller starts at the first
        :meth:`push_playout`; its output lags its input by its frame); None without playout
        or when not kept."""
        stage = self._pipe.echo
        if stage is None or stage.recorded is None:
            return None
        parts = stage.recorded
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return stage.origin, audio

    def _close_echo(self) -> None:
        if self._pipe.echo is not None:
            self._pipe.echo.canceller.close()
