"""One engine used from several threads (issue 13): every call runs whole under the engine's
lock, so no audio is lost or doubled, host calls from another thread are safe, and a call racing
``close()`` never adds events the report misses.  No timing is asserted: the thread switch
interval is made tiny so that, without the lock, the threads interleave inside calls."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import comparable

from turnengine import TurnEngine
from turnengine.engine import EngineClosedError
from turnengine.streams import TurnEngineGroup


@contextmanager
def tiny_switch_interval() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(*targets: Callable[[], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    with tiny_switch_interval():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors


def test_two_threads_pushing_into_one_engine_lose_and_double_nothing(clip_dialogue):
    pcm, _ = clip_dialogue
    engine = TurnEngine(vad="energy")
    engine.on("user_state_changed", lambda ev: None)  # some Python per window step
    chunks = [pcm[a:a + 320] for a in range(0, 320 * 1500, 320)]
    returned: list[list] = [[], []]

    def pusher(k: int) -> Callable[[], None]:
        def push() -> None:
            for chunk in chunks:
                returned[k].extend(engine.push_audio(chunk))
        return push

    errors = run_threads(pusher(0), pusher(1))
    assert errors == []
    pushed = 2 * sum(len(c) for c in chunks)
    assert engine.stream_time * 16000 == pushed  # every sample once
    usage = engine.close().usage
    assert usage["vad_inference_count"] <= pushed // 160
    for events in returned:
        times = [e.stream_time for e in events]
        assert times == sorted(times)


def test_host_calls_from_another_thread_while_audio_flows(clip_dialogue):
    """The usual host: audio from an audio thread, agent state from the asyncio loop's."""
    pcm, _ = clip_dialogue
    engine = TurnEngine(vad="energy")
    returned: list = []

    def audio() -> None:
        for a in range(0, len(pcm), 320):
            returned.append(("audio", engine.push_audio(pcm[a:a + 320])))

    def host() -> None:
        for i in range(2000):
            state = "speaking" if i % 2 == 0 else "listening"
            returned.append(("host", engine.set_agent_state(state)))

    errors = run_threads(audio, host)
    assert errors == []
    assert engine.stream_time * 16000 == len(pcm)
    for who, events in returned:
        times = [e.stream_time for e in events]
        assert times == sorted(times)
        if who == "host":  # a host call returns its own events, none of the audio's
            assert {e.type for e in events} <= {"agent_state_changed", "agent_interrupted",
                                                "agent_false_interruption"}
    report = engine.close().to_dict()
    every = [e for _, events in returned for e in events if e.type != "metrics_collected"]
    assert sorted(comparable(report["events"]), key=repr) == sorted(comparable(every), key=repr)


def test_a_push_racing_close_lands_in_the_report_or_raises(clip_a03):
    """``close()`` from another thread while a push is inside a callback: the close waits for
    the push, so the report has every event the push returned (before, the report was built
    mid-push and the turn that followed was missing)."""
    pcm, _ = clip_a03
    engine = TurnEngine()
    inside, proceed = threading.Event(), threading.Event()

    def on_state(ev) -> None:
        if ev.new_state == "speaking":
            inside.set()
            proceed.wait(5.0)

    engine.on("user_state_changed", on_state)
    got: dict = {}

    def push() -> None:
        got["events"] = engine.push_audio(pcm)

    def close() -> None:
        inside.wait(5.0)
        closer = threading.Thread(target=lambda: got.setdefault("report", engine.close()))
        closer.start()
        closer.join(0.2)  # (without the lock, close() finishes here, mid-push)
        proceed.set()
        closer.join()

    assert run_threads(push, close) == []
    kept = [e for e in got["events"] if e.type != "metrics_collected"]
    assert "user_turn_completed" in {e.type for e in kept}
    assert comparable(got["report"].to_dict()["events"]) == comparable(kept)
    with pytest.raises(EngineClosedError):
        engine.push_audio(pcm[:320])


def test_group_pushes_and_host_calls_on_its_streams_from_another_thread(clip_dialogue):
    pcm, _ = clip_dialogue
    audio = np.stack([pcm, pcm[::-1].copy()])
    group = TurnEngineGroup(2)
    lone = [TurnEngine(), TurnEngine()]
    got: list[list] = [[], []]
    hosts: list = []
    for engine in group:  # every window through Python: calls overlap often without the lock
        engine.on("inference_done", lambda ev: None)

    done = threading.Event()

    def push() -> None:
        for a in range(0, audio.shape[1], 320):
            for k, events in enumerate(group.push_audio(audio[:, a:a + 320])):
                got[k] += events
        done.set()

    def host() -> None:
        i = 0
        while not done.is_set():
            hosts.append(group[i % 2].set_agent_state("thinking" if i % 4 < 2 else "listening"))
            i += 1

    assert run_threads(push, host) == []
    assert [e.stream_time for e in group] == [audio.shape[1] / 16000] * 2
    for k in range(2):  # each push's list: its own events, in time order, its audio once
        times = [e.stream_time for e in got[k]]
        assert times == sorted(times)
        assert group[k].close().usage["vad_inference_count"] <= audio.shape[1] // 512
        assert {e.type for e in got[k]} <= {e.type for e in lone[k].push_audio(audio[k])}
    assert {e.type for events in hosts for e in events} == {"agent_state_changed"}
