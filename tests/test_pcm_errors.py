"""PCM intake kernel (ext/pcm.pyx) and its twin (pcm_ref.py): bad input.

Every test runs against both the compiled kernel and the pure-Python twin (``pcm`` fixture, from
tests/pcm_helpers.py).  Bad input raises the documented error and leaves the state unchanged,
whichever of the fast path (plain aligned arrays) or the fallback takes it; property tests
never crash.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pcm_helpers import (
    HYPOTHESIS,
    RATES,
    UP,
    one_shot,
    run,
    speech_segment,
    twin_fixture,
)

pcm = twin_fixture("pcm")  # the compiled kernel, then its reference twin

# --- bad input leaves the state unchanged -------------------------------------------------------


@pytest.mark.parametrize("rate,out_rate", [(16000, None), (44100, None), (48000, None), UP])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_leaves_state_unchanged(pcm, rate, out_rate, bad):
    x = (speech_segment(rate, 0.3) / np.float32(32768.0)).astype(np.float32)
    a, b = x[:1001], x[1001:]
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n1 = it.process(a, out)
    first = out[:n1].copy()
    consumed, produced = it.consumed, it.produced
    poisoned = b.copy()
    poisoned[17, 1] = bad
    sentinel = np.full(out.shape, 7.0, dtype=np.float32)
    with pytest.raises(ValueError) as exc:
        it.process(poisoned, sentinel)
    assert str(exc.value) == ("expected finite float32 samples in [-1, 1], got NaN/inf at frame 17")
    assert (it.consumed, it.produced) == (consumed, produced)
    assert (sentinel == 7.0).all()
    n2 = it.process(b, out)
    assert np.array_equal(np.concatenate([first, out[:n2]]), one_shot(pcm, rate, x, out_rate))


@pytest.mark.parametrize("rate,out_rate", [(8000, None), (24000, None), (44100, None), UP])
def test_output_too_small(pcm, rate, out_rate):
    x = speech_segment(rate, 0.1)
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    out = np.empty(it.max_output(x.shape[0]), dtype=np.float32)
    n1 = it.process(x[:333], out)
    head = out[:n1].copy()
    need = it.max_output(x.shape[0] - 333)
    with pytest.raises(ValueError, match=f"expected out of length >= {need}"):
        it.process(x[333:], np.empty(need - 1, dtype=np.float32))
    assert it.consumed == 333 and it.produced == n1
    n2 = it.process(x[333:], out)
    assert np.array_equal(np.concatenate([head, out[:n2]]), one_shot(pcm, rate, x, out_rate))


def test_bad_inputs(pcm):
    it = pcm.Intake(48000)
    out = np.empty(4096, dtype=np.float32)
    good = np.zeros((480, 2), dtype=np.int16)
    with pytest.raises(
        TypeError,
        match=r"expected int16 or float32 samples, got float64 array "
        r"of shape \(480, 2\)",
    ):
        it.process(good.astype(np.float64), out)
    with pytest.raises(TypeError, match="got int32"):
        it.process(good.astype(np.int32), out)
    with pytest.raises(TypeError, match=">i2"):
        it.process(good.astype(">i2"), out)
    with pytest.raises(TypeError, match="got bytes"):
        it.process(good.tobytes(), out)
    with pytest.raises(TypeError, match="got list"):
        it.process([[0, 0]], out)
    with pytest.raises(ValueError, match="got 3-D array"):
        it.process(good.reshape(240, 2, 2), out)
    with pytest.raises(ValueError, match="got 0-D array"):
        it.process(np.array(0, dtype=np.int16), out)
    with pytest.raises(ValueError, match="C-contiguous"):
        it.process(np.zeros((480, 4), dtype=np.int16)[:, ::2], out)
    with pytest.raises(ValueError, match="at least 1 frame"):
        it.process(np.zeros((0, 2), dtype=np.int16), out)
    with pytest.raises(ValueError, match="at least 1 frame"):
        it.process(np.zeros((480, 0), dtype=np.int16), out)
    with pytest.raises(TypeError, match="float32 numpy array"):
        it.process(good, np.empty(4096, dtype=np.float64))
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        it.process(good, np.empty((4096, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        it.process(good, np.empty(8192, dtype=np.float32)[::2])
    ro = np.empty(4096, dtype=np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        it.process(good, ro)
    assert it.consumed == 0 and it.produced == 0
    assert it.process(good, out) == 160


@pytest.mark.parametrize("rate,out_rate", [(r, None) for r in RATES] + [UP])
def test_max_output(pcm, rate, out_rate):
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    up, down = it.up, it.down
    for n in (0, 1, 2, 3, 100, 441, 480, 4096):
        assert it.max_output(n) == -(-n * up // down)
    assert it.max_output(np.int64(441)) == it.max_output(441)
    with pytest.raises(ValueError, match="n_frames must be >= 0"):
        it.max_output(-1)
    with pytest.raises(TypeError, match="n_frames must be an int"):
        it.max_output(1.5)
    # A buffer sized once for a fixed chunk length always suffices, whatever the phase.
    x = speech_segment(rate, 0.1)
    out = np.empty(it.max_output(100), dtype=np.float32)
    for s in range(0, x.shape[0] - 100, 100):
        assert it.process(x[s : s + 100], out) <= out.shape[0]


# --- fast path (plain aligned arrays) and fallback (everything else) give the same result -------


def _unaligned(a: np.ndarray) -> np.ndarray:
    """A writable copy of ``a`` whose data pointer is one byte off alignment."""
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    u = buf[1:].view(a.dtype).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned
    return u


@pytest.mark.parametrize("rate,out_rate", [(16000, None), (48000, None), UP])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_layouts_give_identical_output(pcm, rate, out_rate, dtype):
    x = speech_segment(rate, 0.1, n_channels=1)
    if dtype == np.float32:
        x = (x / np.float32(32768.0)).astype(np.float32)
    expect = one_shot(pcm, rate, x, out_rate)
    ro = x.copy()
    ro.setflags(write=False)
    relaxed = x[:, ::-1]  # (n, 1) with a negative stride on the unit axis: still C-contiguous
    assert relaxed.flags.c_contiguous
    for variant in (x[:, 0], ro, relaxed, _unaligned(x), _unaligned(x[:, 0])):
        assert np.array_equal(one_shot(pcm, rate, variant, out_rate), expect)
    # out: an offset view (as the engine passes) and an unaligned one.
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    big = np.full(it.max_output(x.shape[0]) + 3, np.nan, dtype=np.float32)
    n = it.process(x, big[3:])
    assert np.array_equal(big[3 : 3 + n], expect)
    it = pcm.Intake(rate, output_rate_hz=out_rate)
    odd = _unaligned(np.zeros(it.max_output(x.shape[0]), dtype=np.float32))
    n = it.process(x, odd)
    assert np.array_equal(odd[:n], expect)


def test_single_frame_many_channels(pcm):
    x = np.array([[1000, -2000, 3000, 4000]], dtype=np.int16)
    out = np.empty(1, dtype=np.float32)
    assert pcm.Intake(16000).process(x, out) == 1
    assert out[0] == np.float32(6000.0 / (32768.0 * 4))


@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("n_frames", [1, 7, 64, 333])
def test_nonfinite_frame_index(pcm, n_channels, n_frames):
    """The first bad frame is reported wherever it is, whatever the vector remainder."""
    it = pcm.Intake(48000)
    out = np.full(it.max_output(n_frames), 7.0, dtype=np.float32)
    for frame in sorted({0, n_frames // 2, n_frames - 1}):
        for value in (np.nan, np.inf, -np.inf):
            x = np.zeros((n_frames, n_channels), dtype=np.float32)
            x[frame, n_channels - 1] = value
            if frame + 1 < n_frames:
                x[-1, 0] = np.nan  # a later bad frame does not hide the first one
            with pytest.raises(ValueError, match=f"got NaN/inf at frame {frame}$"):
                it.process(x, out)
            with pytest.raises(ValueError, match=f"got NaN/inf at frame {frame}$"):
                it.process(x.reshape(-1) if n_channels == 1 else x, out)
    assert it.consumed == 0 and it.produced == 0 and (out == 7.0).all()


def test_bad_out_layouts_keep_their_errors(pcm):
    it = pcm.Intake(16000)
    x = np.zeros(320, dtype=np.int16)
    with pytest.raises(TypeError, match="expected out as a float32 numpy array, got >f4 array"):
        it.process(x, np.empty(320, dtype=">f4"))
    with pytest.raises(ValueError, match=r"expected out of length >= 320 \(max_output\(320\)\)"):
        it.process(x, np.empty(400, dtype=np.float32)[:319])
    with pytest.raises(TypeError, match="got memoryview"):
        it.process(x, memoryview(np.empty(320, dtype=np.float32)))
    with pytest.raises(TypeError, match="got memoryview"):
        it.process(memoryview(x), np.empty(320, dtype=np.float32))
    assert it.consumed == 0 and it.produced == 0


@pytest.mark.parametrize("rate", [16000, 44100])
def test_max_output_argument_errors(pcm, rate):
    it = pcm.Intake(rate)
    with pytest.raises(TypeError, match="n_frames must be an int, got bool True"):
        it.max_output(True)
    with pytest.raises(TypeError, match="n_frames must be an int, got str '1'"):
        it.max_output("1")
    with pytest.raises(ValueError, match=f"n_frames must be >= 0, got {-(2**70)}"):
        it.max_output(-(2**70))
    with pytest.raises(ValueError, match="n_frames must be >= 0, got -5"):
        it.max_output(np.int32(-5))
    assert it.max_output(np.uint16(441)) == it.max_output(441) == -(-441 * it.up // it.down)


# --- property tests -----------------------------------------------------------------------------


@st.composite
def signal_and_cuts(draw):
    rate, out_rate = draw(st.sampled_from([(r, None) for r in RATES] + [UP]))
    n_frames = draw(st.integers(1, 1500))
    n_channels = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, size=(n_frames, n_channels), dtype=np.int16)
    if draw(st.booleans()):  # quiet stretches and clipping, not only white noise
        x[: n_frames // 3] = 0
        x[n_frames // 2 :] = np.where(x[n_frames // 2 :] >= 0, 32767, -32768)
    sizes = draw(st.lists(st.integers(1, 600), min_size=1, max_size=60))
    return rate, out_rate, x, sizes


@HYPOTHESIS
@given(case=signal_and_cuts())
def test_property_any_chunking_equals_one_shot(pcm, case):
    rate, out_rate, x, sizes = case
    cuts, total = [], 0
    for s in sizes:
        if total >= x.shape[0]:
            break
        s = min(s, x.shape[0] - total)
        cuts.append(s)
        total += s
    if total < x.shape[0]:
        cuts.append(x.shape[0] - total)
    assert np.array_equal(run(pcm, rate, x, cuts, out_rate), one_shot(pcm, rate, x, out_rate))


_DTYPES = [np.int16, np.float32, np.float64, np.int32, np.uint8, ">i2"]


@HYPOTHESIS
@given(
    dtype=st.sampled_from(_DTYPES),
    shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
    fill=st.sampled_from([0.0, 0.5, np.nan, np.inf]),
    out_len=st.integers(0, 64),
)
def test_property_bad_input_never_crashes(pcm, dtype, shape, fill, out_len):
    """Any array either works or raises TypeError/ValueError with the state unchanged."""
    it = pcm.Intake(48000)
    warm = np.ones((5, 1), dtype=np.float32) * np.float32(0.1)
    scratch = np.empty(8, dtype=np.float32)
    it.process(warm, scratch)
    before = (it.consumed, it.produced)
    x = np.zeros(shape, dtype=dtype)
    if x.size and np.dtype(dtype).kind == "f":
        x.flat[x.size // 2] = fill
    out = np.empty(out_len, dtype=np.float32)
    try:
        n = it.process(x, out)
    except (TypeError, ValueError):
        assert (it.consumed, it.produced) == before
    else:
        assert 0 <= n <= out_len and it.consumed == before[0] + x.shape[0]
