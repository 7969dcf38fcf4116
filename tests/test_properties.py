"""Property test (issue 3, done-when 4): over every shared clip and random host scenarios,

- every ``user_state_changed``/``agent_state_changed`` really changes state, and each one's
  ``old_state`` is the previous one's ``new_state``;
- ``user_turn_completed`` never fires while the user is speaking, except a typed turn
  (``push_text_input``: a turn of its own at the moment of typing, no delays);
- decision times never go backwards, no stop comes before its start;
- the delays and durations the engine reports are the differences of the times it reports
  elsewhere, checked as relations rather than signs (a sign bug would hide behind a
  ``max(0, ...)`` clamp, but not from these): ``end_of_utterance_delay`` is the turn's
  ``stream_time`` minus its end of speech (``stopped_speaking_at``), which is the last
  speaking -> listening change; ``transcription_delay`` is the last final transcript's time minus
  that end of speech (0 when the transcript came first); a backchannel's ``duration`` is its
  utterance's end minus its start; ``VADMetrics.idle_time`` is the audio of the period minus the
  inference time (``inference_count`` windows); each ``EOUMetrics`` repeats its turn's delays.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turnengine.audio import AudioFile, model_rate_for, read_audio
from turnengine.options import TurnEngineOptions
from turnengine.replay import replay_audio
from turnengine.scenario import Scenario
from turnengine.vad import load_vad

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


#: Metric fields that are differences of times (checked as relations, not signs).
RELATIONS = ("idle_time", "end_of_utterance_delay", "transcription_delay")


@functools.cache
def window_s(vad: str, sample_rate: int) -> float:
    """Seconds per VAD window of backend ``vad`` for input at ``sample_rate``."""
    return load_vad(vad, model_rate_for(sample_rate)).window_duration


def _check_metrics(m: dict, sample_rate: int, turn: dict | None) -> None:
    for key, value in m.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in RELATIONS:
            assert value >= 0, (m["type"], key, value)
    if m["type"] == "vad_metrics":
        audio_s = m["inference_count"] * window_s(m["label"], sample_rate)
        infer_s = m["inference_duration_total"]
        # idle_time = audio - inference (a clamp to 0 only where inference took longer).
        assert (m["idle_time"] == pytest.approx(audio_s - infer_s, abs=1e-9)
                or (m["idle_time"] == 0.0 and infer_s >= audio_s)), (m, audio_s)
    elif m["type"] == "eou_metrics":
        assert turn is not None and turn["speech_id"] == m["speech_id"], (m, turn)
        for key in ("end_of_utterance_delay", "transcription_delay"):
            assert m[key] == turn[key], (key, m, turn)


def _check_turn(d: dict, last_end: float | None, last_final: float | None) -> None:
    """A turn's delays against the end of speech and the final transcript seen before it."""
    eou, t = d["end_of_utterance_delay"], d["stream_time"]
    if d["stopped_speaking_at"] is None:
        assert eou == 0.0 and d["transcription_delay"] == 0.0, d
        return
    # stopped_speaking_at and created_at are epoch times on the same clock as stream_time.
    assert eou == pytest.approx(d["created_at"] - d["stopped_speaking_at"], abs=1e-5), d
    end = t - eou
    assert eou >= 0 and last_end is not None and end == pytest.approx(last_end, abs=1e-6), \
        (d, last_end)
    if d["started_speaking_at"] is not None:
        assert d["stopped_speaking_at"] >= d["started_speaking_at"] - 1e-9, d
    td = d["transcription_delay"]
    if last_final is None:
        assert td == 0.0, d
    else:  # the final before the end of speech: 0 (LiveKit clamps) or the negative difference
        expected = last_final - end
        assert td == pytest.approx(expected, abs=1e-6) or (expected < 0 and td == 0.0), \
            (d, last_final, end)


def _check_typed_turn(d: dict) -> None:
    """``push_text_input``: a turn at the moment of typing, no speech, no delays."""
    assert d["started_speaking_at"] == d["stopped_speaking_at"] == d["created_at"], d
    assert d["end_of_utterance_delay"] == d["transcription_delay"] == 0.0, d
    assert d["endpointing_delay"] == 0.0 and d["transcript"], d


