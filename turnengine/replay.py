"""Replay an audio file through a :class:`~turnengine.TurnEngine` (used by ``run`` and ``eval``).

The audio is pushed in fixed-size chunks, as a live call delivers it; after its last sample the
replay pushes a short tail of digital silence (the caller goes quiet), so that the end of the
last utterance and its turn are decided as they would be live.  With a scenario, a
:class:`~turnengine.scenario.ScenarioPlayer` plays the host (agent speech, transcripts).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import (
    AudioFile,
    AudioInfo,
    audio_blocks,
    check_sample_rate,
    inspect_audio,
    read_audio,
)
from .echo import DEFAULT_ECHO_CANCELLER
from .engine import TurnEngine
from .events import Event
from .options import TurnEngineOptions
from .report import SessionReport
from .scenario import Scenario, ScenarioPlayer

logger = logging.getLogger("turnengine")

#: A scenario's actions may run this many seconds past the end of the audio (the agent may go
#: on speaking after the user's recording ends); later times are refused.
SCENARIO_TAIL_S = 60.0
#: Seconds of audio :func:`stream_file` reads from the file at a time.
BLOCK_S = 5.0


def default_tail_s(options: TurnEngineOptions) -> float:
    """Silence pushed after the file: enough for END_OF_SPEECH and the endpointing delay."""
    return options.min_silence_duration + options.min_endpointing_delay + 0.1


@dataclass
class ReplayResult:
    """What one replay produced.

    Attributes
    ----------
    audio : AudioFile or AudioInfo
        The decoded file, or (:func:`stream_file`) the file's description: ``path``,
        ``sample_rate`` and ``duration`` either way, ``samples`` only on an AudioFile.
    events : list of Event
        Every session event, in order (``metrics_collected`` included).
    report : SessionReport
        The report returned by ``close()``.
    wall_s : float
        Wall-clock seconds the replay took.
    engine : TurnEngine
        The (closed) engine.
    """

    audio: AudioFile | AudioInfo
    events: list[Event]
    report: SessionReport
    wall_s: float
    engine: TurnEngine


def replay_file(path: str | os.PathLike[str], **kwargs: Any) -> ReplayResult:
    """Read a whole audio file (soundfile) and :func:`replay_audio` it; ``result.audio`` holds
    its samples.  :func:`stream_file` does the same in constant memory.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    OSError
        The file cannot be opened (``PermissionError``, ...).
    ValueError
        Not decodable audio, plus everything :func:`replay_audio` raises.
    """
    return replay_audio(read_audio(path), **kwargs)


def stream_file(path: str | os.PathLike[str], **kwargs: Any) -> ReplayResult:
    """:func:`replay_file`, reading the file in blocks of :data:`BLOCK_S` seconds: memory stays
    flat however long the file (``turnengine run``).  The events are the same; ``result.audio``
    is the file's :class:`~turnengine.audio.AudioInfo` (no samples).

    Raises
    ------
    As :func:`replay_file`.
    """
    return replay_audio(inspect_audio(path), **kwargs)


def replay_audio(audio: AudioFile | AudioInfo, *, vad: str = "silero",
                 options: TurnEngineOptions | None = None, model_path: str | None = None,
                 scenario: Scenario | None = None, chunk_ms: float = 20.0,
                 tail_s: float | None = None, realtime: bool = False, stt_gate: bool = False,
                 turn_detector: str | None = None, eot_model: Any = None,
                 on_events: Callable[[list[Event]], Any] | None = None,
                 keep_window_log: bool = False, playout: AudioFile | AudioInfo | None = None,
                 echo_canceller: str = DEFAULT_ECHO_CANCELLER) -> ReplayResult:
    """Push audio (decoded, or read from a file in blocks) through a new engine; collect events.

    Parameters
    ----------
    audio : AudioFile or AudioInfo
        Samples (n_frames, n_channels), int16/float32, or a checked file read in blocks.
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
        Engine options, complete; default: the scenario's ``options`` on the SPEC defaults.
    model_path : str, optional
        A ``silero_vad.onnx`` instead of the packaged one.
    scenario : Scenario, optional
        Host actions to play (agent speech, transcripts); see :mod:`turnengine.scenario`.
    chunk_ms : float
        Size of each pushed chunk in milliseconds (> 0).
    tail_s : float, optional
        Silence (s) after the audio; default :func:`default_tail_s`, to the scenario's end.
    realtime : bool
        Sleep so that audio is pushed no faster than real time.
    stt_gate : bool
        Build the engine with its STT gate (``engine.stt_audio()``).
    turn_detector : {None, "smart-turn"}
        End-of-turn model; a replay runs it inline, so the same file gives the same events.
    eot_model : SmartTurnModel, optional
        A loaded model to reuse across replays.
    on_events : callable, optional
        Called with each non-empty list of events as it is produced (for live printing).
    keep_window_log : bool
        Keep every window (``engine.window_log()``) and, with a playout, the echo-reduced
        signal (``engine.echo_audio()``): what ``turnengine plot`` draws.
    playout : AudioFile or AudioInfo, optional
        What the agent played, same clock (sample 0 of both at one instant), any engine rate,
        no longer than ``audio``: pushed before each microphone chunk (``push_playout``).
    echo_canceller : str
        The backend the playout goes through (``TurnEngine(echo_canceller=...)``).

    Raises
    ------
    ValueError
        Unsupported rate, bad options, ``chunk_ms <= 0``, ``tail_s < 0``, scenario times past
        the audio plus :data:`SCENARIO_TAIL_S`; a playout at a rate not taken, or too long.
    """
    engine = _start_engine(audio, scenario, options, (chunk_ms, playout), vad=vad,
                           model_path=model_path, stt_gate=stt_gate, turn_detector=turn_detector,
                           eot_model=eot_model, keep_window_log=keep_window_log,
                           echo_canceller=echo_canceller)
    tail = _tail_seconds(audio, engine.options, scenario, tail_s)
    wall0 = time.perf_counter()
    events, audio = _push_audio(engine, audio, tail, chunk_ms, realtime, on_events, playout)
    events += _delivered(run_out(engine), on_events)
    return ReplayResult(audio, events, engine.close(), time.perf_counter() - wall0, engine)


def _start_engine(audio: AudioFile | AudioInfo, scenario: Scenario | None,
                  options: TurnEngineOptions | None,
                  pushed: tuple[float, AudioFile | AudioInfo | None], **kwargs: Any) -> TurnEngine:
    """A replay engine (model inline): ``options``, else the scenario's, else the defaults;
    with a :class:`ScenarioPlayer` attached when there is a scenario.  ``pushed``: the chunk
    size and the playout, checked first."""
    chunk_ms, playout = pushed
    if not chunk_ms > 0:
        raise ValueError(f"chunk_ms must be > 0, got {chunk_ms}")
    check_playout(audio, playout)
    if options is None and scenario is not None and scenario.options:
        options = TurnEngineOptions(**scenario.options)
    keep_log = kwargs.get("keep_window_log") is True
    if keep_log:  # every window of the file (10 ms at the least)
        kwargs["keep_window_log"] = max(int(audio.duration * 100) + 6000, 1 << 16)
    # A file ends: its report keeps every event, as the replay's own list does.
    engine = TurnEngine(sample_rate=audio.sample_rate, options=options or TurnEngineOptions(),
                        eot_executor="inline", max_report_events=None, **kwargs)
    if scenario is not None:
        ScenarioPlayer(engine, scenario)
    if keep_log and playout is not None:  # a plot draws the echo-reduced signal
        engine.keep_echo_audio()
    return engine


def _tail_seconds(audio: AudioFile | AudioInfo, options: TurnEngineOptions,
                  scenario: Scenario | None, tail_s: float | None) -> float:
    """Seconds of silence after the audio: ``tail_s``, else :func:`default_tail_s` extended to
    the end of the scenario's last action (at most :data:`SCENARIO_TAIL_S` past the audio)."""
    tail = default_tail_s(options) if tail_s is None else tail_s
    if tail < 0:
        raise ValueError(f"tail_s must be >= 0, got {tail}")
    last = check_scenario_times(scenario, audio.duration)
    if scenario is None or tail_s is not None:
        return tail
    return max(tail, last - audio.duration + default_tail_s(options))


