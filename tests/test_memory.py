"""Bounded memory in endless sessions (issue 13): the report keeps a capped history with exact
totals, the window log is a ring, ``events()`` queues are bounded (drop-oldest, counted) and
released when their iterator is dropped or closed.  The 24 h run is
``benchmarks/bench_long_session.py``."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections import Counter

import numpy as np
import pytest
from conftest import comparable

from turnengine import TurnEngine


def _replay(engine: TurnEngine, pcm: np.ndarray, chunk: int = 320) -> list:
    events = []
    for a in range(0, len(pcm), chunk):
        events += engine.push_audio(pcm[a:a + chunk])
    return events


# -- the report ------------------------------------------------------------------------------------
def test_the_report_keeps_the_newest_events_and_exact_totals(clip_dialogue):
    pcm, _ = clip_dialogue
    engine = TurnEngine(max_report_events=10)
    events = _replay(engine, pcm)
    report = engine.close().to_dict()
    kept = [e for e in events if e.type != "metrics_collected"]
    assert len(kept) > 20
    assert comparable(report["events"]) == comparable(kept[-10:])
    assert report["history"] == {"max_events": 10, "events_dropped": len(kept) - 10,
                                 "chat_items_dropped": 0}
    assert report["event_counts"] == dict(Counter(e.type for e in events))
    turns = sum(e.type == "user_turn_completed" for e in events)
    assert report["usage"]["eou_turns"] == turns == len(report["chat_history"]["items"])


def test_the_default_cap_bounds_events_and_chat_items():
    engine = TurnEngine(vad="energy")
    n = 6000  # each typed turn: user_turn_completed, EOUMetrics, conversation_item_added
    for i in range(n):
        engine.push_text_input(f"message {i}")
    report = engine.close().to_dict()
    assert len(report["events"]) == 5000
    items = report["chat_history"]["items"]
    assert len(items) == 5000 and items[-1]["content"] == [f"message {n - 1}"]
    assert report["history"]["chat_items_dropped"] == n - 5000
    assert report["event_counts"]["user_turn_completed"] == n
    assert report["usage"]["eou_turns"] == n


def test_max_report_events_none_keeps_everything_and_bad_values_are_refused():
    engine = TurnEngine(vad="energy", max_report_events=None)
    for i in range(5100):
        engine.push_text_input(f"m{i}")
    report = engine.close().to_dict()
    assert len(report["events"]) == 2 * 5100 and report["history"]["events_dropped"] == 0
    with pytest.raises(ValueError, match="max_report_events"):
        TurnEngine(max_report_events=0)
    with pytest.raises(TypeError, match="max_report_events"):
        TurnEngine(max_report_events=True)


# -- the window log --------------------------------------------------------------------------------
def test_the_window_log_is_a_ring_of_the_newest_windows(clip_dialogue):
    pcm, _ = clip_dialogue
    full, ring = TurnEngine(keep_window_log=10_000), TurnEngine(keep_window_log=100)
    for engine in (full, ring):
        _replay(engine, pcm[:512 * 312], chunk=777)
        engine.advance(1.0)  # a gap in the clock: ends are kept, not derived
        _replay(engine, pcm[512 * 312:], chunk=100_000)  # a chunk longer than the ring
    whole, tail = full.window_log(), ring.window_log()
    assert whole.end_time.shape == (len(pcm) // 512,)
    assert tail.end_time.shape == (100,)
    for field in ("end_time", "probability", "smoothed", "speaking", "flags", "runs"):
        assert np.array_equal(getattr(tail, field), getattr(whole, field)[-100:]), field
    assert tail.start_sample == int(round(whole.end_time[-100] * 16000)) - 512
    drained = ring.drain_window_log()
    assert np.array_equal(drained.end_time, tail.end_time)
    assert ring.window_log().end_time.shape == (0,) and ring.last_probability is None
    ring.push_audio(pcm[:1024])
    after = ring.drain_window_log().end_time
    assert after.shape[0] >= 2 and after[0] > tail.end_time[-1]


def test_keep_window_log_true_has_a_documented_length_and_bad_values_are_refused():
    from turnengine._core.window_log import DEFAULT_WINDOW_LOG_LENGTH

    engine = TurnEngine(vad="energy", keep_window_log=True)  # 10 ms windows
    chunk = np.zeros(16000 * 60, np.int16)  # a minute: 6,000 windows
    for _ in range(DEFAULT_WINDOW_LOG_LENGTH // 6000 + 2):
        engine.push_audio(chunk)
    log = engine.window_log()
    assert log.end_time.shape == (DEFAULT_WINDOW_LOG_LENGTH,)
    assert log.end_time[-1] == pytest.approx(engine.decision_time)
    drained = TurnEngine(vad="energy", keep_window_log=True)  # a live display's reader
    for _ in range(20):
        drained.push_audio(chunk[:16000 * 5])
        assert drained.drain_window_log().end_time.shape == (500,)
    assert drained._window_log is not None and drained._window_log._cap == 1024  # 34 kB
    with pytest.raises(ValueError, match="keep_window_log"):
        TurnEngine(keep_window_log=0)
    with pytest.raises(TypeError, match="keep_window_log"):
        TurnEngine(keep_window_log=1.5)  # type: ignore[arg-type]


# -- events() queues -------------------------------------------------------------------------------
def test_an_unread_events_iterator_keeps_the_newest_events_and_counts_the_rest(clip_dialogue,
                                                                               caplog):
    pcm, _ = clip_dialogue

    async def main():
        engine = TurnEngine()
        stream = engine.events(max_queue=5)
        with caplog.at_level(logging.WARNING, logger="turnengine"):
            pushed = _replay(engine, pcm)
        engine.close()
        got = [ev async for ev in stream]
        return pushed, got, stream.dropped

    pushed, got, dropped = asyncio.run(main())
    assert len(pushed) > 10
    assert got == pushed[-5:] and dropped == len(pushed) - 5
    assert caplog.text.count("not keeping up") == 1


def test_events_queues_are_bounded_by_default():
    async def main():
        engine = TurnEngine(vad="energy")
        stream = engine.events()
        for i in range(1500):  # 3 events each
            engine.push_text_input(f"m{i}")
        return stream.qsize(), stream.dropped

    size, dropped = asyncio.run(main())
    assert size == 1000 and dropped == 3 * 1500 - 1000


def test_a_dropped_or_closed_events_iterator_is_released():
    async def main():
        engine = TurnEngine(vad="energy")
        dropped_unread = engine.events()
        ref = weakref.ref(dropped_unread)
        del dropped_unread
        gc.collect()
        closed = engine.events()
        engine.push_text_input("one")
        await closed.aclose()
        left = engine.events()
        engine.push_text_input("three")
        async for _ in left:
            break  # broken out of and let go
        del left
        gc.collect()
        engine.push_text_input("two")
        return ref() is None, [e async for e in closed], engine._bus._streams

    freed, after_close, streams = asyncio.run(main())
    assert freed and after_close == [] and streams == ()


def test_events_max_queue_is_checked():
    async def main():
        engine = TurnEngine(vad="energy")
        with pytest.raises(ValueError, match="max_queue"):
            engine.events(max_queue=0)
        with pytest.raises(TypeError, match="max_queue"):
            engine.events(max_queue=None)  # type: ignore[arg-type]

    asyncio.run(main())


def test_events_from_another_thread_are_bounded_while_the_loop_does_not_run():
    """A consumer loop that stopped running (but is not closed) gets at most ``max_queue``
    events handed over; the rest are dropped at the producer, not queued as loop callbacks."""
    engine = TurnEngine(vad="energy")
    loop = asyncio.new_event_loop()
    try:
        async def subscribe():
            return engine.events(max_queue=10)

        stream = loop.run_until_complete(subscribe())
        pushed = [e for i in range(20) for e in engine.push_text_input(f"m{i}")]
        loop.run_until_complete(asyncio.sleep(0))  # the loop runs again: takes what it was given
        engine.close()

        async def read():
            return [e async for e in stream]

        got = loop.run_until_complete(read())
    finally:
        loop.close()
    assert got == pushed[:10] and stream.dropped == len(pushed) - 10


def test_unread_stt_gate_audio_is_bounded_by_the_audio_history(clip_dialogue, caplog):
    pcm, _ = clip_dialogue
    audio = np.tile(pcm, 4)  # about 80 s of speech
    read, unread = TurnEngine(stt_gate=True), TurnEngine(stt_gate=True)
    forwarded = 0
    with caplog.at_level(logging.WARNING, logger="turnengine"):
        for a in range(0, len(audio), 16000):
            read.push_audio(audio[a:a + 16000])
            forwarded += sum(len(x) for x in read.stt_audio())
            unread.push_audio(audio[a:a + 16000])
    assert read._session.gate.dropped_samples == 0 and forwarded > 70 * 16000
    left = sum(len(x) for x in unread.stt_audio())
    cap = int((0.5 + 60.0 + 0.55) * 16000) + 2 * 512
    assert cap - 16000 <= left <= cap
    assert unread._session.gate.dropped_samples == forwarded - left
    assert caplog.text.count("stt_audio() is not being read") == 1