def check_invariants(events: list, sample_rate: int) -> None:
    user, agent = "listening", "listening"
    last_t = -1.0
    start_audio = end_audio = last_final = turn = None
    after_backchannel = False
    for ev in events:
        d = ev.to_dict()
        assert d["stream_time"] >= last_t - 1e-9, d
        last_t = d["stream_time"]
        if d["type"] == "user_state_changed":
            assert d["old_state"] == user != d["new_state"], d
            user = d["new_state"]
            if user == "speaking":
                start_audio, after_backchannel = d["audio_time"], False
            elif d["old_state"] == "speaking":
                assert start_audio is not None and d["audio_time"] >= start_audio, d
                end_audio = d["audio_time"]
            assert d["audio_time"] <= d["stream_time"] + 1e-9, d
        elif d["type"] == "agent_state_changed":
            assert d["old_state"] == agent != d["new_state"], d
            agent = d["new_state"]
        elif d["type"] == "user_input_transcribed":
            # A non-empty final joins the turn, unless it is a late one of a backchannel.
            if d["is_final"] and d["transcript"].strip() and not (
                    after_backchannel and user != "speaking"):
                last_final = d["stream_time"]
        elif d["type"] == "user_turn_completed" and d["reason"] == "text":
            _check_typed_turn(d)  # a turn of its own: the voice turn in progress goes on
            turn = d
        elif d["type"] == "user_turn_completed":
            assert user != "speaking", d
            assert d["endpointing_delay"] >= 0, d
            _check_turn(d, end_audio, last_final)
            turn, last_final = d, None
        elif d["type"] == "user_backchannel":
            assert start_audio is not None and end_audio is not None, d
            assert d["duration"] == pytest.approx(end_audio - start_audio, abs=1e-9), \
                (d, start_audio, end_audio)
            after_backchannel = True
        elif d["type"] == "agent_interrupted":
            assert d["speech_duration"] >= 0
        elif d["type"] == "metrics_collected":
            _check_metrics(d["metrics"], sample_rate, turn)


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
    check_invariants(result.events, audio.sample_rate)
    report = result.report.to_dict()
    assert report["duration"] >= 0
    assert all(np.isfinite(e["stream_time"]) for e in report["events"])


def test_every_clip_with_default_options_keeps_the_invariants():
    for path, audio in AUDIO.items():
        result = replay_audio(audio)
        check_invariants(result.events, audio.sample_rate)
        assert any(e.type == "user_turn_completed" for e in result.events), path.name


def test_reported_delays_are_differences_of_reported_times(clip_a03):
    """One turn with a final transcript after its end of speech, then a backchannel under an
    uninterruptible agent: every delay is positive here, so a sign bug cannot hide in a clamp."""
    pcm, rate = clip_a03
    audio = AudioFile("a03-twice", np.concatenate([pcm, pcm]).reshape(-1, 1), rate)
    sc = Scenario.from_dict({
        "agent": [{"start_s": 4.4, "end_s": 9.9, "text": "reply", "allow_interruptions": False}],
        "transcripts": [{"t_s": 3.3, "text": "he turned sharply", "is_final": True}]})
    events = replay_audio(audio, scenario=sc, vad="silero-onnx").events
    check_invariants(events, rate)
    by_type: dict[str, list] = {}
    for ev in events:
        by_type.setdefault(ev.type, []).append(ev)
    start, end, start2, end2 = by_type["user_state_changed"]
    (final,), (turn,), (backchannel,) = (by_type[k] for k in (
        "user_input_transcribed", "user_turn_completed", "user_backchannel"))
    assert start.new_state == end.old_state == start2.new_state == "speaking"
    assert final.stream_time > end.audio_time
    for got, want in [(turn.end_of_utterance_delay, turn.stream_time - end.audio_time),
                      (turn.transcription_delay, final.stream_time - end.audio_time),
                      (backchannel.duration, end2.audio_time - start2.audio_time)]:
        assert want > 0.1 and got == pytest.approx(want, abs=1e-6)