def check_scenario_times(scenario: Scenario | None, duration_s: float) -> float:
    """The time of a scenario's last action (0 without one), checked against the audio.

    Raises
    ------
    ValueError
        If an action comes later than :data:`SCENARIO_TAIL_S` after the end of the audio
        (``start_s: 1e7`` would otherwise mean replaying 116 days of silence).
    """
    if scenario is None:
        return 0.0
    last = max([a.end_s for a in scenario.agent] + [t.t_s for t in scenario.transcripts]
               + [0.0])
    if last > duration_s + SCENARIO_TAIL_S:
        raise ValueError(f"scenario action at {last:g} s is past the end of the audio "
                         f"({duration_s:.2f} s) plus {SCENARIO_TAIL_S:g} s; scenario times "
                         "must fall within the file")
    return last


def check_playout(audio: AudioFile | AudioInfo, playout: AudioFile | AudioInfo | None) -> None:
    """Raise ValueError unless ``playout`` (if any) suits ``audio``: a rate the engine takes
    (it may differ from the microphone's), not longer."""
    if playout is None:
        return
    check_sample_rate(playout.sample_rate)
    if playout.duration > audio.duration + 1e-9:
        raise ValueError(f"the playout ({playout.duration:.3f} s) is longer than the "
                         f"microphone audio ({audio.duration:.3f} s); both must start at the "
                         "same instant and the playout cannot outlast the recording")


