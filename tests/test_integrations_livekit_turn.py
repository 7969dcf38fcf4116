"""turnengine's LiveKit streaming turn detector against the real livekit-agents package.

Done-when of issue 15: a real ``AgentSession(vad=..., turn_detection=TurnDetector())`` fed a
real clip (no room, no STT/LLM) commits user turns at the times ``turnengine run`` does with
the same options, within one 32 ms window.  The session's clock is the wall clock, so the clip
is fed in lock step (each 10 ms frame once the session has handled the previous one and the
model has answered), and the session's own endpointing delays are 0: the detector's decisions
are the only thing that waits.
"""

from __future__ import annotations

import asyncio
import importlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from turn_plugin_helpers import assert_same_times, clip_with_tail, run_commits

importlib.import_module("livekit.agents")  # the dev extra; never skipped

from livekit import rtc  # noqa: E402
from livekit.agents import Agent, AgentSession, StopResponse  # noqa: E402
from livekit.agents.voice import io as lk_io  # noqa: E402
from livekit.agents.voice.turn import (  # noqa: E402
    _StreamingTurnDetector,
    _StreamingTurnDetectorStream,
)

from turnengine.integrations import turns  # noqa: E402
from turnengine.integrations.livekit import VAD, TurnDetector  # noqa: E402

RATE = 16000


async def session_commits(pcm: np.ndarray, detector: TurnDetector, vad: VAD) -> list[float]:
    """Audio time of every user turn a real AgentSession commits (its
    ``Agent.on_user_turn_completed``), the clip fed in lock step."""
    commits: list[float] = []

    class ClipInput(lk_io.AudioInput):
        def __init__(self) -> None:
            super().__init__(label="clip")
            self.i = 0
            self.done = asyncio.Event()

        async def __anext__(self) -> rtc.AudioFrame:
            for _ in range(10):  # let the session handle the previous frame
                await asyncio.sleep(0)
            for stream in list(detector._streams):
                if stream.engine is not None:
                    stream.engine.wait_for_model()
            if self.i + 160 > pcm.shape[0]:
                self.done.set()
                await asyncio.sleep(3600)
            frame = rtc.AudioFrame(pcm[self.i:self.i + 160].tobytes(), RATE, 1, 160)
            self.i += 160
            return frame

    source = ClipInput()

    class Listener(Agent):
        async def on_user_turn_completed(self, turn_ctx: Any, new_message: Any) -> None:
            commits.append(source.i / RATE)
            raise StopResponse()

    session = AgentSession(vad=vad, turn_handling={
        "turn_detection": detector, "endpointing": {"min_delay": 0.0, "max_delay": 0.0}})
    session.input.audio = source
    await session.start(agent=Listener(instructions="listen"), record=False)
    await asyncio.wait_for(source.done.wait(), 300)
    await asyncio.sleep(0.1)
    await session.aclose()
    return commits


def test_agent_session_commits_turns_when_turnengine_run_does(tmp_path: Path) -> None:
    """VAD hangover 0.25 s (the least LiveKit allows with a streaming detector): the session's
    END_OF_SPEECH always comes before the detector's 0.5 s, so the detector decides."""
    pcm, path = clip_with_tail(tmp_path)
    got = asyncio.run(session_commits(pcm, TurnDetector(), VAD.load(min_silence_duration=0.25)))
    assert_same_times(got, run_commits(path))


def test_with_the_default_vad_turns_wait_for_its_end_of_speech(tmp_path: Path) -> None:
    """VAD defaults (0.55 s hangover): the session commits no sooner than END_OF_SPEECH, which
    is ``turnengine run --endpointing-start end_of_speech``."""
    pcm, path = clip_with_tail(tmp_path)
    got = asyncio.run(session_commits(pcm, TurnDetector(), VAD.load()))
    want = run_commits(path, "--endpointing-start", "end_of_speech")
    assert_same_times(got, want)
    assert want != run_commits(path)  # the hangover does change the times


