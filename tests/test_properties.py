"""Property test (issue 3, done-when 4): over every shared clip and random host scenarios,

- no metric field is ever negative, no stop comes before its start;
- every ``user_state_changed``/``agent_state_changed`` really changes state, and each one's
  ``old_state`` is the previous one's ``new_state``;
- ``user_turn_completed`` never fires while the user is speaking;
- decision times never go backwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turnengine.audio import read_audio
from turnengine.options import TurnEngineOptions
from turnengine.replay import replay_audio
from turnengine.scenario import Scenario

SHARED = Path(__file__).resolve().parents[2] / "shared" / "audio"
CLIPS = sorted(DATA.glob("*.wav")) + (sorted(SHARED.glob("*.wav")) if SHARED.is_dir() else [])
AUDIO = {p: read_audio(p) for p in CLIPS}


@st.composite
def scenarios(draw, duration: float) -> dict:
    agent = []
    t = draw(st.floats(0.0, 3.0))
    for _ in range(draw(st.integers(0, 4))):
        start = t + draw(st.floats(0.1, 4.0))
        end = start + draw(st.floats(0.3, 6.0))
        if start >= duration:
            break
        agent.append({"start_s": round(start, 3), "end_s": round(end, 3), "text": "reply",
                      "allow_interruptions": draw(st.sampled_from([True, False, None]))})
        t = end
    transcripts = [{"t_s": round(draw(st.floats(0.0, duration)), 3),
                    "text": draw(st.sampled_from(["", "mm-hm", "yes", "wait stop",
                                                  "I want the second one please"])),
                    "is_final": draw(st.booleans()),
                    "confidence": draw(st.sampled_from([None, 0.3, 0.9]))}
                   for _ in range(draw(st.integers(0, 6)))]
    options = {
        "turn_detection": draw(st.sampled_from(["vad", "vad", "stt", "manual"])),
        "min_interruption_duration": draw(st.sampled_from([0.2, 0.5, 1.0])),
        "min_interruption_words": draw(st.sampled_from([0, 0, 2])),
        "min_endpointing_delay": draw(st.sampled_from([0.3, 0.5, 1.2])),
        "false_interruption_timeout": draw(st.sampled_from([None, 1.0, 2.0])),
        "resume_false_interruption": draw(st.booleans()),
        "aec_warmup_duration": draw(st.sampled_from([None, 3.0])),
        "user_away_timeout": draw(st.sampled_from([None, 2.0, 15.0])),
    }
    return {"agent": agent, "transcripts": transcripts, "options": options}


def _check_metrics(m: dict) -> None:
    for key, value in m.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert value >= 0, (m["type"], key, value)


def check_invariants(events: list) -> None:
    user, agent = "listening", "listening"
    last_t = -1.0
    start_audio = None
    for ev in events:
        d = ev.to_dict()
        assert d["stream_time"] >= last_t - 1e-9, d
        last_t = d["stream_time"]
        if d["type"] == "user_state_changed":
            assert d["old_state"] == user != d["new_state"], d
            user = d["new_state"]
            if user == "speaking":
                start_audio = d["audio_time"]
            elif d["old_state"] == "speaking":
                assert start_audio is not None and d["audio_time"] >= start_audio, d
            assert d["audio_time"] <= d["stream_time"] + 1e-9, d
        elif d["type"] == "agent_state_changed":
            assert d["old_state"] == agent != d["new_state"], d
            agent = d["new_state"]
        elif d["type"] == "user_turn_completed":
            assert user != "speaking", d
            for key in ("end_of_utterance_delay", "transcription_delay", "endpointing_delay"):
                assert d[key] >= 0, (key, d)
            if d["started_speaking_at"] is not None and d["stopped_speaking_at"] is not None:
                assert d["stopped_speaking_at"] >= d["started_speaking_at"] - 1e-9, d
        elif d["type"] == "user_backchannel":
            assert d["duration"] >= 0
        elif d["type"] == "agent_interrupted":
            assert d["speech_duration"] >= 0
        elif d["type"] == "metrics_collected":
            _check_metrics(d["metrics"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_invariants_hold_for_every_clip_and_random_scenarios(data):
    path = data.draw(st.sampled_from(CLIPS))
    audio = AUDIO[path]
    spec = data.draw(scenarios(audio.duration))
    chunk_ms = data.draw(st.sampled_from([10.0, 20.0, 64.0, 333.0]))
    sc = Scenario.from_dict(spec)
    result = replay_audio(audio, scenario=sc, options=TurnEngineOptions(**sc.options),
                          chunk_ms=chunk_ms, vad="silero-onnx")
    check_invariants(result.events)
    report = result.report.to_dict()
    assert report["duration"] >= 0
    assert all(np.isfinite(e["stream_time"]) for e in report["events"])


def test_every_clip_with_default_options_keeps_the_invariants():
    for path, audio in AUDIO.items():
        result = replay_audio(audio)
        check_invariants(result.events)
        assert any(e.type == "user_turn_completed" for e in result.events), path.name
