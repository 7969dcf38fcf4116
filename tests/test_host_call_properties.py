"""Random host-call sequences (issue 13, done-when 2): any sequence of host calls on an engine fed
real speech and silence, callbacks and scheduled actions that call back into it included, keeps
every invariant after every call (what is checked: tests/host_call_harness.py).

Sequences mix ``push_audio`` (random chunk sizes; int16, float32, bytes, memoryviews, strided
and stereo arrays; 8, 16 and 48 kHz), ``advance``, ``set_agent_state`` (with and without
``allow_interruptions``), ``agent_stopped_speaking``, ``push_transcript`` (interim and final),
``push_text_input``, ``commit_user_turn``, ``mark_backchannel``, ``schedule`` (actions that make
host calls), ``flush``, ``check_audio_stall`` (with and without the watchdog), ``update_options``
and subscriptions made mid-stream, on engines with ``endpointing_start`` "silence" and
"end_of_speech", the three ``turn_detection`` modes, and sometimes a scripted end-of-turn model
(``turn_detector="smart-turn"``, inline executor).

The CI run is small (``TURNENGINE_HOST_CALL_EXAMPLES``, default 200 sequences of at most
``TURNENGINE_HOST_CALL_OPS``, default 12, ops).  A long run::

    TURNENGINE_HOST_CALL_EXAMPLES=5000 TURNENGINE_HOST_CALL_OPS=30 \\
        python -m pytest tests/test_host_call_properties.py --hypothesis-show-statistics
"""

from __future__ import annotations

import atexit
import logging
import os
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pytest
from host_call_harness import AUDIO_FORMATS, REACTIONS, VAD_EVENTS, HostCallRun
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_endpointing import ScriptedModel

from turnengine.engine import SESSION_EVENTS
from turnengine.events import AGENT_STATES

EXAMPLES = int(os.environ.get("TURNENGINE_HOST_CALL_EXAMPLES", "200"))
MAX_OPS = int(os.environ.get("TURNENGINE_HOST_CALL_OPS", "12"))

SUBSCRIBABLE = SESSION_EVENTS + VAD_EVENTS
#: The events that happen most often, drawn three times as often (callbacks need events).
FREQUENT = ("user_state_changed", "agent_state_changed", "metrics_collected", "inference_done",
            "user_input_transcribed", "conversation_item_added")
callbacks = st.tuples(st.sampled_from(SUBSCRIBABLE + 2 * FREQUENT), st.sampled_from(REACTIONS),
                      st.booleans())


@st.composite
def configs(draw) -> dict:
    eot = draw(st.sampled_from([False, False, True]))
    options = {
        "endpointing_start": draw(st.sampled_from(["silence", "end_of_speech"])),
        "turn_detection": draw(st.sampled_from(["vad", "vad", "stt", "manual"])),
        "min_endpointing_delay": draw(st.sampled_from([0.2, 0.5, 1.0])),
        "user_away_timeout": draw(st.sampled_from([None, 1.0, 15.0])),
        "false_interruption_timeout": draw(st.sampled_from([None, 0.5, 2.0])),
        "min_interruption_duration": draw(st.sampled_from([0.2, 0.5])),
        "min_interruption_words": draw(st.sampled_from([0, 0, 2])),
        "allow_interruptions": draw(st.booleans()),
        "resume_false_interruption": draw(st.booleans()),
        "aec_warmup_duration": draw(st.sampled_from([None, 3.0])),
        "endpointing_mode": draw(st.sampled_from(["fixed", "fixed", "dynamic"])),
    }
    if eot:
        options["eot_prediction_interval"] = draw(st.sampled_from([None, 0.2]))
        options["eager_eot_threshold"] = draw(st.sampled_from([None, 0.5]))
    probs = draw(st.lists(st.sampled_from([0.05, 0.3, 0.6, 0.95]), min_size=1, max_size=4))
    return {
        "sample_rate": draw(st.sampled_from([16000] * 6 + [8000, 48000])),
        "vad": draw(st.sampled_from(["silero", "silero", "energy"])),
        "eot": ScriptedModel(*probs) if eot else None,
        "options": options,
        "stt_gate": draw(st.booleans()),
        "window_log": draw(st.booleans()),
        "watchdog": draw(st.booleans()),
        "callbacks": draw(st.lists(callbacks, min_size=int(draw(st.integers(0, 4)) > 0),
                                   max_size=4)),
        "seed": draw(st.integers(0, 2**16)),
    }