def test_is_a_livekit_streaming_turn_detector() -> None:
    detector = TurnDetector(unlikely_threshold=0.3)

    async def go() -> None:
        stream = detector.stream()
        assert isinstance(detector, _StreamingTurnDetector)
        assert isinstance(stream, _StreamingTurnDetectorStream)
        assert await stream.unlikely_threshold(None) == 0.3
        assert await stream.supports_language(None) is True
        assert stream.prediction_timeout == 3.0 + 1.0
        fut = stream.predict()
        assert not fut.done()  # no turn yet: answered when the engine commits one
        stream.cancel_inference()
        assert fut.done() and fut.result().end_of_turn_probability == 0.0
        await stream.aclose()
        closed = stream.predict()
        assert closed.done() and closed.result().end_of_turn_probability == 1.0

    asyncio.run(go())
    assert detector.provider == "turnengine" and detector.model == "smart-turn-v3.2"


def test_flush_after_a_commit_keeps_the_engine() -> None:
    """AgentSession flushes with "turn committed" after every commit: the engine, which ended
    that turn itself, goes on (its clock and VAD state with it); "clear_user_turn" drops it."""
    frame = rtc.AudioFrame(np.zeros(160, np.int16).tobytes(), RATE, 1, 160)

    async def go() -> None:
        stream = TurnDetector().stream()
        stream.push_audio(frame)
        engine = stream.engine
        stream.flush(reason="turn committed")
        stream.push_audio(frame)
        assert stream.engine is engine and engine.stream_time == pytest.approx(0.02)
        stream.flush(reason="clear_user_turn")
        assert stream.engine is None
        stream.push_audio(frame)
        assert stream.engine is not engine and stream.engine.stream_time == pytest.approx(0.01)
        await stream.aclose()

    asyncio.run(go())


def test_streams_share_one_model() -> None:
    a, b = TurnDetector(), TurnDetector(min_endpointing_delay=0.8)
    frame = rtc.AudioFrame(np.zeros(160, np.int16).tobytes(), RATE, 1, 160)

    async def go() -> list[Any]:
        streams = [a.stream(), b.stream(), a.stream()]
        for s in streams:
            s.push_audio(frame)
        models = [s.engine.eot_model for s in streams]
        for s in streams:
            await s.aclose()
        return models

    models = asyncio.run(go())
    assert models[0] is not None and all(m is models[0] for m in models)
    assert models[0] is turns.shared_turn_model()


def test_missing_model_falls_back_to_livekit_vad_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns, "_models", {})
    monkeypatch.setattr(turns, "load_smart_turn", lambda warn: None)
    with pytest.warns(UserWarning, match="Smart Turn model is not installed"):
        detector = TurnDetector()
    assert detector.is_fallback

    async def go() -> float:
        stream = detector.stream()
        stream.push_audio(rtc.AudioFrame(np.zeros(160, np.int16).tobytes(), RATE, 1, 160))
        assert stream.engine is None  # no engine runs without the model
        fut = stream.predict()
        assert fut.done()  # answered at once: the session's min_delay after END_OF_SPEECH
        return fut.result().end_of_turn_probability

    assert asyncio.run(go()) == 1.0


def test_update_options_reaches_open_and_new_streams() -> None:
    detector = TurnDetector()
    frame = rtc.AudioFrame(np.zeros(160, np.int16).tobytes(), RATE, 1, 160)

    async def go() -> tuple[float, float, float]:
        stream = detector.stream()
        stream.push_audio(frame)
        detector.update_options(unlikely_threshold=0.7, min_endpointing_delay=0.8)
        later = detector.stream()
        got = (stream.engine.options.unlikely_threshold, await later.unlikely_threshold(None),
               detector.options.min_endpointing_delay)
        with pytest.raises(TypeError, match="unknown option"):
            detector.update_options(min_delay=0.2)
        await stream.aclose()
        await later.aclose()
        return got

    assert asyncio.run(go()) == (0.7, 0.7, 0.8)


def test_bad_options_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown option"):
        TurnDetector(min_delay=0.3)
    with pytest.raises(ValueError, match="unlikely_threshold"):
        TurnDetector(unlikely_threshold=1.5)
    with pytest.raises(ValueError, match="backend"):
        TurnDetector(backend="webrtc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TurnDetector(eot_prediction_interval=None, activation_threshold=0.6)
