"""Kernel selection: the compiled Cython kernels, or their pure-Python reference twins.

Each compiled module ``turnengine._kernels.<name>`` (built from ``ext/<name>.pyx``) has a twin
``turnengine._kernels.<name>_ref`` with the same classes, signatures and results; the constants,
designs and argument checks both use are in ``<name>_spec`` (pcm, vad_energy, vad_silero,
features).  Set ``TURNENGINE_PUREPYTHON=1`` to force the twins (as msgpack's
``MSGPACK_PUREPYTHON`` does); the variable is read at each ``load`` call, and the test suite
runs against both.

``load`` is typed: for a literal kernel name mypy sees the Protocol of
``turnengine._kernels.modules`` whose members are the classes and functions of the kernel's
``.pyi`` stub, so ``load("timers").Timers(...)`` is checked against ``timers.pyi``.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from .modules import (
        EchoModule,
        FeaturesModule,
        HysteresisModule,
        PcmModule,
        TimersModule,
        VadEnergyModule,
        VadSileroModule,
    )

KERNEL_NAMES = ("pcm", "hysteresis", "timers", "vad_energy", "vad_silero", "features", "echo")
ENV_PUREPYTHON = "TURNENGINE_PUREPYTHON"

def use_reference() -> bool:
    """Return True when ``TURNENGINE_PUREPYTHON`` asks for the reference twins."""
    return os.environ.get(ENV_PUREPYTHON, "") not in ("", "0")


@overload
def load(name: Literal["pcm"], reference: bool | None = None) -> PcmModule: ...
@overload
def load(name: Literal["hysteresis"], reference: bool | None = None) -> HysteresisModule: ...
@overload
def load(name: Literal["timers"], reference: bool | None = None) -> TimersModule: ...
@overload
def load(name: Literal["vad_energy"], reference: bool | None = None) -> VadEnergyModule: ...
@overload
def load(name: Literal["vad_silero"], reference: bool | None = None) -> VadSileroModule: ...
@overload
def load(name: Literal["features"], reference: bool | None = None) -> FeaturesModule: ...
@overload
def load(name: Literal["echo"], reference: bool | None = None) -> EchoModule: ...
@overload
def load(name: str, reference: bool | None = None) -> Any: ...


def load(name: str, reference: bool | None = None) -> Any:
    """Import kernel ``name``: compiled by default, the reference twin when asked.

    Parameters
    ----------
    name : str
        One of ``KERNEL_NAMES``.  A literal name gives the kernel's typed module (see
        ``turnengine._kernels.modules``); any other string gives ``Any``.
    reference : bool, optional
        Force (True) or refuse (False) the pure-Python twin; None reads ``TURNENGINE_PUREPYTHON``.

    Returns
    -------
    module
        ``turnengine._kernels.<name>`` or ``turnengine._kernels.<name>_ref``.

    Raises
    ------
    ValueError
        If ``name`` is not a kernel.
    ImportError
        If the compiled kernel is asked for but was not built (reinstall the package).
    """
    if name not in KERNEL_NAMES:
        raise ValueError(f"unknown kernel {name!r}; expected one of {KERNEL_NAMES}")
    if reference is None:
        reference = use_reference()
    if reference:
        return importlib.import_module(f"{__name__}.{name}_ref")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:  # pragma: no cover - only on a broken install
        raise ImportError(
            f"compiled kernel turnengine._kernels.{name} is missing ({exc}); reinstall turnengine "
            f"so its Cython extensions are built, or set {ENV_PUREPYTHON}=1 to use the slow "
            "pure-Python reference kernels"
        ) from exc


if TYPE_CHECKING:
    # mypy checks that each stub module satisfies its Protocol: a stub and its Protocol cannot
    # drift apart.
    from . import echo, features, hysteresis, pcm, timers, vad_energy, vad_silero

    _pcm: PcmModule = pcm
    _hysteresis: HysteresisModule = hysteresis
    _timers: TimersModule = timers
    _vad_energy: VadEnergyModule = vad_energy
    _vad_silero: VadSileroModule = vad_silero
    _features: FeaturesModule = features
    _echo: EchoModule = echo
