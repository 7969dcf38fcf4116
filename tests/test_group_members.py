"""TurnEngineGroup membership (issue 13): calls join and leave between pushes; every stream
keeps exactly the events of a lone engine fed the same audio, batched network or not."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import comparable
from test_streams import streams

from turnengine import TurnEngine
from turnengine.engine import EngineClosedError
from turnengine.streams import TurnEngineGroup

CHUNK = 320  # not a whole window: each stream carries a partial window across the changes


def _lone(vad: str, audio: np.ndarray) -> list:
    engine = TurnEngine(vad=vad)
    out: list = []
    for a in range(0, audio.shape[0], CHUNK):
        out += engine.push_audio(audio[a:a + CHUNK])
    return out


@pytest.mark.parametrize("vad", ["silero", "energy"])
def test_streams_added_midway_match_lone_engines(vad):
    audio = streams(3, seconds=8.0)
    group = TurnEngineGroup(2, vad=vad)
    got: list[list] = [[], [], []]
    join = 3 * 16000 + 7 * CHUNK  # stream 2 joins after 3.14 s
    for a in range(0, audio.shape[1], CHUNK):
        if a == join:
            added = group.add_stream()
            assert added is group[2] and len(group) == 3 and not added.closed
        rows = audio[:2 if a < join else 3, a:a + CHUNK]
        for i, events in enumerate(group.push_audio(rows)):
            got[i] += events
    assert comparable(got[0]) == comparable(_lone(vad, audio[0]))
    assert comparable(got[1]) == comparable(_lone(vad, audio[1]))
    assert comparable(got[2]) == comparable(_lone(vad, audio[2, join:]))
    assert group[2].stream_time == pytest.approx((audio.shape[1] - join) / 16000)
    assert all(g for g in got)


@pytest.mark.parametrize("vad", ["silero", "energy"])
def test_a_removed_stream_is_closed_and_the_others_go_on(vad):
    audio = streams(3, seconds=8.0)
    group = TurnEngineGroup(3, vad=vad)
    got: list[list] = [[], [], []]
    leave = 2 * 16000 + 3 * CHUNK
    reports = []
    for a in range(0, audio.shape[1], CHUNK):
        if a == leave:
            leaving = group[1]
            reports.append(group.remove_stream(1))
            assert leaving.closed and len(group) == 2 and group[1] is not leaving
        keep = [0, 1, 2] if a < leave else [0, 2]
        for i, events in zip(keep, group.push_audio(audio[keep, a:a + CHUNK]), strict=True):
            got[i] += events
    assert comparable(got[0]) == comparable(_lone(vad, audio[0]))
    assert comparable(got[2]) == comparable(_lone(vad, audio[2]))
    assert comparable(got[1]) == comparable(_lone(vad, audio[1, :leave]))
    assert reports[0].duration == pytest.approx(leave / 16000, abs=512 / 16000)


def test_remove_stream_by_engine_and_its_errors():
    group = TurnEngineGroup(2, vad="energy")
    first = group[0]
    group.remove_stream(first)
    assert len(group) == 1 and first.closed
    with pytest.raises(ValueError, match="not a stream"):
        group.remove_stream(first)
    with pytest.raises(IndexError):
        group.remove_stream(5)
    with pytest.raises(ValueError, match="last stream"):
        group.remove_stream(0)
    group.add_stream()
    assert len(group.push_audio(np.zeros((2, 320), np.int16))) == 2
    with pytest.raises(EngineClosedError):
        first.push_audio(np.zeros(320, np.int16))


def test_a_closed_stream_can_be_replaced_without_stopping_the_others(clip_a03):
    pcm, _ = clip_a03
    group = TurnEngineGroup(2)
    group.push_audio(np.stack([pcm[:16000], pcm[:16000]]))
    group[0].close()  # the call hung up: skipped from now on ...
    assert group.push_audio(np.stack([pcm[16000:32000]] * 2))[0] == []
    group.remove_stream(0)  # ... and taken out; a new call takes a slot
    group.add_stream()
    out = group.push_audio([pcm[32000:], pcm])
    assert [e.type for e in out[1]] == [e.type for e in TurnEngine().push_audio(pcm)]
