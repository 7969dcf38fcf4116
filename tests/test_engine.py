"""TurnEngine: events from real speech, bad input (SPEC 2), streaming invariance, host calls."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from conftest import comparable
from scipy.signal import resample_poly

from turnengine import TurnEngine, TurnEngineOptions
from turnengine.engine import EngineClosedError


def replay(engine: TurnEngine, pcm: np.ndarray, chunk: int, tail_s: float = 0.0) -> list:
    """Push ``pcm`` in chunks, then ``tail_s`` of digital silence (the caller goes quiet)."""
    if tail_s:
        pcm = np.concatenate([pcm, np.zeros(int(tail_s * 16000), pcm.dtype)])
    events = []
    for i in range(0, len(pcm), chunk):
        events += engine.push_audio(pcm[i:i + chunk])
    return events


def state_of(engine: TurnEngine) -> tuple:
    return (engine.stream_time, engine.decision_time, engine.user_state, engine.agent_state,
            engine.decision_pending, engine.next_action_time)


def test_turns_on_a_real_dialogue(reference, clip_dialogue):
    pcm, rate = clip_dialogue
    engine = TurnEngine(sample_rate=rate)
    events = replay(engine, pcm, 320)
    kinds = [e.type for e in events]
    turns = [e for e in events if e.type == "user_turn_completed"]
    # The composed dialogue has 9 utterance groups; every turn is preceded by speech.
    assert 7 <= len(turns) <= 12
    for t in turns:
        assert t.end_of_utterance_delay >= engine.options.min_endpointing_delay
        assert t.reason == "no_model"
    changes = [e for e in events if e.type == "user_state_changed"]
    assert all(c.old_state != c.new_state for c in changes)
    assert changes[0].new_state == "speaking" and 0.7 < changes[0].audio_time < 1.0
    assert kinds.count("metrics_collected") >= 30  # VADMetrics ~1/s + EOUMetrics per turn


def test_compiled_and_reference_kernels_give_the_same_events(monkeypatch, clip_a03):
    pcm, rate = clip_a03
    runs = []
    for flag in ("0", "1"):
        monkeypatch.setenv("TURNENGINE_PUREPYTHON", flag)
        engine = TurnEngine(sample_rate=rate)
        runs.append(comparable(replay(engine, pcm, 333)))
    assert runs[0] == runs[1]
    assert any(d["type"] == "user_turn_completed" for d in runs[0])


@pytest.mark.parametrize("chunk", [1, 7, 160, 511, 4096])
def test_chunking_does_not_change_events(chunk, clip_a03):
    pcm, rate = clip_a03
    if chunk == 1:
        pcm = pcm[16000:].copy()  # 1-sample pushes are slow in Python; keep the end of speech
    one = TurnEngine(sample_rate=rate)
    many = TurnEngine(sample_rate=rate)
    ref = comparable(one.push_audio(pcm) + one.advance(1.0))
    got = comparable(replay(many, pcm, chunk, tail_s=0) + many.advance(1.0))
    assert got == ref
    assert [d["type"] for d in ref].count("user_state_changed") >= 1


@pytest.mark.parametrize("rate", [48000, 44100, 32000, 24000])
def test_resampled_input_gives_the_same_events_within_one_window(rate, clip_dialogue):
    pcm, sr = clip_dialogue
    up = resample_poly(pcm.astype(np.float64), rate // 100 if rate != 44100 else 441,
                       160)
    hi = np.clip(np.round(up), -32768, 32767).astype(np.int16)
    base = TurnEngine(sample_rate=sr)
    other = TurnEngine(sample_rate=rate)
    ev_base = [e for e in replay(base, pcm, 320) if e.type == "user_state_changed"]
    ev_hi = [e for e in replay(other, hi, rate // 50) if e.type == "user_state_changed"]
    assert [e.new_state for e in ev_hi] == [e.new_state for e in ev_base]
    window = 512 / 16000
    for a, b in zip(ev_base, ev_hi, strict=True):
        assert abs(a.stream_time - b.stream_time) <= window + 1e-9
        assert abs(a.audio_time - b.audio_time) <= window + 1e-9


BAD_CHUNKS = [
    (np.zeros(10, np.float64), TypeError, "expected int16 or float32"),
    (np.zeros(10, np.int32), TypeError, "expected int16 or float32"),
    ([0, 1, 2], TypeError, "got list"),
    (b"\x00\x01\x02", ValueError, "even byte count"),
    (b"", ValueError, "non-empty"),
    (np.zeros(0, np.int16), ValueError, "non-empty"),
    (np.zeros((2, 2, 2), np.int16), ValueError, "3-D"),
    (np.zeros((2, 480), np.int16), ValueError, "at most 32 channels"),
    (np.array([0.0, np.nan], np.float32), ValueError, "NaN/inf"),
    (np.array([0.0, np.inf], np.float32), ValueError, "NaN/inf"),
    (np.array([0.0, 3000.0], np.float32), ValueError, r"\[-1, 1\]"),
]


@pytest.mark.parametrize("chunk,exc,match", BAD_CHUNKS,
                         ids=[f"{i}-{m}" for i, (_, _, m) in enumerate(BAD_CHUNKS)])
def test_bad_input_raises_and_leaves_state_unchanged(reference, clip_a03, chunk, exc, match):
    pcm, rate = clip_a03
    clean, dirty = TurnEngine(sample_rate=rate), TurnEngine(sample_rate=rate)
    head, tail = pcm[:20011], pcm[20011:]
    clean.push_audio(head)
    dirty.push_audio(head)
    before = state_of(dirty)
    with pytest.raises(exc, match=match):
        dirty.push_audio(chunk)
    assert state_of(dirty) == before
    assert comparable(dirty.push_audio(tail)) == comparable(clean.push_audio(tail))


def test_bad_rates_and_options_are_refused():
    with pytest.raises(ValueError, match="unsupported sample rate 22050 Hz"):
        TurnEngine(sample_rate=22050)
    with pytest.raises(TypeError, match="sample rate"):
        TurnEngine(sample_rate=16000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_endpointing_delay must be >= 0"):
        TurnEngine(min_endpointing_delay=-0.1)
    with pytest.raises(ValueError, match="activation_threshold must be in"):
        TurnEngine(activation_threshold=1.2)
    with pytest.raises(ValueError, match="turn_detection"):
        TurnEngine(turn_detection="smart")
    with pytest.raises(TypeError, match="unknown option"):
        TurnEngine(min_endpoint_delay=0.2)
    with pytest.raises(ValueError, match="unknown VAD backend"):
        TurnEngine(vad="webrtc")
    with pytest.raises(ValueError, match="turn_detector"):
        TurnEngine(turn_detector="smart-turn-v9")
    with pytest.raises(ValueError, match="max_endpointing_delay"):
        TurnEngineOptions(min_endpointing_delay=2.0, max_endpointing_delay=1.0)


def test_closed_engine_refuses_audio_and_calls(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate)
    engine.push_audio(pcm[:1000])
    engine.close()
    for call in (lambda: engine.push_audio(pcm[:100]), lambda: engine.advance(1.0),
                 lambda: engine.set_agent_state("speaking"),
                 lambda: engine.push_transcript("hi", True)):
        with pytest.raises(EngineClosedError, match="closed"):
            call()


def test_stereo_is_downmixed(clip_a03):
    pcm, rate = clip_a03
    mono = TurnEngine(sample_rate=rate)
    stereo = TurnEngine(sample_rate=rate)
    a = comparable(mono.push_audio(pcm))
    b = comparable(stereo.push_audio(np.stack([pcm, pcm], axis=1)))
    assert a == b and a


def test_bytes_and_float32_equal_int16(clip_a03):
    pcm, rate = clip_a03
    ref = comparable(TurnEngine(sample_rate=rate).push_audio(pcm))
    assert comparable(TurnEngine(sample_rate=rate).push_audio(pcm.tobytes())) == ref
    f32 = (pcm.astype(np.float32) / 32768.0).astype(np.float32)
    assert comparable(TurnEngine(sample_rate=rate).push_audio(f32)) == ref


def test_user_away_then_back_by_speech(reference, clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, user_away_timeout=2.0)
    events = engine.advance(5.0)
    assert [(e.type, e.old_state, e.new_state) for e in events] == [
        ("user_state_changed", "listening", "away")]
    assert events[0].stream_time == pytest.approx(2.0)
    events = engine.push_audio(pcm)
    first = [e for e in events if e.type == "user_state_changed"][0]
    assert (first.old_state, first.new_state) == ("away", "speaking")


def test_user_away_left_by_final_transcript():
    engine = TurnEngine(user_away_timeout=1.0)
    engine.advance(2.0)
    assert engine.user_state == "away"
    events = engine.push_transcript("hello?", is_final=True, confidence=0.8)
    assert [e.type for e in events][:2] == ["user_input_transcribed", "user_state_changed"]
    assert engine.user_state == "listening"


def test_agent_speaking_suspends_away_and_noise_never_resets_it():
    engine = TurnEngine(user_away_timeout=3.0)
    engine.set_agent_state("speaking")
    assert engine.advance(10.0) == []
    engine.set_agent_state("listening")
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16000 * 2) * 30).astype(np.int16)  # faint noise, not speech
    events = engine.push_audio(noise) + engine.advance(1.5)
    away = [e for e in events if e.type == "user_state_changed"]
    assert len(away) == 1 and away[0].new_state == "away"
    assert away[0].audio_time == pytest.approx(10.0 + 3.0)


def test_interruption_by_voice(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, min_interruption_duration=0.5,
                        aec_warmup_duration=None)
    engine.agent_started_speaking()
    events = engine.push_audio(pcm)
    kinds = [e.type for e in events]
    assert "agent_interrupted" in kinds
    inter = events[kinds.index("agent_interrupted")]
    onset = [e for e in events if e.type == "user_state_changed"][0].audio_time
    assert onset + 0.5 <= inter.stream_time <= onset + 0.5 + 512 / 16000 + 1e-9
    change = events[kinds.index("agent_interrupted") + 1]
    assert (change.type, change.old_state, change.new_state) == (
        "agent_state_changed", "speaking", "listening")


def test_stt_mode_commits_on_final_transcript(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, turn_detection="stt")
    events = engine.push_audio(pcm) + engine.advance(2.0)
    assert "user_turn_completed" not in [e.type for e in events]
    events = engine.push_transcript("author of the danger trail", is_final=True, confidence=0.9)
    turn = [e for e in events if e.type == "user_turn_completed"][0]
    assert turn.transcript == "author of the danger trail" and turn.reason == "stt"
    assert turn.transcript_confidence == pytest.approx(0.9)
    assert turn.transcription_delay > 0


def test_manual_mode_commits_only_on_request(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, turn_detection="manual")
    events = engine.push_audio(pcm) + engine.advance(5.0)
    assert "user_turn_completed" not in [e.type for e in events]
    events = engine.commit_user_turn()
    assert [e.type for e in events] == ["user_turn_completed", "metrics_collected",
                                        "conversation_item_added"]
    assert events[0].reason == "manual"
    assert engine.commit_user_turn() == []  # nothing new to commit


def test_callbacks_are_called_and_a_raising_one_is_logged(caplog, clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate)
    seen = []
    engine.on("user_state_changed", lambda ev: seen.append(ev.new_state))

    @engine.on("user_turn_completed")
    def boom(ev):
        raise RuntimeError("host bug")

    once = []
    engine.once("user_state_changed", once.append)
    with caplog.at_level(logging.ERROR, logger="turnengine"):
        engine.push_audio(pcm)
        engine.advance(1.0)
    assert seen == ["speaking", "listening"] and len(once) == 1
    assert "host bug" in caplog.text
    with pytest.raises(ValueError, match="unknown event"):
        engine.on("user_turn_complete", print)


@pytest.mark.parametrize("start,silent_windows", [("end_of_speech", 18), ("silence", 16)])
def test_vad_events_carry_audio_and_inference_done_only_when_subscribed(clip_a03, start,
                                                                       silent_windows):
    """``end_of_speech`` comes after min_silence_duration (18 windows), or when a turn commits
    first, after min_endpointing_delay of silence (16 windows: 0.512 s >= 0.5 s)."""
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, endpointing_start=start)
    starts, ends, infer = [], [], []
    engine.on("start_of_speech", starts.append)
    engine.on("end_of_speech", ends.append)
    engine.on("inference_done", infer.append)
    engine.push_audio(pcm)
    assert len(infer) == len(pcm) // 512
    assert all(ev.frames.shape == (512,) for ev in infer)
    assert len(starts) == 1 and len(ends) == 1
    s, e = starts[0], ends[0]
    pad = int(0.5 * 16000)
    onset = s.samples_index - int(round(s.speech_duration * 16000))
    assert s.frames.shape[0] == s.samples_index - max(0, onset - pad)
    assert e.frames.shape[0] > int(e.speech_duration * 16000)
    assert e.silence_duration == pytest.approx(silent_windows * 512 / 16000)


def test_report_has_spec_keys_and_shutdown_callback_runs_once(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate)
    got = []
    engine.add_shutdown_callback(got.append)
    engine.push_audio(pcm)
    engine.advance(1.0)
    report = engine.close()
    engine.close()
    assert len(got) == 1 and got[0] is not None
    d = report.to_dict()
    for key in ("job_id", "room_id", "room", "options", "events", "chat_history",
                "audio_recording_path", "audio_recording_started_at", "duration", "started_at",
                "timestamp"):
        assert key in d
    assert all(e["type"] != "metrics_collected" for e in d["events"])
    assert set(TurnEngineOptions.option_names()) <= set(d["options"])
    items = d["chat_history"]["items"]
    assert items and items[0]["role"] == "user" and items[0]["source"] == "voice"


def test_window_log_records_every_window(clip_a03):
    pcm, rate = clip_a03
    engine = TurnEngine(sample_rate=rate, keep_window_log=True)
    events = []
    for i in range(0, len(pcm), 777):
        events += engine.push_audio(pcm[i:i + 777])
    log = engine.window_log()
    n = len(pcm) // 512
    assert log.end_time.shape == log.probability.shape == log.speaking.shape == (n,)
    assert np.allclose(np.diff(log.end_time), 512 / 16000)
    start = [e for e in events if e.type == "user_state_changed"][0]
    first = int(np.flatnonzero(log.speaking)[0])
    assert log.end_time[first] == pytest.approx(start.stream_time)
    with pytest.raises(RuntimeError, match="keep_window_log"):
        TurnEngine().window_log()


def test_audio_stall_watchdog_closes_an_open_speaking_state(clip_a03, reference):
    pcm, rate = clip_a03
    speech = pcm[: int(2.0 * rate)]  # cut mid-utterance: the VAD alone would never end it
    engine = TurnEngine(sample_rate=rate, audio_stall_watchdog=True, audio_stall_timeout=2.0)
    engine.push_audio(speech)
    t_push = time.monotonic()  # the engine noted the audio's arrival just before
    assert engine.user_state == "speaking"
    assert engine.check_audio_stall(now=t_push + 1.0) == []  # not stalled long enough
    events = engine.check_audio_stall(now=t_push + 2.5)
    change = [e for e in events if e.type == "user_state_changed"]
    assert [(c.old_state, c.new_state) for c in change] == [("speaking", "listening")]
    assert change[0].audio_time <= change[0].stream_time == pytest.approx(engine.decision_time)
    assert engine.user_state == "listening"
    turn = [e for e in events + engine.advance(1.0) if e.type == "user_turn_completed"]
    assert len(turn) == 1
    # audio resumes: a new utterance starts normally, with no stray END
    again = engine.push_audio(np.concatenate([pcm[: 2 * rate], np.zeros(rate, np.int16)]))
    assert [(e.old_state, e.new_state) for e in again if e.type == "user_state_changed"] == [
        ("listening", "speaking"), ("speaking", "listening")]
    with pytest.raises(RuntimeError, match="audio_stall_watchdog"):
        TurnEngine().check_audio_stall()


def test_one_push_longer_than_the_audio_history_loses_no_audio(clip_a03):
    # The audio history holds ~61 s (prefix padding + max_buffered_speech + hangover); a single
    # 75 s push must give the VAD events, the STT gate and the turn features the same audio as
    # the same samples pushed in 20 ms chunks.
    pcm, rate = clip_a03
    assert rate == 16000
    quiet = np.zeros(16000 * 30, dtype=np.int16)
    audio = np.concatenate([pcm, quiet, pcm, quiet, pcm])
    assert audio.shape[0] > 70 * 16000

    def run(chunk):
        engine = TurnEngine(sample_rate=rate, stt_gate=True)
        vad = []
        engine.on("start_of_speech", vad.append)
        engine.on("end_of_speech", vad.append)
        stt = []
        for i in range(0, audio.shape[0], chunk):
            engine.push_audio(audio[i:i + chunk])
            stt += list(engine.stt_audio())
        return vad, np.concatenate(stt)

    vad_one, stt_one = run(audio.shape[0])
    vad_chunked, stt_chunked = run(320)
    assert len(vad_one) == len(vad_chunked) == 6
    for a, b in zip(vad_one, vad_chunked, strict=True):
        assert a.samples_index == b.samples_index
        np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(stt_one, stt_chunked)