def _push_audio(engine: TurnEngine, audio: AudioFile | AudioInfo, tail_s: float,
                chunk_ms: float, realtime: bool, on_events: Callable[[list[Event]], Any] | None,
                playout: AudioFile | AudioInfo | None = None
                ) -> tuple[list[Event], AudioFile | AudioInfo]:
    """Push the audio then ``tail_s`` of silence in chunks of ``chunk_ms`` (each after the
    playout chunk of the same instants, if any): the events, and the audio as far as it was
    read (a file that ended early is shorter than its header said)."""
    chunk = max(1, int(round(audio.sample_rate * chunk_ms / 1000.0)))
    read = [0]
    signal = itertools.chain(_blocks(audio, chunk, read), _silence(audio, tail_s, chunk))
    played = None if playout is None else _PlayoutFeed(playout, audio.sample_rate, chunk)
    events = _push_chunks(engine, _rechunk(signal, chunk), audio.sample_rate, realtime, on_events,
                          played)
    if isinstance(audio, AudioInfo) and read[0] != audio.frames:
        audio = dataclasses.replace(audio, frames=read[0])
    return events, audio


def _blocks(audio: AudioFile | AudioInfo, chunk: int, read: list[int]) -> Iterator[np.ndarray]:
    """The audio (mono as 1-D): the decoded samples, or the file read in blocks of a whole
    number of chunks; ``read[0]`` counts the frames."""
    if isinstance(audio, AudioFile):
        blocks: Iterable[np.ndarray] = [audio.samples]
    else:
        blocks = audio_blocks(audio, chunk * max(1, round(BLOCK_S * audio.sample_rate / chunk)))
    for block in blocks:
        read[0] += block.shape[0]
        yield block[:, 0] if block.shape[1] == 1 else block


def _silence(audio: AudioFile | AudioInfo, tail_s: float, chunk: int) -> Iterator[np.ndarray]:
    """``tail_s`` of digital silence shaped as the audio's blocks, a chunk at a time."""
    if isinstance(audio, AudioFile):
        channels, dtype = audio.samples.shape[1], audio.samples.dtype
    else:
        channels, dtype = audio.channels, np.dtype(audio.dtype)
    left = int(round(tail_s * audio.sample_rate))
    zeros = np.zeros((min(left, chunk),) + (() if channels == 1 else (channels,)), dtype)
    while left > 0:
        yield zeros[:left]
        left -= zeros.shape[0]


def _rechunk(blocks: Iterable[np.ndarray], chunk: int) -> Iterator[np.ndarray]:
    """The samples of ``blocks`` in contiguous pieces of ``chunk`` frames (the last may be
    shorter): the same pieces however the blocks are cut."""
    carry: np.ndarray | None = None
    for block in blocks:
        if carry is not None:
            block = np.concatenate([carry, block])
        whole = block.shape[0] - block.shape[0] % chunk
        for i in range(0, whole, chunk):
            yield np.ascontiguousarray(block[i:i + chunk])
        carry = block[whole:] if whole < block.shape[0] else None
    if carry is not None:
        yield np.ascontiguousarray(carry)


