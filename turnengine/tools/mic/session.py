"""Live microphone session (``turnengine mic``, SPEC 10).

The microphone is read with sounddevice at the device's default rate (the engine's intake
kernel resamples 24/32/44.1/48 kHz to 16 kHz).  PortAudio calls the stream callback on its own
thread; the callback only copies the block into a queue, and the main thread pushes the blocks
into the engine, so ``push_audio`` and every event callback run on one thread.

``simulate_agent=True`` adds a :class:`~turnengine.tools.mic.agent.SimulatedAgent` that plays
the agent role so that interruptions can be tried.  With an ``agent_output`` it speaks: each
microphone block, a block of :class:`~turnengine.tools.mic.voice.AgentVoice` (zeros while it is
silent) goes to the output, and to the engine as the echo reference (``push_playout``) unless
``echo_reference=False``: on laptop speakers the agent then does not interrupt itself.
"""

from __future__ import annotations

import os
import queue
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...engine import TurnEngine
from ...events import (
    AgentFalseInterruptionEvent,
    AgentInterruptedEvent,
    ConversationItemAddedEvent,
    Event,
    MetricsCollectedEvent,
    UserBackchannelEvent,
    UserTurnCompletedEvent,
)
from ...options import TurnEngineOptions
from ...replay import run_out
from ...report import SessionReport
from .agent import SimulatedAgent
from .device import InputSource
from .voice import AgentOutput, AgentVoice

__all__ = ["BLOCK_MS", "QUIET_EVENTS", "MicSession", "MicSummary"]

QUIET_EVENTS = (MetricsCollectedEvent, ConversationItemAddedEvent)
"""Events left out of the live display and the printed lines."""

BLOCK_MS = 20.0
"""Block size of the input stream (20 ms, as WebRTC)."""


@dataclass
class MicSummary:
    """What happened in a microphone session (printed on Ctrl-C).

    Attributes
    ----------
    audio_s : float
        Seconds of audio received.
    sample_rate : int
    source : str
        Device or file name.
    turns : int
        ``user_turn_completed`` events.
    end_of_utterance_delays : list of float
        Their ``end_of_utterance_delay`` (s).
    interruptions, false_interruptions, backchannels : int
    agent_replies, agent_replies_interrupted : int
        Simulated agent replies started, and cut short (0 without ``--simulate-agent``).
    overflows : int
        Input blocks PortAudio flagged as overflowed (audio lost before it reached us).
    """

    audio_s: float
    sample_rate: int
    source: str
    turns: int = 0
    end_of_utterance_delays: list[float] = field(default_factory=list)
    interruptions: int = 0
    false_interruptions: int = 0
    backchannels: int = 0
    agent_replies: int = 0
    agent_replies_interrupted: int = 0
    overflows: int = 0

    @property
    def mean_end_of_utterance_delay(self) -> float | None:
        d = self.end_of_utterance_delays
        return float(np.mean(d)) if d else None

    def to_dict(self) -> dict[str, Any]:
        return {"audio_s": self.audio_s, "sample_rate": self.sample_rate, "source": self.source,
                "turns": self.turns,
                "mean_end_of_utterance_delay": self.mean_end_of_utterance_delay,
                "end_of_utterance_delays": list(self.end_of_utterance_delays),
                "interruptions": self.interruptions,
                "false_interruptions": self.false_interruptions,
                "backchannels": self.backchannels, "agent_replies": self.agent_replies,
                "agent_replies_interrupted": self.agent_replies_interrupted,
                "overflows": self.overflows}

    def lines(self) -> list[str]:
        """The summary as ``# ...`` text lines."""
        out = [f"# session: {self.audio_s:.2f}s of audio at {self.sample_rate} Hz from "
               f"{self.source}"]
        delays = self.end_of_utterance_delays
        if delays:
            out.append(f"# user turns: {self.turns}; end_of_utterance_delay mean "
                       f"{np.mean(delays):.3f}s, min {min(delays):.3f}s, max "
                       f"{max(delays):.3f}s")
        else:
            out.append(f"# user turns: {self.turns}")
        out.append(f"# interruptions: {self.interruptions}, false interruptions: "
                   f"{self.false_interruptions}, backchannels: {self.backchannels}")
        if self.agent_replies:
            out.append(f"# simulated agent: {self.agent_replies} replies, "
                       f"{self.agent_replies_interrupted} cut short")
        if self.overflows:
            out.append(f"# warning: {self.overflows} input block(s) overflowed (audio lost)")
        return out


