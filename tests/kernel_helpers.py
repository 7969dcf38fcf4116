"""Drive the hysteresis and timers kernels over whole arrays in chunks (for tests)."""

from __future__ import annotations

import numpy as np


def run_hysteresis(hyst, probs: np.ndarray, chunk: int, window: int, rms=None, runs=None):
    """Feed ``probs`` in chunks of ``chunk`` windows; return flags, smoothed and events.

    ``runs``, an int64 array of shape ``(len(probs), 2)``, receives the kernel's ``runs_out``.
    """
    n = probs.shape[0]
    flags = np.zeros(n, np.uint8)
    smoothed = np.zeros(n, np.float32)
    events: list[tuple[int, int, int]] = []
    code = np.zeros(n + 1, np.int32)
    sample = np.zeros(n + 1, np.int64)
    aux = np.zeros(n + 1, np.int64)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        r = None if rms is None else np.ascontiguousarray(rms[a:b])
        k = hyst.process(np.ascontiguousarray(probs[a:b]), r, a * window, flags[a:b],
                         smoothed[a:b], code, sample, aux,
                         runs_out=None if runs is None else runs[a:b])
        events += [(int(code[i]), int(sample[i]), int(aux[i])) for i in range(k)]
    return flags, smoothed, events


def timers_mod_max(timers) -> int:
    """MAX_EVENTS_PER_WINDOW of the module ``timers`` (a Timers object) comes from."""
    import sys

    return int(sys.modules[type(timers).__module__].MAX_EVENTS_PER_WINDOW)


def run_timers(timers, flags: np.ndarray, hyst_events, chunk: int, window: int, start: int = 0):
    """Feed per-window flags in chunks; return the timer kernel's event tuples."""
    n = flags.shape[0]
    aux_all = np.array([e[2] for e in hyst_events], dtype=np.int64)
    starts = np.cumsum((flags & 12) != 0)  # START|END flags seen up to each window
    out: list[tuple[int, int, int]] = []
    m = timers_mod_max(timers) * chunk  # MAX_EVENTS_PER_WINDOW
    code = np.zeros(m, np.int32)
    sample = np.zeros(m, np.int64)
    aux = np.zeros(m, np.int64)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        j0 = int(starts[a - 1]) if a else 0
        j1 = int(starts[b - 1])
        k = timers.process(np.ascontiguousarray(flags[a:b]), aux_all[j0:j1], start + a * window,
                           code, sample, aux)
        out += [(int(code[i]), int(sample[i]), int(aux[i])) for i in range(k)]
    return out
