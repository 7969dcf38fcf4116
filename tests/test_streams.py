"""TurnEngineGroup (SPEC 10 many streams): batched VAD, per-stream events equal to lone engines."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import comparable, load_clip

from turnengine import TurnEngine
from turnengine.streams import TurnEngineGroup


def streams(n: int, seconds: float = 6.0) -> np.ndarray:
    """n different real-speech streams: the clip shifted and scaled per stream, plus silence."""
    pcm, _ = load_clip("C2_composed_real_multi_clean")
    length = int(seconds * 16000)
    rows = []
    for i in range(n):
        start = (i * 7919) % (len(pcm) - length)
        row = pcm[start:start + length].astype(np.float32) * (0.5 + 0.5 * (i % 3) / 2)
        rows.append(np.clip(row, -32768, 32767).astype(np.int16))
    return np.stack(rows)


@pytest.mark.parametrize("vad", ["silero", "energy"])
def test_group_events_equal_lone_engines(vad):
    audio = streams(6)
    group = TurnEngineGroup(6, vad=vad)
    assert group.batched == (vad == "silero")
    got = [[] for _ in range(6)]
    for a in range(0, audio.shape[1], 320):
        for i, ev in enumerate(group.push_audio(audio[:, a:a + 320])):
            got[i] += ev
    for i in range(6):
        lone = TurnEngine(vad=vad)
        want = []
        for a in range(0, audio.shape[1], 320):
            want += lone.push_audio(audio[i, a:a + 320])
        assert comparable(got[i]) == comparable(want), i
    assert sum(len(g) for g in got) > 6


def test_ragged_chunks_and_skipped_streams():
    audio = streams(3)
    group = TurnEngineGroup(3)
    lone = [TurnEngine() for _ in range(3)]
    sizes = [(100, 700, 1600), (1600, None, 33), (512, 512, None)]
    pos = [0, 0, 0]
    got: list[list] = [[], [], []]
    want: list[list] = [[], [], []]
    for _ in range(40):
        for step in sizes:
            chunks = []
            for i, size in enumerate(step):
                if size is None:
                    chunks.append(None)
                    continue
                chunk = audio[i, pos[i]:pos[i] + size]
                pos[i] += size
                chunks.append(chunk)
                want[i] += lone[i].push_audio(chunk) if chunk.size else []
            if any(c is not None and c.size == 0 for c in chunks):
                break
            for i, ev in enumerate(group.push_audio(chunks)):
                got[i] += ev
    for i in range(3):
        assert comparable(got[i]) == comparable(want[i])


def test_bad_input_leaves_every_stream_unchanged():
    group = TurnEngineGroup(2)
    group.push_audio(np.zeros((2, 1000), np.int16))
    before = [(e.stream_time, e.decision_time) for e in group]
    with pytest.raises(ValueError, match="shape"):
        group.push_audio(np.zeros((3, 100), np.int16))
    with pytest.raises(ValueError, match="NaN"):
        group.push_audio([np.zeros(100, np.float32), np.array([np.nan] * 100, np.float32)])
    with pytest.raises(ValueError, match="2 chunks"):
        group.push_audio([np.zeros(10, np.int16)])
    assert [(e.stream_time, e.decision_time) for e in group] == before
    with pytest.raises(ValueError):
        TurnEngineGroup(0)
    with pytest.raises(RuntimeError, match="through the group"):
        group[0].push_audio(np.zeros(512, np.int16))


def test_host_calls_per_stream():
    audio = streams(2)
    group = TurnEngineGroup(2, aec_warmup_duration=None)
    group[1].agent_started_speaking()
    kinds: list[list[str]] = [[], []]
    for a in range(0, audio.shape[1], 320):
        for i, ev in enumerate(group.push_audio(audio[:, a:a + 320])):
            kinds[i] += [e.type for e in ev]
    assert "agent_interrupted" not in kinds[0] and "agent_interrupted" in kinds[1]
    reports = group.close()
    assert len(reports) == 2 and reports[0].to_dict()["duration"] > 5


def test_group_shares_one_end_of_turn_model():
    group = TurnEngineGroup(3, turn_detector="smart-turn", eot_executor="inline")
    models = {id(engine.eot_model) for engine in group}
    assert len(models) == 1 and group[0].eot_model is not None


def test_streams_that_need_python_midway_match_lone_engines():
    """A stream that subscribes to a VAD event or schedules host actions during the call leaves
    the group's one-call path for Python and gives exactly a lone engine's events."""
    audio = streams(3)
    group = TurnEngineGroup(3, aec_warmup_duration=None)
    lone = [TurnEngine(aec_warmup_duration=None) for _ in range(3)]
    seen: list[list[float]] = [[] for _ in range(6)]
    got: list[list] = [[], [], []]
    want: list[list] = [[], [], []]
    for a in range(0, audio.shape[1], 320):
        if a == 16000:  # 1 s in: stream 1 listens to inference_done, stream 2 plans the agent
            for k, engine in enumerate((group[1], lone[1])):
                engine.on("inference_done", lambda ev, k=k: seen[k].append(ev.timestamp))
            for engine in (group[2], lone[2]):
                engine.schedule(1.5, lambda e: e.agent_started_speaking())
                engine.schedule(3.5, lambda e: e.agent_stopped_speaking("hi"))
        for i, ev in enumerate(group.push_audio(audio[:, a:a + 320])):
            got[i] += ev
        for i in range(3):
            want[i] += lone[i].push_audio(audio[i, a:a + 320])
    for i in range(3):
        assert comparable(got[i]) == comparable(want[i]), i
    assert seen[0] == seen[1] and len(seen[0]) > 100
    assert any(e.type == "agent_state_changed" for e in got[2])
