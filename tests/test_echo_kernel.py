"""The echo-canceller kernel (ext/echo.pyx) and its twin (turnengine/_kernels/echo_ref.py).

Both twins give the same numbers; the kernel finds and follows the playout delay, removes a
linear echo and keeps the near-end talker; chunking changes nothing; bad input is refused with
the state unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from turnengine._kernels import load
from turnengine._kernels.echo_spec import BLOCK, LATENCY

ECHO = Path(__file__).parent / "data" / "echo"
SPEECH = Path(__file__).parent / "data" / "A02_pocketsphinx_librivox_single_track.wav"
RATE = 16000


def kernel(reference: bool, rate: int = RATE):
    return load("echo", reference).EchoCanceller(rate)


def run(canceller, mic: np.ndarray, far: np.ndarray, chunk_blocks: int | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    n = mic.shape[0] - mic.shape[0] % BLOCK
    out = np.zeros(n, np.float32)
    delays = np.zeros(n // BLOCK, np.int64)
    stats = np.zeros((n // BLOCK, 3))
    step = n if chunk_blocks is None else chunk_blocks * BLOCK
    for s in range(0, n, step):
        e = min(n, s + step)
        canceller.process(mic[s:e], far[s:e], out[s:e], delays[s // BLOCK:],
                          stats[s // BLOCK:])
    run.stats = stats  # type: ignore[attr-defined]  # the last call's, for the stats test
    return out, delays


def speech(seconds: float, offset_s: float = 0.0) -> np.ndarray:
    x, rate = sf.read(SPEECH, dtype="float32")
    assert rate == RATE
    a = int(offset_s * RATE)
    return np.ascontiguousarray(x[a:a + int(seconds * RATE)])


def delayed(x: np.ndarray, delay: int, gain: float = 0.5) -> np.ndarray:
    y = np.zeros_like(x)
    y[delay:] = gain * x[: x.shape[0] - delay]
    return y


def power_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-15))


def test_the_twins_agree_on_a_real_speakerphone_call():
    mic, _ = sf.read(ECHO / "dev_08_barge_bc_e2u_0.mic.wav", dtype="float32")
    far, _ = sf.read(ECHO / "dev_08_barge_bc_e2u_0.playout.wav", dtype="float32")
    mic, far = mic[: 8 * RATE], far[: 8 * RATE]
    out_c, d_c = run(kernel(False), mic, far)
    twin = kernel(True)
    out_r, d_r = run(twin, mic, far)
    assert np.array_equal(d_c, d_r)
    assert np.max(np.abs(out_c - out_r)) < 1e-6
    assert d_c[-1] >= 0  # it locked


@pytest.mark.parametrize("reference", [False, True])
def test_chunked_equals_one_shot(reference):
    far = speech(3.0)
    mic = delayed(far, 700) + 0.003 * np.random.default_rng(1).standard_normal(far.shape[0]
                                                                              ).astype(np.float32)
    whole, dw = run(kernel(reference), mic, far)
    for chunk in (1, 5, 32):
        parts, dp = run(kernel(reference), mic, far, chunk)
        assert np.array_equal(parts, whole) and np.array_equal(dp, dw)


@pytest.mark.parametrize("delay_ms", [20, 150, 400])
def test_a_linear_echo_is_found_and_removed(delay_ms):
    far = speech(6.0)
    delay = delay_ms * RATE // 1000
    noise = 1e-3 * np.random.default_rng(2).standard_normal(far.shape[0]).astype(np.float32)
    mic = delayed(far, delay) + noise
    c = kernel(False)
    out, delays = run(c, mic, far)
    assert abs(c.delay_samples - delay) <= 2 * BLOCK
    late = slice(3 * RATE, None)
    assert power_db(mic[late]) - power_db(out[late]) > 20.0


def test_a_delay_jump_is_followed():
    far = speech(12.0)
    mic = delayed(far, 640)
    mic[6 * RATE:] = delayed(far, 640 + 2400)[6 * RATE:]  # +150 ms: another audio route
    c = kernel(False)
    out, delays = run(c, mic, far)
    assert abs(delays[int(5.5 * RATE) // BLOCK] - 640) <= 2 * BLOCK
    assert abs(c.delay_samples - 3040) <= 2 * BLOCK
    assert power_db(mic[10 * RATE:]) - power_db(out[10 * RATE:]) > 15.0


def test_the_near_end_talker_is_kept_while_the_echo_goes():
    far = speech(8.0)
    near = speech(8.0, offset_s=12.0)
    near[: 4 * RATE] = 0.0  # the user talks over the agent from 4 s on
    mic = delayed(far, 800) + 0.5 * near
    out, _ = run(kernel(False), mic, far)
    # the output is BLOCK samples late
    talk = slice(5 * RATE + LATENCY, 8 * RATE - BLOCK)
    alone = slice(2 * RATE + LATENCY, 4 * RATE - BLOCK)
    assert power_db(out[talk]) - power_db(0.5 * near[5 * RATE:8 * RATE - BLOCK - LATENCY]) > -6
    assert power_db(mic[alone]) - power_db(out[alone]) > 20.0


def test_eight_kilohertz():
    far = speech(6.0)[::2].copy()
    mic = delayed(far, 400)
    c = kernel(False, 8000)
    out, _ = run(c, mic, far)
    assert abs(c.delay_samples - 400) <= 2 * BLOCK
    assert power_db(mic[3 * 8000:]) - power_db(out[3 * 8000:]) > 15.0


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("args, error", [
    ((np.zeros(64, np.float64), np.zeros(64, np.float32)), TypeError),
    ((np.zeros(63, np.float32), np.zeros(63, np.float32)), ValueError),
    ((np.zeros(64, np.float32), np.zeros(128, np.float32)), ValueError),
    ((np.zeros((64, 1), np.float32), np.zeros(64, np.float32)), TypeError),
])
def test_bad_input_is_refused_and_changes_nothing(reference, args, error):
    c = kernel(reference)
    run(c, speech(0.5), speech(0.5))
    before = (c.blocks, c.delay_samples, c.erle_db)
    stats = np.zeros((2, 3))
    with pytest.raises(error):
        c.process(*args, np.zeros(64, np.float32), np.zeros(1, np.int64), stats)
    with pytest.raises(ValueError, match="delays"):
        c.process(np.zeros(128, np.float32), np.zeros(128, np.float32),
                  np.zeros(128, np.float32), np.zeros(1, np.int64), stats)
    with pytest.raises(TypeError, match="stats"):
        c.process(np.zeros(128, np.float32), np.zeros(128, np.float32),
                  np.zeros(128, np.float32), np.zeros(2, np.int64), np.zeros((2, 2)))
    assert (c.blocks, c.delay_samples, c.erle_db) == before


@pytest.mark.parametrize("reference", [False, True])
def test_another_rate_is_refused(reference):
    with pytest.raises(ValueError, match="8000 or 16000"):
        kernel(reference, 44100)


@pytest.mark.parametrize("reference", [False, True])
def test_stats_are_the_blocks_energies(reference):
    far = speech(2.0)
    far[: RATE // 2] = 0.0  # the agent starts at 0.5 s
    mic = delayed(far, 700) + 0.01 * speech(2.0, offset_s=5.0)
    out, _ = run(kernel(reference), mic, far)
    stats = run.stats  # type: ignore[attr-defined]
    def blocks(x: np.ndarray) -> np.ndarray:
        return np.sum(np.square(x.reshape(-1, BLOCK), dtype=np.float64), axis=1)

    np.testing.assert_allclose(stats[:, 0], blocks(mic), rtol=1e-6)
    np.testing.assert_allclose(stats[:, 1], blocks(out), rtol=1e-6)
    active = np.sum(np.square(far.reshape(-1, BLOCK), dtype=np.float64), axis=1) > BLOCK * 1e-7
    assert np.array_equal(stats[:, 2] == 1.0, active) and not active[: RATE // 2 // BLOCK].any()


def test_reset_forgets_the_call():
    far = speech(3.0)
    mic = delayed(far, 700)
    c = kernel(False)
    first, _ = run(c, mic, far)
    c.reset()
    assert (c.blocks, c.delay_samples) == (0, -1)
    again, _ = run(c, mic, far)
    assert np.array_equal(first, again)
