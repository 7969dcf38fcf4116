"""turnengine's Pipecat turn analyzer against the real pipecat-ai package.

Done-when of issue 15: a real Pipecat pipeline (``VADProcessor`` -> ``UserTurnProcessor`` with
``TurnAnalyzerUserTurnStopStrategy(turn_analyzer=TurnAnalyzer())``) fed a real clip ends user
turns (``UserStoppedSpeakingFrame``) at the times ``turnengine run`` commits them, within one
32 ms window.  The clip goes in 10 ms frames in lock step: each frame once the pipeline has
carried the previous one and the model has answered (the analyzer's clock is the audio).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from turn_plugin_helpers import assert_same_times, clip_with_tail, run_commits

importlib.import_module("pipecat.turns.user_turn_processor")  # the dev extra; never skipped

from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState  # noqa: E402
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams  # noqa: E402
from pipecat.audio.vad.vad_analyzer import VADParams  # noqa: E402
from pipecat.frames.frames import (  # noqa: E402
    EndFrame,
    InputAudioRawFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.audio.vad_processor import VADProcessor  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy  # noqa: E402
from pipecat.turns.user_turn_processor import UserTurnProcessor  # noqa: E402
from pipecat.turns.user_turn_strategies import UserTurnStrategies  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

from turnengine.integrations import turns  # noqa: E402
from turnengine.integrations.pipecat import (  # noqa: E402
    TurnAnalyzer,
    TurnAnalyzerParams,
    TurnEngineVADAnalyzer,
)

RATE = 16000


class TurnEnds(FrameProcessor):
    """Counts the audio that reached the end of the pipeline; notes each turn's end on it."""

    def __init__(self) -> None:
        super().__init__()
        self.samples = 0
        self.ends: list[float] = []

    async def process_frame(self, frame: Any, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.samples += len(frame.audio) // 2
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.ends.append(self.samples / RATE)
        await self.push_frame(frame, direction)


async def pipeline_turn_ends(pcm: np.ndarray, analyzer: TurnAnalyzer) -> list[float]:
    """Audio time of every UserStoppedSpeakingFrame of a real pipeline, fed in lock step."""
    ends = TurnEnds()
    stop = TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer, wait_for_transcript=False)
    vad = TurnEngineVADAnalyzer(params=VADParams(stop_secs=0.2))  # Pipecat's with Smart Turn
    pipeline = Pipeline([VADProcessor(vad_analyzer=vad),
                         UserTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop])),
                         ends])
    worker = PipelineWorker(pipeline, params=PipelineParams(audio_in_sample_rate=RATE),
                            enable_rtvi=False)

    async def feed() -> None:
        for i in range(0, pcm.shape[0] - 159, 160):
            await worker.queue_frame(InputAudioRawFrame(audio=pcm[i:i + 160].tobytes(),
                                                        sample_rate=RATE, num_channels=1))
            while ends.samples < i + 160:
                await asyncio.sleep(0)
            if analyzer.engine is not None:
                analyzer.engine.wait_for_model()
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.wait_for(asyncio.gather(runner.run(), feed()), 300)
    return ends.ends


@pytest.fixture(autouse=True)
def quiet_pipecat() -> Any:
    from loguru import logger

    logger.remove()
    handler = logger.add(sys.stderr, level="WARNING")
    yield
    logger.remove(handler)


def test_pipeline_ends_turns_when_turnengine_run_does(tmp_path: Path) -> None:
    pcm, path = clip_with_tail(tmp_path)
    got = asyncio.run(pipeline_turn_ends(pcm, TurnAnalyzer()))
    assert_same_times(got, run_commits(path))


def test_options_reach_the_engine(tmp_path: Path) -> None:
    """Asked once a pause, 0.8 s: the pipeline follows ``turnengine run`` with those options."""
    pcm, path = clip_with_tail(tmp_path)
    params = TurnAnalyzerParams(min_endpointing_delay=0.8, eot_prediction_interval=None)
    got = asyncio.run(pipeline_turn_ends(pcm, TurnAnalyzer(params=params)))
    want = run_commits(path, "--min-endpointing-delay", "0.8", "--eot-prediction-interval",
                       "none")
    assert_same_times(got, want)
    assert want != run_commits(path)


def test_is_a_pipecat_turn_analyzer() -> None:
    analyzer = TurnAnalyzer()
    assert isinstance(analyzer, BaseTurnAnalyzer)
    assert isinstance(analyzer.params, SmartTurnParams) and analyzer.params.stop_secs == 3
    analyzer.set_sample_rate(RATE)
    assert not analyzer.speech_triggered
    silence = np.zeros(320, np.int16).tobytes()
    assert analyzer.append_audio(silence, False) is EndOfTurnState.INCOMPLETE
    state, metrics = asyncio.run(analyzer.analyze_end_of_turn())
    assert state is EndOfTurnState.INCOMPLETE and metrics is None
    assert analyzer.engine is not None and analyzer.engine.eot_model is turns.shared_turn_model()
    asyncio.run(analyzer.cleanup())
    assert analyzer.engine is None  # a new engine with the next frame
    analyzer.append_audio(silence, False)
    assert analyzer.engine is not None


def test_analyzers_share_one_model() -> None:
    analyzers = [TurnAnalyzer(sample_rate=RATE) for _ in range(3)]
    for a in analyzers:
        a.set_sample_rate(RATE)
        a.append_audio(np.zeros(320, np.int16).tobytes(), False)
    assert len({id(a.engine.eot_model) for a in analyzers}) == 1
    assert len({id(a.engine) for a in analyzers}) == 3


def test_missing_model_ends_turns_at_the_vad_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns, "_models", {})
    monkeypatch.setattr(turns, "load_smart_turn", lambda warn: None)
    with pytest.warns(UserWarning, match="turns end when the VAD stops"):
        analyzer = TurnAnalyzer()
    analyzer.set_sample_rate(RATE)
    assert analyzer.append_audio(np.zeros(320, np.int16).tobytes(), True) \
        is EndOfTurnState.INCOMPLETE
    assert asyncio.run(analyzer.analyze_end_of_turn()) == (EndOfTurnState.COMPLETE, None)
    assert analyzer.is_fallback and analyzer.engine is None


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="unlikely_threshold"):
        TurnAnalyzer(params=TurnAnalyzerParams(unlikely_threshold=-0.1))
    with pytest.raises(TypeError, match="unknown option"):
        TurnAnalyzer(stop_secs=2.0)
    with pytest.raises(ValueError):
        TurnAnalyzer(sample_rate=11025)
