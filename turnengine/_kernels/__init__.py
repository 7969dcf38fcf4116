"""Kernel selection: the compiled Cython kernels, or their pure-Python reference twins.

Each compiled module ``turnengine._kernels.<name>`` (built from ``ext/<name>.pyx``) has a twin
``turnengine._kernels.<name>_ref`` with the same classes, signatures and results.  Set
``TURNENGINE_PUREPYTHON=1`` to force the twins (as msgpack's ``MSGPACK_PUREPYTHON`` does); the
test suite runs against both.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

KERNEL_NAMES = ("pcm", "hysteresis", "timers", "vad_energy", "vad_silero", "features")
ENV_PUREPYTHON = "TURNENGINE_PUREPYTHON"


def use_reference() -> bool:
    """Return True when ``TURNENGINE_PUREPYTHON`` asks for the reference twins."""
    return os.environ.get(ENV_PUREPYTHON, "") not in ("", "0")


def load(name: str, reference: bool | None = None) -> ModuleType:
    """Import kernel ``name``: compiled by default, the reference twin when asked.

    Parameters
    ----------
    name : str
        One of ``KERNEL_NAMES``.
    reference : bool, optional
        Force (True) or refuse (False) the pure-Python twin; None reads ``TURNENGINE_PUREPYTHON``.

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
