"""The one PCM ring (turnengine/audio_ring.py): the engine's float32 history and the LiveKit
adapter's int16 input audio."""

from __future__ import annotations

import numpy as np
import pytest

from turnengine.audio_ring import AudioRing


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_appends_wrap_and_keep_the_latest_capacity_samples(dtype):
    ring = AudioRing(10, dtype=dtype)
    signal = np.arange(37).astype(dtype)
    for chunk in np.array_split(signal, [3, 4, 15, 21, 22]):
        ring.append(chunk)
    assert ring.end == 37 and ring.available_from == 27 and ring.capacity == 10
    got = ring.between(0, 100)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, signal[27:])
    np.testing.assert_array_equal(ring.between(30, 33), signal[30:33])
    assert ring.between(40, 50).shape == (0,) and ring.between(5, 5).shape == (0,)


def test_record_at_a_gap_forgets_what_came_before():
    ring = AudioRing(8, start=100)
    ring.record(np.ones(4, np.float32), 100)
    ring.record(np.full(2, 2.0, np.float32), 110)
    assert ring.available_from == 110 and ring.end == 112
    np.testing.assert_array_equal(ring.between(100, 112), [2.0, 2.0])


@pytest.mark.parametrize("capacity", [3, 10, 50])
def test_resized_keeps_the_latest_samples_it_holds(capacity):
    ring = AudioRing(10, dtype=np.int16)
    ring.append(np.arange(25, dtype=np.int16))
    bigger = ring.resized(capacity)
    assert bigger.end == 25 and bigger.capacity == capacity
    np.testing.assert_array_equal(bigger.between(0, 25), np.arange(max(15, 25 - capacity), 25))
    bigger.append(np.arange(25, 30, dtype=np.int16))
    np.testing.assert_array_equal(bigger.between(0, 30), np.arange(max(15, 30 - capacity), 30))


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        AudioRing(0)
