"""Callbacks that call back into the engine: which list gets which event, history turned on
mid-chunk, a typed turn's callbacks, the report against subscribers that edit events, a group
pushed nothing."""

from __future__ import annotations

import numpy as np

from turnengine import TurnEngine
from turnengine.streams import TurnEngineGroup


def test_a_host_call_returns_the_events_its_callbacks_raise(clip_a03):
    engine = TurnEngine()
    engine.on("agent_state_changed",
              lambda ev: engine.push_transcript("hello", is_final=False)
              if ev.new_state == "speaking" else None)
    kinds = [e.type for e in engine.set_agent_state("speaking")]
    assert kinds == ["agent_state_changed", "user_input_transcribed"]


def test_push_audio_returns_events_of_host_calls_in_callbacks_in_time_order(clip_a03):
    pcm, _ = clip_a03
    engine = TurnEngine()
    engine.on("user_turn_completed", lambda ev: engine.agent_started_speaking())
    events = engine.push_audio(pcm)
    kinds = [e.type for e in events]
    assert kinds.index("user_turn_completed") < kinds.index("agent_state_changed")
    times = [e.stream_time for e in events]
    assert times == sorted(times)


def test_history_turned_on_inside_a_callback_records_the_rest_of_the_chunk(clip_a03):
    pcm, _ = clip_a03
    frames: dict[str, list[int]] = {"one": [], "chunked": []}
    for name, chunk in (("one", len(pcm)), ("chunked", 320)):
        engine = TurnEngine()

        def subscribe(ev, engine=engine, name=name):
            if ev.new_state == "speaking":
                engine.on("end_of_speech", lambda v: frames[name].append(len(v.frames)))

        engine.on("user_state_changed", subscribe)
        for a in range(0, len(pcm), chunk):
            engine.push_audio(pcm[a:a + chunk])
    assert frames["one"] == frames["chunked"] and frames["one"][0] > 16000


def test_a_final_transcript_from_a_typed_turns_callback_joins_the_voice_turn():
    engine = TurnEngine(turn_detection="manual")

    def on_turn(ev):
        if ev.reason == "text":
            engine.push_transcript("voice words", is_final=True)

    engine.on("user_turn_completed", on_turn)
    typed = [e for e in engine.push_text_input("typed") if e.type == "user_turn_completed"]
    voice = [e for e in engine.commit_user_turn() if e.type == "user_turn_completed"]
    assert [(t.reason, t.transcript) for t in typed + voice] == [
        ("text", "typed"), ("manual", "voice words")]


def test_a_subscriber_that_edits_a_chat_item_does_not_rewrite_the_report():
    engine = TurnEngine()
    engine.on("conversation_item_added", lambda ev: ev.item.content.append("EDITED"))
    engine.push_text_input("hi")
    items = [e["item"]["content"] for e in engine.close().events
             if e["type"] == "conversation_item_added"]
    assert items == [["hi"]]


def test_a_group_pushed_no_audio_runs_due_actions_only():
    group = TurnEngineGroup(2)
    ran: list[float] = []
    group[1].schedule(0.0, lambda e: ran.append(e.decision_time))
    assert group.push_audio([None, None]) == [[], []]
    assert ran == [0.0]
    assert [e.stream_time for e in group] == [0.0, 0.0]
    out = group.push_audio([None, np.zeros(800, np.int16)])
    assert out == [[], []] and group[1].stream_time == 0.05 and group[0].stream_time == 0.0


def test_stream_time_inside_callbacks_is_the_audio_stepped_so_far(clip_a03):
    """During a push, ``stream_time`` counts the windows the timers stepped plus the rest not
    yet stepped, never a window twice: in one whole-clip push and in a group alike."""
    pcm, _ = clip_a03
    seen: list[tuple[float, float]] = []
    engine = TurnEngine()
    engine.on("user_state_changed", lambda ev: seen.append((engine.stream_time, ev.stream_time)))
    engine.push_audio(pcm)
    total = len(pcm) / 16000
    assert seen and all(dec <= st <= total + 1e-9 for st, dec in seen), seen
    assert engine.stream_time == len(pcm) / 16000
    group = TurnEngineGroup(2)
    in_group: list[tuple[float, float]] = []
    group[1].on("user_state_changed",
                lambda ev: in_group.append((group[1].stream_time, ev.stream_time)))
    stacked = np.stack([pcm, pcm])
    for a in range(0, stacked.shape[1], 1600):
        group.push_audio(stacked[:, a:a + 1600])
    assert in_group and all(dec <= st <= total + 1e-9 for st, dec in in_group), in_group
    assert group[1].stream_time == group[0].stream_time == len(pcm) / 16000
