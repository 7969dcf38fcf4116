"""Typed views of the kernel modules, for :func:`turnengine._kernels.load`.

``load("timers")`` returns the compiled module or its pure-Python twin, chosen at call time.
For mypy it returns one of the Protocols below, whose members are the classes and functions of
the kernel's ``.pyi`` stub, so every call made through ``load`` is checked against the stub::

    timers = load("timers").Timers(window, delay, ...)   # checked against timers.pyi

Both twins satisfy the same stub at run time (tests/test_kernel_stubs.py compares the stubs with
the compiled modules and the twins); mypy checks that each stub module satisfies its Protocol
(the assignments at the end of ``turnengine/_kernels/__init__.py``).  Nothing here is imported
at run time: the annotations are strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from . import echo, features, hysteresis, pcm, timers, vad_energy, vad_silero


class PcmModule(Protocol):
    """``turnengine._kernels.pcm`` (ext/pcm.pyx) or ``pcm_ref``."""

    @property
    def Intake(self) -> type[pcm.Intake]: ...  # noqa: N802 (the class name)

    def window_rms(
        self, samples: npt.NDArray[np.float32], window: int, out: npt.NDArray[np.float32]
    ) -> int: ...

    def intake_many(
        self, intakes: list[pcm.Intake], frames: npt.NDArray[np.int16],
        out: npt.NDArray[np.float32], pending: npt.NDArray[np.int64],
        consumed: npt.NDArray[np.int64],
    ) -> None: ...


class HysteresisModule(Protocol):
    """``turnengine._kernels.hysteresis`` (ext/hysteresis.pyx) or ``hysteresis_ref``."""

    @property
    def Hysteresis(self) -> type[hysteresis.Hysteresis]: ...  # noqa: N802

    def step_many(
        self, hysts: list[hysteresis.Hysteresis], n_win: npt.NDArray[np.int64],
        start_sample: npt.NDArray[np.int64], n_events_out: npt.NDArray[np.int64],
    ) -> None: ...


class TimersModule(Protocol):
    """``turnengine._kernels.timers`` (ext/timers.pyx) or ``timers_ref``."""

    @property
    def Timers(self) -> type[timers.Timers]: ...  # noqa: N802

    @property
    def MAX_EVENTS_PER_WINDOW(self) -> int: ...  # noqa: N802

    def clocks(self, timers: list[timers.Timers], out: npt.NDArray[np.int64]) -> None: ...

    def step_many(
        self, timers: list[timers.Timers], n_win: npt.NDArray[np.int64],
        n_hyst: npt.NDArray[np.int64], n_events_out: npt.NDArray[np.int64],
        used_out: npt.NDArray[np.int64], hyst_used_out: npt.NDArray[np.int64],
    ) -> None: ...


class VadEnergyModule(Protocol):
    """``turnengine._kernels.vad_energy`` (ext/vad_energy.pyx) or ``vad_energy_ref``."""

    @property
    def EnergyVAD(self) -> type[vad_energy.EnergyVAD]: ...  # noqa: N802


class EchoModule(Protocol):
    """``turnengine._kernels.echo`` (ext/echo.pyx) or ``echo_ref``."""

    @property
    def EchoCanceller(self) -> type[echo.EchoCanceller]: ...  # noqa: N802

    @property
    def BLOCK(self) -> int: ...  # noqa: N802


class VadSileroModule(Protocol):
    """``turnengine._kernels.vad_silero`` (ext/vad_silero.pyx) or ``vad_silero_ref``."""

    @property
    def SileroModel(self) -> type[vad_silero.SileroModel]: ...  # noqa: N802

    @property
    def SileroKernel(self) -> type[vad_silero.SileroKernel]: ...  # noqa: N802

    @property
    def SileroBatch(self) -> type[vad_silero.SileroBatch]: ...  # noqa: N802

    def simd_level(self) -> str: ...

    def _set_simd(self, enabled: bool) -> str: ...

    def weight_shapes(self, sample_rate_hz: int) -> dict[str, tuple[int, ...]]: ...


class FeaturesModule(Protocol):
    """``turnengine._kernels.features`` (ext/features.pyx) or ``features_ref``."""

    @property
    def WhisperFeatures(self) -> type[features.WhisperFeatures]: ...  # noqa: N802

    def whisper_log_mel(
        self, audio: npt.NDArray[np.int16] | npt.NDArray[np.float32], scale: bool = True
    ) -> npt.NDArray[np.float32]: ...


__all__ = [
    "FeaturesModule",
    "HysteresisModule",
    "PcmModule",
    "TimersModule",
    "VadEnergyModule",
    "VadSileroModule",
]
