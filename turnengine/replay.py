"""Replay an audio file through a :class:`~turnengine.TurnEngine` (used by ``run`` and ``eval``).

The audio is pushed in fixed-size chunks, as a live call delivers it; after its last sample the
replay pushes a short tail of digital silence (the caller goes quiet), so that the end of the
last utterance and its turn are decided as they would be live.  With a scenario, a
:class:`~turnengine.scenario.ScenarioPlayer` plays the host (agent speech, transcripts).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import AudioFile, read_audio
from .engine import TurnEngine
from .events import Event
from .options import TurnEngineOptions
from .report import SessionReport
from .scenario import Scenario, ScenarioPlayer

logger = logging.getLogger("turnengine")


def default_tail_s(options: TurnEngineOptions) -> float:
    """Silence pushed after the file: enough for END_OF_SPEECH and the endpointing delay."""
    return options.min_silence_duration + options.min_endpointing_delay + 0.1


@dataclass
class ReplayResult:
    """What one replay produced.

    Attributes
    ----------
    audio : AudioFile
        The decoded file.
    events : list of Event
        Every session event, in order (``metrics_collected`` included).
    report : SessionReport
        The report returned by ``close()``.
    wall_s : float
        Wall-clock seconds the replay took.
    engine : TurnEngine
        The (closed) engine.
    """

    audio: AudioFile
    events: list[Event]
    report: SessionReport
    wall_s: float
    engine: TurnEngine


def replay_file(path: str | os.PathLike[str], **kwargs: Any) -> ReplayResult:
    """Read an audio file (soundfile) and :func:`replay_audio` it.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Not decodable audio, plus everything :func:`replay_audio` raises.
    """
    return replay_audio(read_audio(path), **kwargs)


def replay_audio(audio: AudioFile, *, vad: str = "silero",
                 options: TurnEngineOptions | None = None, model_path: str | None = None,
                 scenario: Scenario | None = None, chunk_ms: float = 20.0,
                 tail_s: float | None = None, realtime: bool = False, stt_gate: bool = False,
                 turn_detector: str | None = None, eot_model: Any = None,
                 on_events: Callable[[list[Event]], Any] | None = None,
                 keep_window_log: bool = False) -> ReplayResult:
    """Push decoded audio through a new engine and collect its events.

    Parameters
    ----------
    audio : AudioFile
        Samples of shape (n_frames, n_channels), int16 or float32, at any supported rate.
    vad : str
        VAD backend name.
    options : TurnEngineOptions, optional
        Engine options, complete. When omitted: the scenario's ``options`` (if any) on top of
        the SPEC defaults. (The CLI merges a scenario's options with the flags given.)
    model_path : str, optional
        A ``silero_vad.onnx`` instead of the packaged one.
    scenario : Scenario, optional
        Host actions to play (agent speech, transcripts); see :mod:`turnengine.scenario`.
    chunk_ms : float
        Size of each pushed chunk in milliseconds (> 0).
    tail_s : float, optional
        Seconds of silence pushed after the audio; default :func:`default_tail_s`, extended to
        the end of the scenario's last action.
    realtime : bool
        Sleep so that audio is pushed no faster than real time.
    stt_gate : bool
        Build the engine with its STT gate (``engine.stt_audio()``; unread, it holds the last
        ``prefix_padding_duration + max_buffered_speech + min_silence_duration`` of audio).
    turn_detector : {None, "smart-turn"}
        End-of-turn model; a replay runs it inline, so the same file gives the same events.
    eot_model : SmartTurnModel, optional
        A loaded model to reuse across replays.
    on_events : callable, optional
        Called with each non-empty list of events as it is produced (for live printing).
    keep_window_log : bool
        Build the engine with a window log long enough for the whole file, so that
        ``result.engine.window_log()`` gives every window's probabilities (``turnengine plot``).

    Raises
    ------
    ValueError
        An unsupported rate, bad options, ``chunk_ms <= 0`` or ``tail_s < 0``.
    """
    if not chunk_ms > 0:
        raise ValueError(f"chunk_ms must be > 0, got {chunk_ms}")
    engine = _start_engine(audio, scenario, options, vad=vad, model_path=model_path,
                           stt_gate=stt_gate, turn_detector=turn_detector, eot_model=eot_model,
                           keep_window_log=keep_window_log)
    signal = _with_tail(audio, _tail_seconds(audio, engine.options, scenario, tail_s))
    chunk = max(1, int(round(audio.sample_rate * chunk_ms / 1000.0)))
    wall0 = time.perf_counter()
    events = _push_chunks(engine, signal, chunk, audio.sample_rate, realtime, on_events)
    events += _delivered(run_out(engine), on_events)
    report = engine.close()
    return ReplayResult(audio, events, report, time.perf_counter() - wall0, engine)


def _start_engine(audio: AudioFile, scenario: Scenario | None,
                  options: TurnEngineOptions | None, **kwargs: Any) -> TurnEngine:
    """A replay engine (model inline): ``options``, else the scenario's, else the defaults;
    with a :class:`ScenarioPlayer` attached when there is a scenario."""
    if options is None and scenario is not None and scenario.options:
        options = TurnEngineOptions(**scenario.options)
    if kwargs.get("keep_window_log") is True:  # every window of the file (10 ms at the least)
        kwargs["keep_window_log"] = max(int(audio.duration * 100) + 6000, 1 << 16)
    # A file ends: its report keeps every event, as the replay's own list does.
    engine = TurnEngine(sample_rate=audio.sample_rate, options=options or TurnEngineOptions(),
                        eot_executor="inline", max_report_events=None, **kwargs)
    if scenario is not None:
        ScenarioPlayer(engine, scenario)
    return engine


def _tail_seconds(audio: AudioFile, options: TurnEngineOptions, scenario: Scenario | None,
                  tail_s: float | None) -> float:
    """Seconds of silence after the audio: ``tail_s``, else :func:`default_tail_s` extended to
    the end of the scenario's last action."""
    tail = default_tail_s(options) if tail_s is None else tail_s
    if tail < 0:
        raise ValueError(f"tail_s must be >= 0, got {tail}")
    if scenario is not None and tail_s is None:
        last = max([a.end_s for a in scenario.agent] + [t.t_s for t in scenario.transcripts]
                   + [0.0])
        tail = max(tail, last - audio.duration + default_tail_s(options))
    return tail


def _with_tail(audio: AudioFile, tail_s: float) -> np.ndarray:
    """The samples (mono as a 1-D array) followed by ``tail_s`` of digital silence."""
    samples = audio.samples[:, 0] if audio.samples.shape[1] == 1 else audio.samples
    silence = np.zeros((int(round(tail_s * audio.sample_rate)),) + samples.shape[1:],
                       dtype=samples.dtype)
    return np.concatenate([samples, silence]) if silence.shape[0] else samples


def _push_chunks(engine: TurnEngine, signal: np.ndarray, chunk: int, sample_rate: int,
                 realtime: bool, on_events: Callable[[list[Event]], Any] | None) -> list[Event]:
    """Push ``signal`` in chunks of ``chunk`` samples (paced at real time if asked)."""
    events: list[Event] = []
    wall0 = time.perf_counter()
    for i in range(0, signal.shape[0], chunk):
        piece = np.ascontiguousarray(signal[i:i + chunk])
        events += _delivered(engine.push_audio(piece), on_events)
        if realtime:
            lag = (i + piece.shape[0]) / sample_rate - (time.perf_counter() - wall0)
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
