"""Live microphone session (``turnengine mic``, SPEC 10).

The microphone is read with sounddevice at the device's default rate (the engine's intake
kernel resamples 24/32/44.1/48 kHz to 16 kHz).  PortAudio calls the stream callback on its own
thread; the callback only copies the block into a queue, and the main thread pushes the blocks
into the engine, so ``push_audio`` and every event callback run on one thread.

The input stream is injectable: :class:`MicSession` takes an :class:`InputSource` whose
``factory`` builds a sounddevice-style ``InputStream``.  :func:`open_microphone` gives the real
one; :func:`fake_input` gives a :class:`FakeInputStream` that plays a WAV file through the same
callback from a thread, for tests, CI and machines without a microphone.

``simulate_agent=True`` adds a :class:`SimulatedAgent` that plays the agent role so that
interruptions can be tried: after each ``user_turn_completed`` it thinks briefly, then "speaks"
(silently) for a few seconds, pauses on ``agent_interrupted`` and resumes on
``agent_false_interruption(resumed=True)``; all its actions go through
:meth:`TurnEngine.schedule` and event callbacks, so they land on the engine clock.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import numpy as np

from .audio import SUPPORTED_RATES, read_audio
from .engine import TurnEngine
from .events import AgentFalseInterruptionEvent, Event
from .options import TurnEngineOptions
from .replay import run_out
from .report import SessionReport

__all__ = [
    "MicError",
    "InputSource",
    "FakeInputStream",
    "SimulatedAgent",
    "MicSession",
    "MicSummary",
    "open_microphone",
    "fake_input",
    "choose_rate",
]

BLOCK_MS = 20.0
"""Block size of the input stream (20 ms, as WebRTC)."""

FALLBACK_RATES: tuple[int, ...] = (48000, 16000)
"""Rates tried, in order, when the device's default rate is not one the engine takes."""


class MicError(RuntimeError):
    """The microphone cannot be used: no PortAudio library, no input device, no usable rate."""


