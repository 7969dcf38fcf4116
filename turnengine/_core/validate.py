"""Argument checks of the facade's constructor and clock calls (shared by nothing else, kept
apart so the facade reads as its public methods)."""

from __future__ import annotations

import math
from typing import Any

from ..endpointing import TURN_DETECTORS
from ..options import TurnEngineOptions


def check_seconds(seconds: object) -> float:
    """``seconds`` as a finite float >= 0.

    Raises
    ------
    TypeError
        Not a number (bool refused).
    ValueError
        Negative, NaN or infinite.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds expects a number, got {seconds!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be finite and >= 0, got {seconds}")
    return float(seconds)


def check_options(turn_detector: object, options: object, kwargs: dict[str, Any]
                  ) -> TurnEngineOptions:
    """The session's options: ``options`` (or the defaults) with ``kwargs`` applied, validated.

    Raises
    ------
    TypeError
        Unknown option names, or ``options`` not a ``TurnEngineOptions``.
    ValueError
        An unknown turn detector, a bad option value, or ``eager_eot_threshold`` without a
        turn detector.
    """
    if turn_detector not in TURN_DETECTORS:
        raise ValueError(f"unknown turn_detector {turn_detector!r}; expected one of "
                         f"{TURN_DETECTORS}")
    unknown = set(kwargs) - set(TurnEngineOptions.option_names())
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; see "
                        "TurnEngineOptions.option_names()")
    if options is not None and not isinstance(options, TurnEngineOptions):
        raise TypeError(f"expected TurnEngineOptions, got {type(options).__name__}")
    chosen = (options or TurnEngineOptions()).replace(**kwargs)
    if chosen.eager_eot_threshold is not None and turn_detector is None:
        raise ValueError("option eager_eot_threshold needs an end-of-turn model "
                         "(turn_detector='smart-turn'); got turn_detector=None")
    return chosen
