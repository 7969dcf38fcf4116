"""One unit of a sweep: replay one call under one configuration (:func:`run_pair`).

The replay is the one ``turnengine run`` does (:func:`turnengine.replay.replay_audio` on the
file read in blocks, the call's scenario played, the end-of-turn model inline), so the same call
and configuration give the same events in any process.  The record it returns is plain JSON
(the cache stores it as is): the behaviour counts, the model work and the scorer inputs, or the
one-line error.  :func:`run_unit` runs several configurations of one call: the unit an executor
sends to a worker (process pool or Ray task).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...options import TurnEngineOptions
from ..eval.events import segments_from_events
from ..eval.sweep import SWEEP_EXTRA_NAMES, SweepConfig
from .behaviour import behaviour_from_events
from .source import Call

__all__ = ["ReplaySettings", "error_line", "playout_for", "run_pair", "run_unit"]

_MODELS: dict[str, Any] = {}
"""The Smart Turn model, loaded once per process (``"smart-turn"`` -> model or None)."""


@dataclass(frozen=True)
class ReplaySettings:
    """What every replay of a sweep shares.

    Attributes
    ----------
    vad : str
        VAD backend name.
    model_path : str or None
        A ``silero_vad.onnx`` instead of the packaged one.
    overrides : Mapping
        Options given on the command line (not swept): with the swept ones, they go on top of
        a scenario's own options, as ``turnengine run --scenario`` does.
    """

    vad: str = "silero"
    model_path: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)


def error_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 300 characters)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


class _CountedModel:
    """The end-of-turn model, counting its predictions and their CPU seconds (the replay runs
    it inline, in this thread, so ``time.process_time`` around ``predict`` is its cost)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.n_inferences = 0
        self.cpu_s = 0.0

    def predict(self, features: Any) -> float:
        cpu0 = time.process_time()
        try:
            return float(self.model.predict(features))
        finally:
            self.n_inferences += 1
            self.cpu_s += time.process_time() - cpu0


def _eot_model(turn_detector: str | None) -> _CountedModel | None:
    """A fresh counter around the process's one Smart Turn model (``None``: no model)."""
    if turn_detector != "smart-turn":
        return None
    if turn_detector not in _MODELS:
        from ...eot import load_smart_turn

        _MODELS[turn_detector] = load_smart_turn(warn=False)
    model = _MODELS[turn_detector]
    return None if model is None else _CountedModel(model)


def playout_for(call: Call) -> Any:
    """The call's playout (agent audio) reference, read in blocks like the audio, or None: the
    replay pushes it to the engine (``push_playout``) before each microphone chunk.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing or undecodable playout file (recorded as the call's error).
    """
    if call.playout is None:
        return None
    from ...audio import inspect_audio

    return inspect_audio(call.playout)


def _model_work(events: Sequence[Any], eot: _CountedModel | None) -> dict[str, Any]:
    """VAD and end-of-turn model inferences (counts: deterministic) and their CPU seconds."""
    vad = [ev.metrics for ev in events if ev.type == "metrics_collected"
           and getattr(ev.metrics, "type", "") == "vad_metrics"]
    return {"vad_inferences": sum(int(m.inference_count) for m in vad),
            "vad_cpu_s": sum(float(m.inference_duration_total) for m in vad),
            "eot_inferences": 0 if eot is None else eot.n_inferences,
            "eot_cpu_s": 0.0 if eot is None else eot.cpu_s}


def _options(config: SweepConfig, scenario: Any, settings: ReplaySettings) -> TurnEngineOptions:
    """The configuration's options; on top of the scenario's own options when it has some."""
    if scenario is None or not scenario.options:
        return config.options
    values = dict(scenario.options)
    values.update(settings.overrides)
    values.update({k: v for k, v in config.params.items() if k not in SWEEP_EXTRA_NAMES})
    return TurnEngineOptions(**values)


def replay_record(call: Call, config: SweepConfig, settings: ReplaySettings) -> dict[str, Any]:
    """Replay ``call`` under ``config``; the record (raises what the replay raises)."""
    from ...audio import inspect_audio
    from ...replay import replay_audio
    from ...scenario import Scenario

    scenario = Scenario.load(call.scenario) if call.scenario is not None else None
    audio = inspect_audio(call.audio)
    eot = _eot_model(config.turn_detector)
    result = replay_audio(audio, vad=settings.vad, options=_options(config, scenario, settings),
                          model_path=settings.model_path, scenario=scenario,
                          turn_detector=config.turn_detector, eot_model=eot,
                          playout=playout_for(call))
    duration = float(result.audio.duration)
    out = segments_from_events(result.events)
    return {"behaviour": behaviour_from_events(result.events, duration).raw(),
            "model": _model_work(result.events, eot),
            "output": {"speech_segments": out.speech_segments,
                       "decision_segments": out.decision_segments,
                       "turn_completions": out.turn_completions},
            "error": None}


def run_pair(call: Call, config: SweepConfig, settings: ReplaySettings) -> dict[str, Any]:
    """:func:`replay_record`, never raising: a failure is the record ``{"error": line}``.

    ``wall_s`` (the replay's wall time) is added to the record for the speed report; it is the
    one field that differs between two runs.  A failure other than a bad input file (``OSError``,
    ``ValueError``) is marked ``"cacheable": False``.
    """
    wall0 = time.perf_counter()
    try:
        record = replay_record(call, config, settings)
    except Exception as exc:  # any failure of one file is that file's result
        record = {"behaviour": None, "model": None, "output": None, "error": error_line(exc)}
        # A bad input (missing, corrupt) fails the same way next time: cacheable.  Anything
        # else (a missing module, a bug, a playout not supported yet) is not, so a fixed
        # environment replays the pair.
        record["cacheable"] = isinstance(exc, (OSError, ValueError))
    record["wall_s"] = time.perf_counter() - wall0
    return record


def run_unit(call: Call, configs: Sequence[SweepConfig],
             settings: ReplaySettings) -> list[dict[str, Any]]:
    """:func:`run_pair` for each configuration of one call, in order (an executor's task)."""
    return [run_pair(call, config, settings) for config in configs]
