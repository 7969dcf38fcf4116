"""Callbacks that call back into the engine: which list gets which event, history turned on
mid-chunk, a typed turn's callbacks, the report against subscribers that edit events, a group
pushed nothing; callbacks and actions that raise KeyboardInterrupt/SystemExit mid-push (no
window processed twice or skipped)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import comparable

from turnengine import SESSION_EVENTS, TurnEngine
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


# -- a callback that raises (KeyboardInterrupt, SystemExit) mid-push ------------------------------
class _Interrupts:
    """Pushes a clip in chunks; the ``nth`` ``name`` event's callback (or a scheduled action)
    raises ``exc`` once.  Keeps every event in emission order, and which were emitted during
    calls that raised (their returned list never reaches the host)."""

    def __init__(self, pcm, chunk, name=None, nth=1, exc=KeyboardInterrupt, action_at=None,
                 finish="push"):
        self.engine = engine = TurnEngine(keep_window_log=True)
        self.emitted: list = []
        self.lost: list = []
        self.raised = 0
        seen = [0]

        def raise_once(payload):
            seen[0] += 1
            if seen[0] == nth:
                raise exc("from a callback")

        for kind in SESSION_EVENTS:
            engine.on(kind, self.emitted.append)
        if name is not None:
            engine.on(name, raise_once)
        if action_at is not None:
            engine.schedule(action_at, raise_once)
        self.returned: list = []
        for a in range(0, len(pcm), chunk):
            self._call(lambda a=a: engine.push_audio(pcm[a:a + chunk]))
        if finish == "advance":
            self._call(lambda: engine.advance(0.0))
        self._call(engine.flush)
        self.report = engine.close()

    def _call(self, call):
        before = len(self.emitted)
        try:
            self.returned += call()
        except (KeyboardInterrupt, SystemExit):
            self.raised += 1
            self.lost += self.emitted[before:]


@pytest.mark.parametrize("chunk", [10**7, 16000, 4000, 320])
@pytest.mark.parametrize(("name", "nth", "exc"), [
    ("user_state_changed", 2, KeyboardInterrupt), ("user_turn_completed", 1, KeyboardInterrupt),
    ("metrics_collected", 3, SystemExit), ("conversation_item_added", 2, KeyboardInterrupt),
    ("inference_done", 40, KeyboardInterrupt), ("end_of_speech", 1, KeyboardInterrupt)])
def test_a_raising_callback_neither_repeats_nor_skips_audio(clip_dialogue, chunk, name, nth,
                                                            exc):
    """The exception gets out of push_audio; every event still happens exactly once (the
    report, the window log and stream_time equal a run whose callback did not raise), and the
    calls that did not raise return every event but those of the calls that did."""
    pcm, _ = clip_dialogue
    calm = _Interrupts(pcm, chunk)
    run = _Interrupts(pcm, chunk, name, nth, exc)
    assert run.raised == 1 and calm.raised == 0
    assert comparable(run.report.events) == comparable(calm.report.events)
    assert comparable(run.emitted) == comparable(calm.emitted)
    kept = [e for e in run.emitted if not any(e is x for x in run.lost)]
    assert comparable(run.returned) == comparable(kept)
    log, calm_log = run.engine.window_log(), calm.engine.window_log()
    assert log.flags.tolist() == calm_log.flags.tolist()
    assert log.probability.tolist() == calm_log.probability.tolist()  # the VAD ran once a window
    assert run.engine.stream_time == calm.engine.stream_time == len(pcm) / 16000


@pytest.mark.parametrize("finish", ["push", "advance"])
def test_a_raising_scheduled_action_stops_after_its_window(clip_dialogue, finish):
    pcm, _ = clip_dialogue
    calm = _Interrupts(pcm[:12 * 16000], 10**7, action_at=7.0)  # (an action that returns)
    for chunk in (10**7, 5000):
        run = _Interrupts(pcm[:12 * 16000], chunk, action_at=7.0, nth=1, finish=finish)
        assert run.raised == 1
        assert comparable(run.report.events) == comparable(calm.report.events)
        assert run.engine.window_log().flags.tolist() == calm.engine.window_log().flags.tolist()


def test_after_the_exception_the_engine_stands_at_the_window_that_raised(clip_dialogue):
    pcm, _ = clip_dialogue
    engine = TurnEngine()
    engine.on("user_state_changed", lambda ev: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        engine.push_audio(pcm)
    (first,) = [e for e in engine.close().events if e["type"] == "user_state_changed"]
    assert engine.decision_time == first["stream_time"] < engine.stream_time == len(pcm) / 16000
    engine = TurnEngine()
    stops: list[float] = []
    engine.on("user_state_changed", lambda ev: (_ for _ in ()).throw(KeyboardInterrupt))
    for _ in range(100):  # each call finishes what the last one left, up to the next raise
        try:
            engine.advance(0.0) if stops else engine.push_audio(pcm)
            break
        except KeyboardInterrupt:
            stops.append(engine.decision_time)
    assert stops == sorted(stops) and len(stops) > 2
    changes = [e["stream_time"] for e in engine.close().events
               if e["type"] == "user_state_changed"]
    assert stops == changes and engine.decision_time == len(pcm) // 512 * 512 / 16000


def test_host_calls_raise_what_their_callbacks_raise_once_done():
    engine = TurnEngine()
    engine.on("agent_state_changed", lambda ev: (_ for _ in ()).throw(KeyboardInterrupt))
    heard: list[str] = []
    engine.on("agent_state_changed", lambda ev: heard.append(ev.new_state))
    with pytest.raises(KeyboardInterrupt):
        engine.set_agent_state("speaking")
    assert heard == ["speaking"] and engine.agent_state == "speaking"  # every subscriber ran
    with pytest.raises(KeyboardInterrupt):
        engine.agent_stopped_speaking("hello")
    assert engine.agent_state == "listening"
    assert [m.content for m in engine.close().chat_history] == [["hello"]]
    engine = TurnEngine()
    engine.on("options_updated", lambda ev: (_ for _ in ()).throw(SystemExit))
    with pytest.raises(SystemExit):
        engine.update_options(min_endpointing_delay=1.0)
    assert engine.options.min_endpointing_delay == 1.0


def test_a_nested_host_calls_callback_raises_out_of_the_push(clip_a03):
    """A callback's host call whose own callback raises: the push raises after that window."""
    pcm, _ = clip_a03
    reports = []
    for raising in (False, True):
        engine = TurnEngine()
        engine.on("user_state_changed", lambda ev, e=engine: e.agent_started_speaking()
                  if ev.new_state == "speaking" else None)
        if raising:
            engine.on("agent_state_changed", lambda ev: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            engine.push_audio(pcm[:40000])
        except KeyboardInterrupt:
            assert engine.agent_state == engine.user_state == "speaking"
            assert engine.decision_time < engine.stream_time == 2.5
        rest = engine.push_audio(pcm[40000:])
        assert [e.new_state for e in rest if e.type == "user_state_changed"] == ["listening"]
        reports.append(comparable(engine.close().events))
    assert reports[0] == reports[1]


def test_options_changed_after_the_exception_apply_where_the_engine_stopped(clip_dialogue):
    """update_options between the exception and the next push equals the same update made
    in the callback that raised: both take effect at the window that raised."""
    pcm, _ = clip_dialogue
    change = dict(activation_threshold=0.8, min_silence_duration=0.3)
    runs = []
    for raising in (False, True):
        engine = TurnEngine()
        n = [0]

        def on_state(ev, engine=engine, raising=raising, n=n):
            n[0] += 1
            if n[0] == 3:
                if raising:
                    raise KeyboardInterrupt
                engine.update_options(**change)

        engine.on("user_state_changed", on_state)
        try:
            engine.push_audio(pcm)
        except KeyboardInterrupt:
            engine.update_options(**change)
        engine.flush()
        runs.append(comparable(engine.close().events))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("chunk", [16000, 4000, 320])
def test_a_group_finishes_every_stream_before_a_callback_exception_leaves(chunk):
    """Stream 1's callback raises KeyboardInterrupt on its second state change: the push raises,
    and every stream's events (as its callbacks saw them) equal a lone engine's."""
    from conftest import load_clip

    pcm, _ = load_clip("C2_composed_real_multi_clean")
    pcm = pcm[: 12 * 16000]
    shifts = [0, 3200, 8000]
    rows = [np.roll(pcm, s) for s in shifts]
    want = []
    for row in rows:
        lone = TurnEngine()
        seen: list = []
        for kind in SESSION_EVENTS:
            lone.on(kind, seen.append)
        for a in range(0, len(row), chunk):
            lone.push_audio(row[a:a + chunk])
        want.append(comparable(seen))
    group = TurnEngineGroup(3)
    got: list[list] = [[], [], []]
    for i, engine in enumerate(group):
        for kind in SESSION_EVENTS:
            engine.on(kind, got[i].append)
    count = [0]

    def raise_second(_):
        count[0] += 1
        if count[0] == 2:
            raise KeyboardInterrupt("from a callback")

    group[1].on("user_state_changed", raise_second)
    raised = 0
    for a in range(0, len(pcm), chunk):
        try:
            group.push_audio(np.stack([row[a:a + chunk] for row in rows]))
        except KeyboardInterrupt:
            raised += 1
    assert raised == 1
    assert [comparable(g) for g in got] == want