durations = st.sampled_from([0.001, 0.02, 0.1, 0.3, 0.7, 1.5, 3.0, 3.0, 6.0])
audio = st.tuples(st.just("audio"), st.sampled_from(["speech", "speech", "silence", "noise"]),
                  durations, st.sampled_from([0, 1, 7, 160, 320, 511, 512, 1000, 4000]),
                  st.sampled_from(AUDIO_FORMATS))
ops = st.one_of(
    audio, audio, audio,  # (one op in four pushes audio: callbacks need events)
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.001, 0.03, 0.25, 0.6, 1.0, 3.5, 16.0])),
    st.tuples(st.just("agent"), st.sampled_from(AGENT_STATES),
              st.sampled_from([None, True, False])),
    st.tuples(st.just("agent_stopped"), st.sampled_from([None, "reply"]), st.booleans()),
    st.tuples(st.just("transcript"), st.sampled_from(["", "mm-hm", "yes", "wait stop"]),
              st.booleans(), st.sampled_from([None, 0.4, 1.0])),
    st.tuples(st.just("text"), st.sampled_from(["hi", "I typed this"])),
    st.tuples(st.just("commit")),
    st.tuples(st.just("backchannel")),
    st.tuples(st.just("flush")),
    st.tuples(st.just("stall"), st.sampled_from([0.0, 100.0])),
    st.tuples(st.just("schedule"), st.sampled_from([-1.0, 0.0, 0.1, 0.5, 2.0]),
              st.sampled_from(REACTIONS)),
    st.tuples(st.just("subscribe"), st.sampled_from(SUBSCRIBABLE), st.sampled_from(REACTIONS),
              st.booleans()),
    st.sampled_from([("options", name, value) for name, values in {
        "min_silence_duration": (0.3, 0.55, 0.9), "min_speech_duration": (0.05, 0.2),
        "activation_threshold": (0.4, 0.6), "min_endpointing_delay": (0.2, 0.5, 1.0),
        "user_away_timeout": (None, 1.0, 15.0), "turn_detection": ("vad", "stt", "manual"),
        "endpointing_start": ("silence", "end_of_speech"), "allow_interruptions": (True, False),
        "false_interruption_timeout": (None, 0.5), "min_interruption_duration": (0.2, 0.5),
    }.items() for value in values]),
)


@contextmanager
def quiet_engine_logs():
    """The engine logs every callback that raises; thousands of tracebacks are noise here."""
    log = logging.getLogger("turnengine")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


#: Totals over the examples run (printed at exit with TURNENGINE_HOST_CALL_TOTALS=1).
TOTALS: Counter[str] = Counter()
if os.environ.get("TURNENGINE_HOST_CALL_TOTALS"):
    atexit.register(lambda: print(f"\nhost-call property test totals: {dict(TOTALS)}"))


def _bucket(n: int) -> str:
    return next((f"<= {b}" for b in (0, 5, 20, 50, 100) if n <= b), "> 100")


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=configs(), sequence=st.lists(ops, min_size=1, max_size=MAX_OPS),
       talk_first=st.booleans())