class _PlayoutFeed:
    """The playout in the pieces that cover the same instants as the microphone pushed so far
    (its own rate: the piece ends at sample ``mic_samples * playout_rate // mic_rate``)."""

    def __init__(self, playout: AudioFile | AudioInfo, mic_rate: int, chunk: int) -> None:
        self.rate = playout.sample_rate
        self._mic_rate = mic_rate
        self._blocks = _blocks(playout, chunk, [0])
        self._buf = np.zeros((0,) + _blocks_shape(playout), np.float32)
        self._given = 0

    def upto(self, mic_samples: int) -> np.ndarray | None:
        """The playout samples up to the instant of microphone sample ``mic_samples``."""
        want = mic_samples * self.rate // self._mic_rate - self._given
        while self._buf.shape[0] < want:
            block = next(self._blocks, None)
            if block is None:
                break
            self._buf = block if not self._buf.shape[0] else np.concatenate([self._buf, block])
        piece, self._buf = self._buf[:want], self._buf[want:]
        self._given += piece.shape[0]
        return np.ascontiguousarray(piece) if piece.shape[0] else None


def _blocks_shape(audio: AudioFile | AudioInfo) -> tuple[int, ...]:
    channels = audio.samples.shape[1] if isinstance(audio, AudioFile) else audio.channels
    return () if channels == 1 else (channels,)


def _push_chunks(engine: TurnEngine, signal: Iterable[np.ndarray], sample_rate: int,
                 realtime: bool, on_events: Callable[[list[Event]], Any] | None,
                 played: _PlayoutFeed | None = None) -> list[Event]:
    """Push each piece of ``signal`` (paced at real time if asked), after the playout of the
    same instants while it lasts."""
    events: list[Event] = []
    wall0 = time.perf_counter()
    pushed = 0
    for piece in signal:
        if played is not None:
            far = played.upto(pushed + piece.shape[0])
            if far is not None:
                engine.push_playout(far, sample_rate=played.rate)
        events += _delivered(engine.push_audio(piece), on_events)
        pushed += piece.shape[0]
        if realtime:
            lag = pushed / sample_rate - (time.perf_counter() - wall0)
            if lag > 0:
                time.sleep(lag)
    return events


def _delivered(produced: list[Event],
               on_events: Callable[[list[Event]], Any] | None) -> list[Event]:
    """``produced``, after passing it to ``on_events`` when it is not empty."""
    if produced and on_events is not None:
        on_events(produced)
    return produced


def run_out(engine: TurnEngine, model_timeout_s: float = 30.0) -> list[Event]:
    """After the last audio: let the clock run on, with no audio, as a live call would.

    Until nothing is left: picks up an end-of-turn model answer still in flight (worker
    thread) before the clock moves, runs host actions still scheduled (a resumed agent speech
    that ends later, a simulated agent's reply) and lets open decisions (a model-chosen
    ``max_endpointing_delay``, a false-interruption timeout) resolve.  Logs a warning and stops
    if the model does not answer within ``model_timeout_s``.

    Parameters
    ----------
    engine : TurnEngine
        An open engine whose audio has all been pushed.
    model_timeout_s : float
        How long to wait for a worker-thread model answer.

    Returns
    -------
    list of Event
        The events this produced, in order.
    """
    events: list[Event] = []
    options = engine.options
    longest = max(options.max_endpointing_delay, options.false_interruption_timeout or 0.0)
    for _ in range(100_000):  # bounded: every pass runs an action or settles a decision
        # A worker-thread answer lands at the clock where it is picked up: pick it up before
        # the clock moves on.
        if not engine.wait_for_model(model_timeout_s):
            logger.warning("the end-of-turn model did not answer within %.1f s; the open turn "
                           "is left undecided", model_timeout_s)
            break
        if engine.next_action_time is not None:
            wait = max(0.0, engine.next_action_time - engine.decision_time)
            events += engine.advance(wait + 0.5 / engine.model_rate)  # deadlines fire on time
        elif engine.decision_pending:
            # Decisions still open (a model-chosen delay, a false-interruption timeout): their
            # outcome may schedule more host actions (a simulated agent's reply), so loop.
            events += engine.advance(longest)
        else:
            break
    return events
