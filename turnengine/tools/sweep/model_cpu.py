"""What the models of a configuration cost: end-of-turn model inferences (counted, the same in
every run) in the call and configuration tables, and the CPU seconds of the VAD and the
end-of-turn model (measured in the worker that replayed the pair) in ``model_cpu.csv``.

The VAD's time is the ``inference_duration_total`` of its ``VADMetrics`` (LiveKit's field);
the end-of-turn model's is the process CPU time around each ``predict`` (:mod:`.work`).  A
cached pair keeps the figures of the run that replayed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..eval.sweep import SweepConfig
from .behaviour import Behaviour, pool_behaviour

__all__ = ["MODEL_CPU_COLUMNS", "model_cells", "model_cpu_row"]

MODEL_CPU_COLUMNS = ("config", "n_calls", "audio_s", "vad_inferences", "vad_cpu_s",
                     "eot_inferences", "eot_cpu_s", "eot_cpu_ms_per_inference", "model_cpu_s",
                     "model_cpu_ms_per_audio_min")
"""Columns of ``model_cpu.csv`` (one row per configuration)."""


def _sum(models: Sequence[Mapping[str, Any]], key: str) -> Any:
    return sum(m[key] for m in models)


def model_cells(behaviour: Behaviour, models: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``eot_inferences`` and per minute of audio, for one call or a pool of calls."""
    n = _sum(models, "eot_inferences")
    per_min = behaviour.per_minute(n)
    return {"eot_inferences": n,
            "eot_inferences_per_min": None if per_min is None else round(per_min, 6)}


def model_cpu_row(config: SweepConfig, behaviours: Sequence[Behaviour],
                  models: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One row of ``model_cpu.csv``: the configuration's calls that replayed, pooled."""
    audio_s = pool_behaviour(behaviours).duration_s
    vad_s, eot_s = _sum(models, "vad_cpu_s"), _sum(models, "eot_cpu_s")
    n_eot = _sum(models, "eot_inferences")
    return {"config": config.label, "n_calls": len(models), "audio_s": round(audio_s, 6),
            "vad_inferences": _sum(models, "vad_inferences"), "vad_cpu_s": vad_s,
            "eot_inferences": n_eot, "eot_cpu_s": eot_s,
            "eot_cpu_ms_per_inference": 1000.0 * eot_s / n_eot if n_eot else None,
            "model_cpu_s": vad_s + eot_s,
            "model_cpu_ms_per_audio_min": (60_000.0 * (vad_s + eot_s) / audio_s
                                           if audio_s > 0 else None)}