def test_any_host_call_sequence_keeps_the_invariants(config, sequence, talk_first):
    run = HostCallRun(config)
    if talk_first:  # the user says something first (the callbacks get events to react to)
        sequence = [("audio", "speech", 3.0, 320, "int16"), *sequence]
    with quiet_engine_logs():
        run.run(sequence)
    reactions = sum(run.reactions.values())
    event(f"host calls from the loop: {_bucket(run.calls)}")
    event(f"host calls from callbacks and actions: {_bucket(reactions)}")
    if run.aborted is not None:
        event("ended by a callback's BaseException (then flushed)")
    TOTALS.update(sequences=1, ops=len(sequence), calls=run.calls, reactions=reactions,
                  events=len(run.tap), aborted=run.aborted is not None)


BASE = {"sample_rate": 16000, "vad": "silero", "eot": None,
        "options": {"aec_warmup_duration": None}, "stt_gate": False,
        "window_log": False, "watchdog": True, "callbacks": [], "seed": 0}
#: One turn with every kind of call around it (a fixed sequence: the harness itself works).
EVERY_CALL = [
    ("agent", "speaking", None), ("audio", "speech", 3.0, 320, "int16"),
    ("transcript", "yes", True, 0.9), ("schedule", 0.5, "agent_stopped"),
    ("audio", "silence", 1.5, 511, "float32"), ("text", "hi"),
    ("audio", "speech", 0.7, 0, "bytes"), ("backchannel",), ("stall", 100.0),
    ("commit",), ("advance", 16.0), ("flush",),
]


@pytest.mark.parametrize("start", ["silence", "end_of_speech"])
def test_every_call_and_every_reaction_keep_the_invariants(start):
    """A fixed sequence: every op from the loop, every reaction from a callback or action."""
    cbs = [("user_state_changed", "push_audio", False), ("agent_state_changed", "advance", False),
           ("end_of_speech", "schedule", False), ("metrics_collected", "flush", True),
           ("conversation_item_added", "raise", False), ("user_turn_completed", "stall", True)]
    later = [("schedule", t, reaction) for t, reaction in zip(
        np.linspace(0.1, 9.0, len(REACTIONS)).round(3).tolist(), REACTIONS, strict=True)]
    run = HostCallRun(BASE | {"callbacks": cbs, "options": {"aec_warmup_duration": None,
                                                           "endpointing_start": start}})
    with quiet_engine_logs():
        run.run([*EVERY_CALL, *later, ("audio", "speech", 3.0, 512, "int16"),
                 ("advance", 9.0)])
    assert set(run.reactions) == set(REACTIONS), run.reactions
    assert {"user_turn_completed", "agent_interrupted"} <= {ev.type for ev in run.tap}
    assert len(run.actions_run) >= len(REACTIONS) and run.calls > 20 and run.aborted is not None


def test_host_calls_from_every_callback_with_a_scripted_end_of_turn_model():
    cbs = [(name, "agent_thinking" if name == "user_turn_completed" else "interim", True)
           for name in SESSION_EVENTS]
    model = ScriptedModel(0.1, 0.9)
    run = HostCallRun(BASE | {"eot": model, "callbacks": cbs,
                              "options": {"eager_eot_threshold": 0.5}})
    with quiet_engine_logs():
        run.run([("audio", "speech", 3.0, 320, "int16"), ("audio", "silence", 1.0, 512, "int16"),
                 ("audio", "speech", 3.0, 4000, "float32"), *EVERY_CALL])
    assert model.calls and run.reactions["interim"] >= 5, run.reactions
    assert any(ev.type == "eager_end_of_turn" for ev in run.tap)


@pytest.mark.parametrize("rate", [8000, 48000])
def test_the_clock_books_resampled_audio_and_flush(rate):
    run = HostCallRun(BASE | {"sample_rate": rate})
    run.run([("audio", "speech", 1.5, 1001, "stereo"), ("flush",), ("advance", 0.001)])
    assert run.book.frames > 1.5 * rate  # flush's own silence was booked too
    assert any(ev.type == "user_turn_completed" for ev in run.tap)
