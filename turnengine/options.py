"""Engine options: names and defaults from SPEC sections 2-7 (LiveKit's names), validated once.

Every option is a field of :class:`TurnEngineOptions`; the CLI exposes each one as
``--option-name``.  Durations are in seconds here; they are converted to whole samples or windows
once, when the engine is built (STYLE.md point 4).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

TurnDetectionMode = Literal["vad", "stt", "manual"]
TURN_DETECTION_MODES: tuple[str, ...] = ("vad", "stt", "manual")
ENDPOINTING_MODES: tuple[str, ...] = ("fixed", "dynamic")
ENDPOINTING_STARTS: tuple[str, ...] = ("silence", "end_of_speech")
#: The largest duration (s) and count an option takes: about 31 years, far below what the
#: kernels' int64 sample counts hold at any rate (a longer timeout is the same as none).
MAX_SECONDS = 1e9
MAX_COUNT = 10**9


def _meta(help_text: str, unit: str = "") -> dict[str, str]:
    return {"help": help_text, "unit": unit}


@dataclass(frozen=True)
class TurnEngineOptions:
    """Every tunable of the engine, with SPEC defaults.

    Units are seconds unless the name or ``unit`` metadata says otherwise.  Build with keyword
    arguments; :meth:`validate` runs in ``__post_init__`` and raises ``ValueError`` (bad value) or
    ``TypeError`` (wrong type) naming the option, what was expected and what came.
    """

    # -- frame VAD hysteresis (SPEC 3.2; LiveKit silero plugin names) ------------------------
    activation_threshold: float = field(
        default=0.5, metadata=_meta("a window with probability >= this is speech", "0..1"))
    deactivation_threshold: float | None = field(
        default=None,
        metadata=_meta("while speaking, a window stays speech while probability > this; "
                       "None = activation - 0.15 (min 0.01)", "0..1"))
    min_speech_duration: float = field(
        default=0.05, metadata=_meta("consecutive speech needed to start a segment", "s"))
    min_silence_duration: float = field(
        default=0.55, metadata=_meta("consecutive non-speech needed to end a segment", "s"))
    prefix_padding_duration: float = field(
        default=0.5, metadata=_meta("audio kept before the start, delivered with START", "s"))
    max_buffered_speech: float = field(
        default=60.0, metadata=_meta("cap on audio held for one segment", "s"))
    smoothing_alpha: float = field(
        default=0.35, metadata=_meta("p = a*p_prev + (1-a)*p_raw; 0 disables", "0..1"))
    min_volume: float = field(
        default=0.0, metadata=_meta("Pipecat-style gate: quieter windows (RMS) are not speech; "
                                    "0 = off", "RMS 0..1"))
    # -- endpointing (SPEC 5) -----------------------------------------------------------------
    turn_detection: str = field(
        default="vad", metadata=_meta("what opens an end-of-turn decision: vad, stt or manual"))
    min_endpointing_delay: float = field(
        default=0.5, metadata=_meta("delay after the end of speech before the turn commits", "s"))
    max_endpointing_delay: float = field(
        default=3.0, metadata=_meta("delay used when the end-of-turn model says the user is "
                                    "probably not done", "s"))
    endpointing_mode: str = field(
        default="fixed", metadata=_meta("fixed, or dynamic: the minimum delay learns the user's "
                                        "pauses (moving average, alpha 0.9, within [min, max])"))
    unlikely_threshold: float = field(
        default=0.5, metadata=_meta("end-of-turn probability below which the max delay is used",
                                    "0..1"))
    endpointing_start: str = field(
        default="silence",
        metadata=_meta("where the endpointing delay starts: silence (the end of the last voiced "
                       "window; a turn may commit inside the VAD hangover) or end_of_speech "
                       "(LiveKit AgentSession: never before the VAD's END_OF_SPEECH)"))
    eot_prediction_interval: float | None = field(
        default=0.1,
        metadata=_meta("with an end-of-turn model: ask it again this often while the user stays "
                       "silent, until the turn commits; None = once a pause", "s"))
    eager_eot_threshold: float | None = field(
        default=None,
        metadata=_meta("with an end-of-turn model: emit eager_end_of_turn at the first "
                       "prediction at or above this (Deepgram Flux's EagerEndOfTurn); None = off",
                       "0..1"))
    # -- interruptions (SPEC 6) ---------------------------------------------------------------
    allow_interruptions: bool = field(
        default=True, metadata=_meta("whether user speech may interrupt the agent at all"))
    min_interruption_duration: float = field(
        default=0.5, metadata=_meta("VAD speech (short pauses included) needed to interrupt",
                                    "s"))
    min_interruption_words: int = field(
        default=0, metadata=_meta("transcribed words needed as well, per utterance (needs an "
                                  "STT feeding push_transcript; keep 0 without one)", "words"))
    false_interruption_timeout: float | None = field(
        default=2.0, metadata=_meta("after the user stops, how long to wait for a transcript "
                                    "before calling the interruption false; None disables", "s"))
    resume_false_interruption: bool = field(
        default=True, metadata=_meta("tell the host it may resume the paused speech"))
    discard_audio_if_uninterruptible: bool = field(
        default=True, metadata=_meta("while the agent speaks uninterruptibly the STT gate passes "
                                     "silence"))
    aec_warmup_duration: float | None = field(
        default=3.0, metadata=_meta("no audio-activity interruptions during the first seconds of "
                                    "the agent's first speech; None disables", "s"))
    # -- user away (SPEC 7) -------------------------------------------------------------------
    user_away_timeout: float | None = field(
        default=15.0, metadata=_meta("both listening this long -> user away; None disables", "s"))
    # -- audio intake (SPEC 2) ----------------------------------------------------------------
    audio_stall_timeout: float = field(
        default=2.0, metadata=_meta("wall-clock seconds without input before an open speaking "
                                    "state is closed (wall-clock mode only)", "s"))

    def __post_init__(self) -> None:
        self.validate()

    # -- derived values -----------------------------------------------------------------------
    @property
    def effective_deactivation_threshold(self) -> float:
        """The deactivation threshold in force: the option, or activation - 0.15 (min 0.01)."""
        if self.deactivation_threshold is not None:
            return self.deactivation_threshold
        return max(self.activation_threshold - 0.15, 0.01)

    def replace(self, **changes: Any) -> TurnEngineOptions:
        """Return a copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every option by name, as JSON-ready values."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # -- validation ---------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every option; raise ``TypeError``/``ValueError`` naming the first bad one."""
        for f in fields(self):
            value = getattr(self, f.name)
            optional = "None" in str(f.type)
            if value is None:
                if not optional:
                    raise TypeError(f"option {f.name} may not be None")
                continue
            kind = _kind(f)
            if kind is bool:
                if not isinstance(value, bool):
                    raise TypeError(f"option {f.name} expects True or False, got {value!r}")
            elif kind is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"option {f.name} expects an int, got {value!r}")
                if not 0 <= value <= MAX_COUNT:
                    raise ValueError(f"option {f.name} must be in [0, {MAX_COUNT}], got {value}")
            elif kind is float:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"option {f.name} expects a number, got {value!r}")
                if not math.isfinite(value):
                    raise ValueError(f"option {f.name} must be finite, got {value}")
                if value < 0:
                    raise ValueError(f"option {f.name} must be >= 0 {f.metadata['unit']}, "
                                     f"got {value}")
                if f.metadata.get("unit") == "0..1" and value > 1:
                    raise ValueError(f"option {f.name} must be in [0, 1], got {value}")
                if f.metadata.get("unit") == "s" and value > MAX_SECONDS:
                    raise ValueError(f"option {f.name} must be <= {MAX_SECONDS:g} s, got "
                                     f"{value}")
        if self.turn_detection not in TURN_DETECTION_MODES:
            raise ValueError(f"option turn_detection must be one of {TURN_DETECTION_MODES}, "
                             f"got {self.turn_detection!r}")
        if self.endpointing_mode not in ENDPOINTING_MODES:
            raise ValueError(f"option endpointing_mode must be one of {ENDPOINTING_MODES}, "
                             f"got {self.endpointing_mode!r}")
        if self.endpointing_start not in ENDPOINTING_STARTS:
            raise ValueError(f"option endpointing_start must be one of {ENDPOINTING_STARTS}, "
                             f"got {self.endpointing_start!r}")
        if self.eot_prediction_interval is not None and self.eot_prediction_interval <= 0:
            raise ValueError("option eot_prediction_interval must be > 0 s (None: once a pause), "
                             f"got {self.eot_prediction_interval}")
        if self.min_volume > 1:
            raise ValueError(f"option min_volume must be in [0, 1], got {self.min_volume}")
        if self.effective_deactivation_threshold > self.activation_threshold:
            raise ValueError(
                "option deactivation_threshold must be <= activation_threshold "
                f"({self.activation_threshold}), got {self.effective_deactivation_threshold}")
        if self.max_endpointing_delay < self.min_endpointing_delay:
            raise ValueError(
                f"option max_endpointing_delay ({self.max_endpointing_delay} s) must be >= "
                f"min_endpointing_delay ({self.min_endpointing_delay} s)")

    @classmethod
    def option_names(cls) -> list[str]:
        """The names of every option, in declaration order."""
        return [f.name for f in fields(cls)]

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One dict per option: name, type, default, unit and help (for docs and the CLI)."""
        out = []
        for f in fields(cls):
            out.append({"name": f.name, "type": _kind(f).__name__,
                        "optional": "None" in str(f.type), "default": f.default,
                        "unit": f.metadata.get("unit", ""), "help": f.metadata.get("help", "")})
        return out


def _kind(f: dataclasses.Field[Any]) -> type:
    t = str(f.type)
    for name, kind in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if t.startswith(name):
            return kind
    raise AssertionError(f"unhandled option type {t}")  # pragma: no cover


def seconds_to_samples(seconds: float, sample_rate_hz: int) -> int:
    """Round a duration to whole samples."""
    return int(round(seconds * sample_rate_hz))


def seconds_to_windows(seconds: float, window_s: float) -> int:
    """Whole windows needed to cover ``seconds`` (at least 1), as LiveKit's ``>=`` comparisons."""
    return max(1, math.ceil(seconds / window_s - 1e-9))
