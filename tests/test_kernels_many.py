"""The many-stream kernel calls a TurnEngineGroup makes (pcm.intake_many, hysteresis.step_many,
timers.clocks/step_many): equal to one call per stream, compiled == reference, bad input
changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from turnengine._kernels import load

N, W = 5, 512


def _kernels(reference: bool):
    return (load("pcm", reference=reference), load("hysteresis", reference=reference),
            load("timers", reference=reference))


def _streams(seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * 16000)) / 16000
    rows = []
    for i in range(N):
        on = (np.sin(2 * np.pi * (0.4 + 0.1 * i) * t) > 0).astype(np.float32)
        rows.append(np.clip(on * 12000 * np.sin(2 * np.pi * 220 * t)
                            + rng.normal(0, 300, t.shape), -32768, 32767).astype(np.int16))
    return np.stack(rows)


@pytest.mark.parametrize("reference", [False, True], ids=["compiled", "reference"])
@pytest.mark.parametrize("rate", [16000, 48000])
def test_intake_many_equals_one_intake_per_stream(reference, rate):
    pcm, _, _ = _kernels(reference)
    frames = _streams()
    lone = [pcm.Intake(rate) for _ in range(N)]
    many = [pcm.Intake(rate) for _ in range(N)]
    buf = np.zeros((N, 8192), np.float32)
    pending = np.zeros(N, np.int64)
    consumed = np.zeros(N, np.int64)
    got: list[list[np.ndarray]] = [[] for _ in range(N)]
    want: list[list[np.ndarray]] = [[] for _ in range(N)]
    for a in range(0, frames.shape[1] - 960, 960):
        chunk = np.ascontiguousarray(frames[:, a:a + 960])
        pcm.intake_many(many, chunk, buf, pending, consumed)
        for i in range(N):
            keep = int(pending[i]) // W * W  # hand on whole windows, keep the rest
            got[i].append(buf[i, :keep].copy())
            consumed[i] = keep
            out = np.zeros(4096, np.float32)
            n = lone[i].process(chunk[i], out)
            want[i].append(out[:n])
    for i in range(N):
        g = np.concatenate(got[i])
        w = np.concatenate(want[i])[: g.shape[0]]
        np.testing.assert_array_equal(g, w)


def _bound(pcm_probs: np.ndarray, reference: bool):
    _, hyst_mod, timers_mod = _kernels(reference)
    hysts, timers, arrays = [], [], []
    M = timers_mod.MAX_EVENTS_PER_WINDOW  # noqa: N806
    for _ in range(N):
        h = hyst_mod.Hysteresis(W, 0.5, 0.35, 8, 18, 0.0, 0.0)
        t = timers_mod.Timers(W, 8000, 8000, 15 * 16000, 0, True, 0, -1, -1, False, -1)
        a = dict(probs=np.zeros(64, np.float32), rms=np.zeros(64, np.float32),
                 flags=np.zeros(64, np.uint8), smoothed=np.zeros(64, np.float32),
                 code=np.zeros(64, np.int32), sample=np.zeros(64, np.int64),
                 aux=np.zeros(64, np.int64), t_code=np.zeros(M * 64, np.int32),
                 t_sample=np.zeros(M * 64, np.int64), t_aux=np.zeros(M * 64, np.int64))
        h.bind(a["probs"], a["rms"], a["flags"], a["smoothed"], a["code"], a["sample"],
               a["aux"])
        t.bind(a["flags"], a["aux"], a["t_code"], a["t_sample"], a["t_aux"])
        hysts.append(h)
        timers.append(t)
        arrays.append(a)
    return hyst_mod, timers_mod, hysts, timers, arrays


def _probs() -> np.ndarray:
    rng = np.random.default_rng(3)
    base = (np.sin(np.arange(400)[None, :] / (9.0 + np.arange(N)[:, None])) > 0.2)
    return np.clip(base * 0.9 + rng.normal(0, 0.08, (N, 400)), 0, 1).astype(np.float32)


def _lone_events(reference: bool) -> list[list[tuple[int, int, int]]]:
    hyst_mod, timers_mod, hysts, timers, arrays = _bound(_probs(), reference)
    probs = _probs()
    out: list[list[tuple[int, int, int]]] = [[] for _ in range(N)]
    for k in range(0, 400, 3):
        for i in range(N):
            a = arrays[i]
            n = min(3, 400 - k)
            a["probs"][:n] = probs[i, k:k + n]
            n_h = hysts[i].step(n, timers[i].now)
            start, w = timers[i].now, 0
            jh = 0
            while w < n:
                n_t, used, used_h = timers[i].step(w, n - w, jh, n_h, start + w * W)
                out[i] += [(int(a["t_code"][j]), int(a["t_sample"][j]), int(a["t_aux"][j]))
                           for j in range(n_t)]
                w += used
                jh += used_h
    return out


@pytest.mark.parametrize("reference", [False, True], ids=["compiled", "reference"])
def test_step_many_equals_one_step_per_stream(reference):
    hyst_mod, timers_mod, hysts, timers, arrays = _bound(_probs(), reference)
    probs = _probs()
    got: list[list[tuple[int, int, int]]] = [[] for _ in range(N)]
    starts, n_h, n_t, used, used_h = (np.zeros(N, np.int64) for _ in range(5))
    for k in range(0, 400, 3):
        n = min(3, 400 - k)
        n_win = np.full(N, n, np.int64)
        for i in range(N):
            arrays[i]["probs"][:n] = probs[i, k:k + n]
        timers_mod.clocks(timers, starts)
        hyst_mod.step_many(hysts, n_win, starts, n_h)
        timers_mod.step_many(timers, n_win, n_h, n_t, used, used_h)
        for i in range(N):  # go on alone where a stream stopped on an event
            a = arrays[i]
            w, jh, nt = int(used[i]), int(used_h[i]), int(n_t[i])
            while True:
                got[i] += [(int(a["t_code"][j]), int(a["t_sample"][j]), int(a["t_aux"][j]))
                           for j in range(nt)]
                if w >= n:
                    break
                nt, u, uh = timers[i].step(w, n - w, jh, int(n_h[i]), int(starts[i]) + w * W)
                w += u
                jh += uh
    want = _lone_events(reference)
    assert got == want
    assert sum(len(g) for g in got) > 4 * N  # the probabilities do start and end speech


@pytest.mark.parametrize("reference", [False, True], ids=["compiled", "reference"])
def test_many_calls_reject_bad_input_and_change_nothing(reference):
    pcm, hyst_mod, timers_mod = _kernels(reference)
    intakes = [pcm.Intake(16000) for _ in range(N)]
    buf = np.zeros((N, 1024), np.float32)
    pending = np.zeros(N, np.int64)
    consumed = np.zeros(N, np.int64)
    frames = np.ones((N, 320), np.int16)
    with pytest.raises(ValueError, match="streams"):
        pcm.intake_many(intakes, frames[:2], buf, pending, consumed)
    big = np.ones((N, 2000), np.int16)
    with pytest.raises(ValueError, match="row of length"):
        pcm.intake_many(intakes, big, buf, pending, consumed)
    bad_consumed = np.array([0, 0, 0, 0, 5], np.int64)
    with pytest.raises(ValueError, match="consumed"):
        pcm.intake_many(intakes, frames, buf, pending, bad_consumed)
    with pytest.raises(TypeError):
        pcm.intake_many([*intakes[:-1], object()], frames, buf, pending, consumed)
    assert not pending.any() and not buf.any()
    assert all(it.consumed == 0 for it in intakes)
    _, _, hysts, timers, arrays = _bound(_probs(), reference)
    too_many = np.array([1, 1, 1, 1, 65], np.int64)
    out = np.zeros(N, np.int64)
    with pytest.raises(ValueError):
        hyst_mod.step_many(hysts, too_many, np.zeros(N, np.int64), out)
    with pytest.raises(ValueError):
        timers_mod.step_many(timers, too_many, np.zeros(N, np.int64), out, out.copy(),
                             out.copy())
    assert all(h.speech_run == 0 and h.silence_run == 0 for h in hysts)
    assert all(t.now == 0 for t in timers)