class MicSession:
    """One live session: an input stream, a queue, an engine, an optional simulated agent.

    Parameters
    ----------
    source : InputSource
        From :func:`open_microphone` or :func:`fake_input` (or your own factory).
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
    model_path : str, optional
        A ``silero_vad.onnx`` instead of the packaged one.
    turn_detector : {None, "smart-turn"}
        End-of-turn model: on a worker thread for a live source (the loop never waits for
        it), inline for a faster-than-real-time one (``InputSource.live``).
    simulate_agent : bool
        Attach a :class:`SimulatedAgent`.
    agent_output : AgentOutput, optional
        Where the simulated agent's voice goes (:func:`~.voice.speaker_output`,
        :class:`~.voice.LoopbackRoom`); None: the agent is silent.
    echo_reference : bool
        Give the engine the agent's voice as the echo reference (``push_playout``).
    agent_speech_s, agent_think_s : float
        Its reply length and thinking time (s).
    record : bool
        Keep the received audio (for :meth:`save_audio`).
    max_events : int
        Events kept in :attr:`recent` for a live display.

    Attributes
    ----------
    engine : TurnEngine
        Built with ``keep_window_log=True``; :attr:`probability` is read from it per chunk.
    events : list of Event
        Every event so far.
    recent : collections.deque of Event
        The last ``max_events`` events (without ``metrics_collected`` and chat items).
    probability, raw_probability : float
        Smoothed and raw VAD probability of the newest window.
    """

    def __init__(self, source: InputSource, *, vad: str = "silero",
                 options: TurnEngineOptions | None = None, model_path: str | None = None,
                 turn_detector: str | None = None, simulate_agent: bool = False,
                 agent_speech_s: float = 4.0, agent_think_s: float = 0.4, record: bool = False,
                 max_events: int = 8, agent_output: AgentOutput | None = None,
                 echo_reference: bool = True) -> None:
        self.source = source
        self.engine = TurnEngine(sample_rate=source.sample_rate, vad=vad, options=options,
                                 model_path=model_path, turn_detector=turn_detector,
                                 eot_executor="thread" if source.live else "inline",
                                 keep_window_log=True)
        self.agent = (SimulatedAgent(self.engine, speech_s=agent_speech_s,
                                     think_s=agent_think_s) if simulate_agent else None)
        self.agent_output = agent_output if simulate_agent else None
        self.voice = (AgentVoice(source.sample_rate) if self.agent_output is not None
                      else None)
        self.echo_reference = echo_reference
        self.events: list[Event] = []
        self.recent: deque[Event] = deque(maxlen=max_events)
        self.probability = 0.0
        self.raw_probability = 0.0
        self.overflows = 0
        self.samples_received = 0
        self._queue: queue.Queue[np.ndarray] = queue.Queue()
        self._recording: list[np.ndarray] | None = [] if record else None
        self._report: SessionReport | None = None

    # -- PortAudio thread ---------------------------------------------------------------------
    def callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """The stream callback (PortAudio's thread): copy the block and queue it, nothing else."""
        if status:
            self.overflows += 1
        self._queue.put(indata.copy())

    # -- main thread ------------------------------------------------------------------------------
    def push_block(self, block: np.ndarray) -> list[Event]:
        """Push one received block ``(frames, channels)`` into the engine; return its events."""
        chunk = block[:, 0] if block.ndim == 2 and block.shape[1] == 1 else block
        if self._recording is not None:
            self._recording.append(block)
        self.samples_received += block.shape[0]
        self._play(block.shape[0])
        produced = self.engine.push_audio(np.ascontiguousarray(chunk))
        latest = self.engine.last_probability  # the newest window only: O(1) per chunk
        if latest is not None:
            self.raw_probability, self.probability = latest
        self._collect(produced)
        return produced

    def _play(self, n: int) -> None:
        """The agent's next ``n`` samples to its output, and to the engine as the reference."""
        if self.voice is None or self.agent_output is None or self.agent is None:
            return
        speaking = self.engine.agent_state == "speaking"
        block = self.voice.block(n, self.agent.replies if speaking else None)
        self.agent_output.write(block)
        if speaking and self.echo_reference:
            self.engine.push_playout(block)

    def _collect(self, produced: list[Event]) -> None:
        self.events += produced
        for ev in produced:
            if not isinstance(ev, QUIET_EVENTS):
                self.recent.append(ev)

    @property
    def audio_s(self) -> float:
        """Seconds of audio received."""
        return self.samples_received / self.source.sample_rate

    def run(self, *, on_update: Callable[[MicSession, list[Event]], Any] | None = None,
            max_seconds: float | None = None, poll_s: float = 0.05) -> bool:
        """Open the stream and process audio until it ends, ``max_seconds``, or Ctrl-C.

        Parameters
        ----------
        on_update : callable, optional
            ``on_update(session, events)`` after each block (events may be empty).
        max_seconds : float, optional
            Stop after this much audio.
        poll_s : float
            How long to wait for a block before checking whether the stream is still active.

        Returns
        -------
        bool
            True when stopped by Ctrl-C (KeyboardInterrupt), False otherwise.

        Raises
        ------
        MicError
            The stream could not be opened.
        """
        blocksize = max(1, int(round(self.source.sample_rate * BLOCK_MS / 1000.0)))
        stream = self.source.factory(samplerate=self.source.sample_rate, blocksize=blocksize,
                                     device=self.source.device, channels=self.source.channels,
                                     dtype="int16", callback=self.callback)
        interrupted = False
        try:
            stream.start()
            while max_seconds is None or self.audio_s < max_seconds:
                try:
                    block = self._queue.get(timeout=poll_s)
                except queue.Empty:
                    if not stream.active and self._queue.empty():
                        break
                    continue
                produced = self.push_block(block)
                if on_update is not None:
                    on_update(self, produced)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                stream.stop()
                stream.close()
            except Exception:  # pragma: no cover - a device that vanished while closing
                pass
        return interrupted

    def finish(self, *, let_agent_finish: bool = True) -> SessionReport:
        """Close the engine and return its report.

        Parameters
        ----------
        let_agent_finish : bool
            First run the clock (no audio) to the scheduled end of the simulated agent's reply
            and let an open end-of-turn decision resolve, as a replay does after a file
            (:func:`turnengine.replay.run_out`).
        """
        if self._report is not None:
            return self._report
        if let_agent_finish:
            self._collect(run_out(self.engine))
        if self.agent_output is not None:
            self.agent_output.close()
        self._report = self.engine.close()
        return self._report

    def summary(self) -> MicSummary:
        """Counts and delays of the session so far."""
        s = MicSummary(audio_s=self.audio_s, sample_rate=self.source.sample_rate,
                       source=self.source.name, overflows=self.overflows)
        for ev in self.events:
            if isinstance(ev, UserTurnCompletedEvent):
                s.turns += 1
                s.end_of_utterance_delays.append(float(ev.end_of_utterance_delay))
            elif isinstance(ev, AgentInterruptedEvent):
                s.interruptions += 1
            elif isinstance(ev, AgentFalseInterruptionEvent):
                s.false_interruptions += 1
            elif isinstance(ev, UserBackchannelEvent):
                s.backchannels += 1
        if self.agent is not None:
            s.agent_replies = self.agent.replies
            s.agent_replies_interrupted = self.agent.replies_interrupted
        return s

    def recording(self) -> np.ndarray:
        """The received audio, int16 of shape ``(n_frames, channels)``.

        Raises
        ------
        RuntimeError
            The session was made without ``record=True``.
        """
        if self._recording is None:
            raise RuntimeError("build the MicSession with record=True to keep the audio")
        if not self._recording:
            return np.zeros((0, self.source.channels), np.int16)
        return np.concatenate(self._recording)

    def save_audio(self, path: str | os.PathLike[str]) -> None:
        """Write the received audio as a 16-bit WAV at the input rate."""
        import soundfile as sf

        sf.write(os.fspath(path), self.recording(), self.source.sample_rate, subtype="PCM_16")
