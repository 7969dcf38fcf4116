"""What the end-of-turn model costs with the engine's defaults (``turnengine bench``, issue 11).

The package's demo dialogue is replayed through the engine three times on one thread: without a
model, with Smart Turn asked once a pause (``eot_prediction_interval=None``) and with it asked
again while the user stays silent (the default re-scoring).  The model's calls are counted and
timed with the calling thread's CPU clock (onnxruntime runs on the calling thread with one
intra-op thread), so the figures do not depend on other load on the machine.  The turn rate
assumed is the dialogue's own (printed); model cost scales with turns and pauses, not with
audio.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["format_model_cost", "model_cost"]


class _TimedModel:
    """Counts and times (thread CPU) the predictions of the model it wraps."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.calls = 0
        self.cpu_ns = 0

    def predict(self, features: np.ndarray) -> float:
        t0 = time.thread_time_ns()
        try:
            return float(self._model.predict(features))
        finally:
            self.cpu_ns += time.thread_time_ns() - t0
            self.calls += 1


def _replay(audio: Any, model: Any, **options: Any) -> tuple[float, int]:
    """Thread CPU seconds of one replay, and the turns it committed."""
    from ..options import TurnEngineOptions
    from ..replay import replay_audio

    t0 = time.thread_time_ns()
    result = replay_audio(audio, options=TurnEngineOptions(**options), vad="silero",
                          turn_detector=None if model is None else "smart-turn",
                          eot_model=model, tail_s=2.0)
    cpu = (time.thread_time_ns() - t0) / 1e9
    return cpu, sum(1 for e in result.events if e.type == "user_turn_completed")


def model_cost(model: Any = None) -> dict[str, Any] | None:
    """Predictions per turn, model CPU per minute of audio and real-time streams per core with
    the end-of-turn model on, beside the engine without it.

    Parameters
    ----------
    model : SmartTurnModel, optional
        Loaded here (``eot.load_smart_turn``) when omitted.

    Returns
    -------
    dict or None
        None when the model is not installed.  Else ``audio_s``, ``turns_per_min`` (the
        dialogue's turn rate: the assumption behind every per-minute figure), ``no_model``
        (``cpu_s_per_audio_min``, ``streams_per_core``) and, for ``single_shot`` and
        ``rescoring``: ``interval_s``, ``turns``, ``predictions``, ``predictions_per_turn``,
        ``model_ms_per_prediction``, ``model_cpu_s_per_audio_min``, ``cpu_s_per_audio_min``
        (engine and model) and ``streams_per_core`` (60 / that); ``batch``: thread CPU ms per
        question of 8 single predictions and of one batch of 8 (``single_ms_per_turn``,
        ``batched_ms_per_turn``).
    """
    from ..audio import AudioFile
    from ..eot import load_smart_turn
    from ..options import TurnEngineOptions
    from .bench import _default_audio

    model = load_smart_turn(warn=False) if model is None else model
    if model is None:
        return None
    pcm = (_default_audio(16000) * 32767.0).astype(np.int16).reshape(-1, 1)
    audio = AudioFile("demo dialogue", pcm, 16000)
    minutes = audio.duration / 60.0
    _replay(audio, None)  # warm-up: the VAD model and the kernels' first allocations
    base_cpu, base_turns = _replay(audio, None)
    out: dict[str, Any] = {
        "audio_s": audio.duration, "turns_per_min": base_turns / minutes,
        "no_model": {"cpu_s_per_audio_min": base_cpu / minutes,
                     "streams_per_core": 60.0 / (base_cpu / minutes)}}
    default_interval = TurnEngineOptions().eot_prediction_interval
    for name, interval in (("single_shot", None), ("rescoring", default_interval)):
        timed = _TimedModel(model)
        cpu, turns = _replay(audio, timed, eot_prediction_interval=interval)
        model_s = timed.cpu_ns / 1e9
        out[name] = {
            "interval_s": interval, "turns": turns, "predictions": timed.calls,
            "predictions_per_turn": timed.calls / max(turns, 1),
            "model_ms_per_prediction": 1e3 * model_s / max(timed.calls, 1),
            "model_cpu_s_per_audio_min": model_s / minutes,
            "cpu_s_per_audio_min": cpu / minutes,
            "streams_per_core": 60.0 / (cpu / minutes)}
    out["batch"] = _batch_cost(model)
    return out


def _batch_cost(model: Any, n: int = 8, repeats: int = 3) -> dict[str, float] | None:
    """Thread CPU ms per turn of ``n`` single predictions against one batch of ``n``
    (would batching a group's concurrent questions pay?); None for a model without
    ``predict_batch``."""
    if not hasattr(model, "predict_batch"):
        return None
    x = np.random.default_rng(0).standard_normal((n, 80, 800)).astype(np.float32) * 0.1
    model.predict_batch(x)  # warm-up
    t0 = time.thread_time_ns()
    for _ in range(repeats):
        for i in range(n):
            model.predict(x[i])
    single = (time.thread_time_ns() - t0) / (1e6 * n * repeats)
    t0 = time.thread_time_ns()
    for _ in range(repeats):
        model.predict_batch(x)
    batched = (time.thread_time_ns() - t0) / (1e6 * n * repeats)
    return {"turns": n, "single_ms_per_turn": single, "batched_ms_per_turn": batched}


def format_model_cost(cost: dict[str, Any] | None) -> list[str]:
    """The lines ``turnengine bench`` prints for :func:`model_cost`."""
    if cost is None:
        return ["end-of-turn model: not installed (pip install 'turnengine[smart-turn]')"]
    lines = [f"# end-of-turn model (Smart Turn v3.2) on the demo dialogue: {cost['audio_s']:.1f} s,"
             f" {cost['turns_per_min']:.1f} turns/min assumed (the dialogue's own rate)",
             f"{'':30} {'pred/turn':>9} {'ms/pred':>8} {'model s/min':>11} {'all s/min':>9}"
             f" {'streams/core':>12}",
             f"{'no model':30} {'':>9} {'':>8} {'':>11} "
             f"{cost['no_model']['cpu_s_per_audio_min']:9.3f} "
             f"{cost['no_model']['streams_per_core']:12.0f}"]
    for name, label in (("single_shot", "asked once a pause"), ("rescoring", "re-scoring")):
        row = cost[name]
        if row["interval_s"] is not None:
            label += f" every {row['interval_s']:g} s"
        lines.append(f"{label:30} {row['predictions_per_turn']:9.2f} "
                     f"{row['model_ms_per_prediction']:8.1f} "
                     f"{row['model_cpu_s_per_audio_min']:11.3f} "
                     f"{row['cpu_s_per_audio_min']:9.3f} {row['streams_per_core']:12.0f}")
    batch = cost.get("batch")
    if batch:
        lines.append(f"{batch['turns']} questions: {batch['single_ms_per_turn']:.1f} ms CPU each "
                     f"alone, {batch['batched_ms_per_turn']:.1f} ms each in one batch")
    return lines