class InputStreamLike(Protocol):
    """What :class:`MicSession` needs of a stream (a subset of ``sounddevice.InputStream``)."""

    @property
    def active(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


StreamFactory = Callable[..., InputStreamLike]
"""Called as ``factory(samplerate=, blocksize=, device=, channels=, dtype="int16",
callback=cb)``, like ``sounddevice.InputStream``; ``cb(indata, frames, time, status)`` gets
``indata`` of shape ``(frames, channels)``."""


@dataclass(frozen=True)
class InputSource:
    """Where audio comes from.

    Attributes
    ----------
    factory : StreamFactory
        Builds the input stream.
    sample_rate : int
        Rate to open it at (Hz), one the engine takes.
    channels : int
        Channels to open (down-mixed by the engine).
    device : int, str or None
        Device given to the factory.
    name : str
        Shown to the user.
    live : bool
        Audio arrives at real time (a device, or a file played with ``realtime=True``). A
        faster source runs the end-of-turn model inline, at the exact sample, as a replay does.
    """

    factory: StreamFactory
    sample_rate: int
    channels: int = 1
    device: int | str | None = None
    name: str = "microphone"
    live: bool = True


def choose_rate(default_rate: float, accepts: Callable[[int], bool]) -> int:
    """Pick the rate to open an input device at.

    Parameters
    ----------
    default_rate : float
        The device's default sample rate (Hz).
    accepts : callable
        ``accepts(rate)``: whether the device can be opened at ``rate``.

    Returns
    -------
    int
        The default rate if the engine takes it (8, 16, 24, 32, 44.1 or 48 kHz) and the device
        accepts it, else the first of 48000 and 16000 Hz that the device accepts.

    Raises
    ------
    MicError
        Neither: the message names the default rate and the rates the engine takes.
    """
    default = int(round(default_rate))
    if default in SUPPORTED_RATES and accepts(default):
        return default
    for rate in FALLBACK_RATES:
        if rate != default and accepts(rate):
            return rate
    raise MicError(f"the input device runs at {default} Hz and cannot be opened at "
                   f"{' or '.join(map(str, FALLBACK_RATES))} Hz; the engine takes "
                   f"{', '.join(map(str, SUPPORTED_RATES))} Hz")


def _import_sounddevice() -> Any:
    """Import sounddevice (separate so tests can replace it)."""
    import sounddevice

    return sounddevice


def open_microphone(device: int | str | None = None) -> InputSource:
    """Find the input device and the rate to open it at (sounddevice / PortAudio).

    Parameters
    ----------
    device : int or str, optional
        A device index or a substring of its name (``python -m sounddevice`` lists them);
        default: the system's default input.

    Raises
    ------
    MicError
        No PortAudio library, no (such) input device, or no rate both the device and the
        engine take.  The message is one line.
    """
    try:
        sd = _import_sounddevice()
    except OSError as exc:
        raise MicError(f"cannot use a microphone: {exc} (install it, e.g. apt-get install "
                       "libportaudio2, or try --fake-input FILE.wav)") from None
    except ImportError as exc:
        raise MicError(f"cannot use a microphone: {exc} (pip install sounddevice)") from None
    errors: tuple[type[BaseException], ...] = (sd.PortAudioError, ValueError)
    which = "the default input device" if device is None else f"input device {device!r}"
    try:
        info = dict(sd.query_devices(device, kind="input"))
    except errors as exc:
        raise MicError(f"no microphone: cannot open {which} ({exc}); list devices with "
                       "`python -m sounddevice`, or try --fake-input FILE.wav") from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise MicError(f"no microphone: {which} ({info.get('name')!r}) has no input channels")
    name = str(info.get("name", "microphone"))

    def accepts(rate: int) -> bool:
        try:
            sd.check_input_settings(device=device, channels=1, dtype="int16", samplerate=rate)
        except errors:
            return False
        return True

    try:
        rate = choose_rate(float(info.get("default_samplerate", 0.0)), accepts)
    except MicError as exc:
        raise MicError(f"{name}: {exc}") from None

    def factory(**kwargs: Any) -> InputStreamLike:
        try:
            stream: InputStreamLike = sd.InputStream(**kwargs)
        except errors as exc:
            raise MicError(f"cannot open {which} ({name}): {exc}") from None
        return stream

    return InputSource(factory, rate, 1, device, name)


class FakeInputStream:
    """A sounddevice-style input stream that plays samples through the callback from a thread.

    Blocks are delivered like PortAudio delivers them: ``callback(indata, frames, time, status)``
    on another thread, ``indata`` of shape ``(blocksize, channels)`` (the last block padded with
    zeros), reused between calls (the receiver must copy).  ``active`` turns False when the
    samples run out.

    Parameters
    ----------
    samples : numpy.ndarray of int16, shape (n_frames, n_channels)
    samplerate : int
    blocksize : int
    callback : callable
    realtime : bool
        Pace the blocks at real time (as a microphone); default as fast as possible.
    **_ : Any
        Other ``InputStream`` arguments (device, channels, dtype) are accepted and ignored.
    """

    def __init__(self, samples: np.ndarray, *, samplerate: int, blocksize: int,
                 callback: Callable[..., Any], realtime: bool = False, **_: Any) -> None:
        self._samples = samples
        self.samplerate = samplerate
        self.blocksize = blocksize
        self._callback = callback
        self._realtime = realtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._active = False

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> None:
        self._active = True
        self._thread = threading.Thread(target=self._run, name="fake-portaudio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            n, ch = self._samples.shape
            buf = np.zeros((self.blocksize, ch), dtype=self._samples.dtype)
            t0 = time.perf_counter()
            for i in range(0, n, self.blocksize):
                if self._stop.is_set():
                    break
                piece = self._samples[i:i + self.blocksize]
                buf[:piece.shape[0]] = piece
                buf[piece.shape[0]:] = 0
                self._callback(buf, self.blocksize, None, 0)
                if self._realtime:
                    lag = (i + self.blocksize) / self.samplerate - (time.perf_counter() - t0)
                    if lag > 0:
                        self._stop.wait(lag)
        finally:
            self._active = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._active = False

    def close(self) -> None:
        self.stop()


def fake_input(path: str | os.PathLike[str], *, realtime: bool = False,
               tail_s: float = 2.0) -> InputSource:
    """An :class:`InputSource` that plays an audio file as if it came from a microphone.

    Parameters
    ----------
    path : str or PathLike
        WAV/FLAC file at a rate the engine takes; float files are converted to int16, as a
        microphone opened with ``dtype="int16"`` delivers them.
    realtime : bool
        Deliver it at real time instead of as fast as possible.
    tail_s : float
        Seconds of silence after the file (the caller goes quiet), so that the last turn is
        decided.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing or undecodable file, or a rate the engine does not take.
    """
    audio = read_audio(path)
    if audio.sample_rate not in SUPPORTED_RATES:
        raise ValueError(f"{path}: unsupported sample rate {audio.sample_rate} Hz; expected one "
                         f"of {', '.join(map(str, SUPPORTED_RATES))}")
    samples = audio.samples
    if samples.dtype != np.int16:
        samples = np.round(samples * 32767.0).astype(np.int16)
    tail = np.zeros((int(round(tail_s * audio.sample_rate)), samples.shape[1]), np.int16)
    samples = np.ascontiguousarray(np.concatenate([samples, tail]))
    factory = functools.partial(FakeInputStream, samples, realtime=realtime)
    return InputSource(factory, audio.sample_rate, samples.shape[1], None,
                       f"file {os.path.basename(os.fspath(path))}", live=realtime)


class SimulatedAgent:
    """Plays the agent's side of the call on an engine, silently.

    After each ``user_turn_completed`` the agent is ``thinking`` for ``think_s``, then
    ``speaking`` for ``speech_s``.  It pauses on ``agent_interrupted``, resumes the rest of its
    speech on ``agent_false_interruption(resumed=True)``, stops (interrupted) when the user's
    next turn completes, and drops a reply it has not started when the user speaks again while
    it thinks.

    Parameters
    ----------
    engine : TurnEngine
    speech_s : float
        Seconds each reply lasts (> 0).
    think_s : float
        Seconds between the turn and the reply (>= 0).
    """

    def __init__(self, engine: TurnEngine, *, speech_s: float = 4.0, think_s: float = 0.4) -> None:
        if not speech_s > 0 or not think_s >= 0:
            raise ValueError(f"expected speech_s > 0 and think_s >= 0, got {speech_s}, {think_s}")
        self.engine = engine
        self.speech_s = float(speech_s)
        self.think_s = float(think_s)
        self.replies = 0
        self.replies_interrupted = 0
        self._text: str | None = None   # the reply being played (or paused)
        self._playing = False
        self._end_at = 0.0
        self._remaining = 0.0
        self._token = 0                 # invalidates scheduled actions of an earlier plan
        engine.on("user_turn_completed", self._on_turn)
        engine.on("user_state_changed", self._on_user_state)
        engine.on("agent_interrupted", self._on_interrupted)
        engine.on("agent_false_interruption", self._on_false_interruption)

    def _on_turn(self, ev: Event) -> None:
        # React once every subscriber has seen the turn: a scheduled action at the turn's own
        # time runs right after the window's events, on the same sample.
        self._token += 1
        token, at = self._token, ev.stream_time
        self.engine.schedule(at, lambda engine: self._reply(token, at))

    def _reply(self, token: int, at: float) -> None:
        if token != self._token:
            return
        if self._text is not None:
            self._stop(interrupted=True)
        self.engine.set_agent_state("thinking")
        self._token += 1
        token = self._token
        self.engine.schedule(at + self.think_s, lambda engine: self._start(token))

    def _on_user_state(self, ev: Event) -> None:
        if getattr(ev, "new_state", None) == "speaking" and self.engine.agent_state == "thinking":
            self._token += 1  # the user goes on: drop the reply not yet started
            self.engine.set_agent_state("listening")

    def _start(self, token: int) -> None:
        if token != self._token:
            return
        self.replies += 1
        self._text = f"(simulated reply {self.replies})"
        self._playing = True
        self.engine.agent_started_speaking()
        self._schedule_stop(self.engine.decision_time + self.speech_s)

    def _schedule_stop(self, at_s: float) -> None:
        self._token += 1
        self._end_at = at_s
        token = self._token
        self.engine.schedule(at_s, lambda engine: self._finish(token))

    def _finish(self, token: int) -> None:
        if token == self._token and self._text is not None and self._playing:
            self._stop(interrupted=False)

    def _stop(self, interrupted: bool) -> None:
        text, self._text, self._playing = self._text, None, False
        self._token += 1
        if interrupted:
            self.replies_interrupted += 1
        self.engine.agent_stopped_speaking(text, interrupted=interrupted)

    def _on_interrupted(self, ev: Event) -> None:
        if self._text is not None and self._playing:
            self._playing = False
            self._remaining = max(0.0, self._end_at - ev.stream_time)
            self._token += 1

    def _on_false_interruption(self, ev: Event) -> None:
        assert isinstance(ev, AgentFalseInterruptionEvent)
        if ev.resumed and self._text is not None and not self._playing:
            self._playing = True
            self._schedule_stop(ev.stream_time + self._remaining)


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


def _latest_probabilities(engine: TurnEngine) -> tuple[float, float] | None:
    """Raw and smoothed probability of the newest window, from the engine's window log.

    Reads the last entry only (O(1) per chunk, unlike ``window_log()``, which concatenates the
    whole session).
    """
    return engine.last_probability


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
                 max_events: int = 8) -> None:
        self.source = source
        self.engine = TurnEngine(sample_rate=source.sample_rate, vad=vad, options=options,
                                 model_path=model_path, turn_detector=turn_detector,
                                 eot_executor="thread" if source.live else "inline",
                                 keep_window_log=True)
        self.agent = (SimulatedAgent(self.engine, speech_s=agent_speech_s,
                                     think_s=agent_think_s) if simulate_agent else None)
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
        produced = self.engine.push_audio(np.ascontiguousarray(chunk))
        latest = _latest_probabilities(self.engine)
        if latest is not None:
            self.raw_probability, self.probability = latest
        self._collect(produced)
        return produced

    def _collect(self, produced: list[Event]) -> None:
        self.events += produced
        for ev in produced:
            if ev.type not in ("metrics_collected", "conversation_item_added"):
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
        self._report = self.engine.close()
        return self._report

    def summary(self) -> MicSummary:
        """Counts and delays of the session so far."""
        s = MicSummary(audio_s=self.audio_s, sample_rate=self.source.sample_rate,
                       source=self.source.name, overflows=self.overflows)
        for ev in self.events:
            if ev.type == "user_turn_completed":
                s.turns += 1
                s.end_of_utterance_delays.append(float(ev.to_dict()["end_of_utterance_delay"]))
            elif ev.type == "agent_interrupted":
                s.interruptions += 1
            elif ev.type == "agent_false_interruption":
                s.false_interruptions += 1
            elif ev.type == "user_backchannel":
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


# -- live display -----------------------------------------------------------------------------

def _bar(p: float, activation: float, deactivation: float, width: int = 40) -> Any:
    from rich.text import Text

    filled = int(round(max(0.0, min(1.0, p)) * width))
    color = "green" if p >= activation else ("yellow" if p > deactivation else "grey50")
    bar = Text()
    mark = int(round(activation * width))
    for i in range(width):
        if i < filled:
            bar.append("█", style=color)
        elif i == mark:
            bar.append("│", style="red")
        else:
            bar.append("·", style="grey35")
    bar.append(f" {p:.2f}")
    return bar


def render(session: MicSession, header: str, note: str = "") -> Any:
    """A rich renderable of the session's state (user, agent, VAD bar, last events)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from .cli import _format_event

    eng = session.engine
    o = eng.options
    user_style = {"speaking": "bold green", "away": "bold magenta"}.get(eng.user_state, "cyan")
    agent_style = {"speaking": "bold yellow", "thinking": "yellow"}.get(eng.agent_state, "cyan")
    grid = Table.grid(padding=(0, 2))
    grid.add_row(Text(f"audio {session.audio_s:7.1f}s"),
                 Text.assemble("user ", (eng.user_state.upper(), user_style)),
                 Text.assemble("agent ", (eng.agent_state.upper(), agent_style)))
    s = session.summary()
    mean = s.mean_end_of_utterance_delay
    stats = (f"turns {s.turns}   interruptions {s.interruptions}   false {s.false_interruptions}"
             f"   backchannels {s.backchannels}"
             + (f"   mean end_of_utterance_delay {mean:.3f}s" if mean is not None else ""))
    vad = Text.assemble("VAD ", _bar(session.probability, o.activation_threshold,
                                     o.effective_deactivation_threshold),
                        (f"   (activation {o.activation_threshold:g}, red mark)", "grey50"))
    lines = [Text(_format_event(ev.to_dict()), overflow="ellipsis", no_wrap=True)
             for ev in session.recent]
    extra = [Text(note, style="grey50")] if note else []
    body = Group(*extra, grid, vad, Text(stats, style="grey70"), Text(""),
                 *(lines or [Text("(no events yet: say something)", style="grey50")]))
    return Panel(body, title=header, subtitle="Ctrl-C to stop", title_align="left")


def run_live(session: MicSession, *, header: str, note: str = "", out: TextIO | None = None,
             max_seconds: float | None = None, live: bool | None = None) -> bool:
    """Run ``session`` with a live rich display on a terminal, or event lines otherwise.

    Parameters
    ----------
    session : MicSession
    header : str
        Title of the display (device, rate, VAD).
    note : str
        A line shown under the title (the simulated agent's settings).
    out : text stream, optional
        Where to write; default ``sys.stdout``.
    max_seconds : float, optional
        Stop after this much audio.
    live : bool, optional
        Force the live display on or off; default: on when ``out`` is a terminal.

    Returns
    -------
    bool
        True when stopped by Ctrl-C.  The session is finished (:meth:`MicSession.finish`, so
        the simulated agent's last reply ends unless stopped by Ctrl-C) when this returns.
    """
    from .cli import _format_event

    out = out if out is not None else sys.stdout
    use_live = out.isatty() if live is None else live
    if not use_live:
        print(f"# {header}", file=out, flush=True)
        if note:
            print(f"# {note}", file=out, flush=True)

        def print_events(_: MicSession, produced: list[Event]) -> None:
            for ev in produced:
                if ev.type not in ("metrics_collected", "conversation_item_added"):
                    print(_format_event(ev.to_dict()), file=out, flush=True)

        interrupted = session.run(on_update=print_events, max_seconds=max_seconds)
        before = len(session.events)
        session.finish(let_agent_finish=not interrupted)
        print_events(session, session.events[before:])
        return interrupted

    from rich.console import Console
    from rich.live import Live

    console = Console(file=out)
    last = [0.0]
    with Live(render(session, header, note), console=console, auto_refresh=False,
              redirect_stdout=False, redirect_stderr=False, transient=False) as display:

        def refresh(_: MicSession, produced: list[Event]) -> None:
            now = time.monotonic()
            if produced or now - last[0] >= 0.08:
                last[0] = now
                display.update(render(session, header, note), refresh=True)

        interrupted = session.run(on_update=refresh, max_seconds=max_seconds)
        session.finish(let_agent_finish=not interrupted)
        display.update(render(session, header, note), refresh=True)
    return interrupted
