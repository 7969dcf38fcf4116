"""Argument checks of the hysteresis kernel, shared by ``ext/hysteresis.pyx`` and its twin.

Both ``ext/hysteresis.pyx`` and ``hysteresis_ref.py`` import this module, so the optional
``runs_out`` array is refused with the same message by both.  Plain Python and numpy.
"""

from __future__ import annotations

import numpy as np


def check_runs_out(runs_out: object, n: int) -> np.ndarray:
    """Validate ``runs_out``: a writable C-contiguous int64 array of shape ``(>= n, 2)``.

    Raises
    ------
    TypeError
        If ``runs_out`` is not an int64 numpy array.
    ValueError
        If it is not 2-D with 2 columns and at least ``n`` rows, not C-contiguous, or read-only.
    """
    if not isinstance(runs_out, np.ndarray) or runs_out.dtype != np.int64:
        got = (f"{runs_out.dtype} array" if isinstance(runs_out, np.ndarray)
               else type(runs_out).__name__)
        raise TypeError(f"expected runs_out as an int64 numpy array, got {got}")
    if runs_out.ndim != 2 or runs_out.shape[1] != 2 or runs_out.shape[0] < n:
        raise ValueError(f"expected runs_out of shape (>= {n}, 2), got shape {runs_out.shape}")
    if not runs_out.flags.c_contiguous:
        raise ValueError(f"expected a C-contiguous runs_out, got strides {runs_out.strides}")
    if not runs_out.flags.writeable:
        raise ValueError("expected a writable runs_out array, got a read-only one")
    return runs_out
