"""turnengine as the VAD and the turn analyzer of a Pipecat pipeline (runs offline: no
transport, no network).

::

    python examples/pipecat_pipeline.py [FILE.wav] [--hysteresis turnengine|pipecat]

Builds ``Pipeline([VADProcessor(vad_analyzer=TurnEngineVADAnalyzer(...)),
UserTurnProcessor(stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=TurnAnalyzer())]),
printer])``, queues the bundled clip as 20 ms ``InputAudioRawFrame`` objects (what a
transport's input does), and prints the ``VADUserStartedSpeakingFrame`` /
``VADUserStoppedSpeakingFrame`` the pipeline carries and the ``UserStoppedSpeakingFrame`` that
ends each user turn, with the audio time at which each one appeared.  In a real bot the same
VAD analyzer goes wherever Pipecat takes a ``vad_analyzer`` (``VADProcessor``, or
``LLMUserAggregatorParams``), in place of ``SileroVADAnalyzer``, and ``TurnAnalyzer`` wherever
``LocalSmartTurnAnalyzerV3`` goes.

Requires ``pip install "turnengine[pipecat]"``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_processor import UserTurnProcessor
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from turnengine.integrations.pipecat import TurnAnalyzer, TurnEngineVADAnalyzer

CLIP = Path(__file__).parent / "audio" / "composed_dialogue.wav"
CHUNK_MS = 20


class SpeechPrinter(FrameProcessor):
    """Prints the VAD frames that reach the end of the pipeline, on the audio clock."""

    def __init__(self) -> None:
        super().__init__()
        self.audio_s = 0.0
        self.segments = 0
        self.turns = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.audio_s += len(frame.audio) / 2 / frame.num_channels / frame.sample_rate
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            print(f"  {self.audio_s:7.3f}s  VADUserStartedSpeakingFrame  (start_secs="
                  f"{frame.start_secs})")
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self.segments += 1
            print(f"  {self.audio_s:7.3f}s  VADUserStoppedSpeakingFrame  (stop_secs="
                  f"{frame.stop_secs})")
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.turns += 1
            print(f"  {self.audio_s:7.3f}s  UserStoppedSpeakingFrame     (end of the user turn)")
        await self.push_frame(frame, direction)


def pipeline_classes() -> tuple[Any, Any, Any]:
    """(worker, params, runner) classes: PipelineWorker since pipecat-ai 1.3, else PipelineTask."""
    try:
        from pipecat.pipeline.worker import PipelineParams, PipelineWorker
        from pipecat.workers.runner import WorkerRunner

        return PipelineWorker, PipelineParams, WorkerRunner
    except ImportError:  # pipecat-ai < 1.3
        from pipecat.pipeline.runner import PipelineRunner
        from pipecat.pipeline.task import PipelineParams as Params
        from pipecat.pipeline.task import PipelineTask

        return PipelineTask, Params, PipelineRunner


async def run(path: Path, hysteresis: str) -> int:
    pcm, rate = sf.read(str(path), dtype="int16", always_2d=True)
    mono = np.concatenate([pcm.mean(axis=1).astype(np.int16), np.zeros(rate, np.int16)])
    analyzer = TurnEngineVADAnalyzer(
        params=VADParams(confidence=0.5, start_secs=0.05, stop_secs=0.55),
        hysteresis=hysteresis)  # type: ignore[arg-type]
    turn_analyzer = TurnAnalyzer()  # was: LocalSmartTurnAnalyzerV3()
    stop = TurnAnalyzerUserTurnStopStrategy(turn_analyzer=turn_analyzer,
                                            wait_for_transcript=False)  # no STT here
    printer = SpeechPrinter()
    pipeline = Pipeline([VADProcessor(vad_analyzer=analyzer),
                         UserTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop])),
                         printer])
    worker_cls, params_cls, runner_cls = pipeline_classes()
    worker = worker_cls(pipeline, params=params_cls(audio_in_sample_rate=rate),
                        enable_rtvi=False)

    async def feed() -> None:
        """Frames as fast as the pipeline takes them, each once the previous one (and any model
        question it raised) is settled: the audio clock runs ahead of the wall clock."""
        n = rate * CHUNK_MS // 1000
        for i in range(0, mono.shape[0] - n + 1, n):
            await worker.queue_frame(InputAudioRawFrame(audio=mono[i:i + n].tobytes(),
                                                        sample_rate=rate, num_channels=1))
            while printer.audio_s * rate < i + n - 0.5:
                await asyncio.sleep(0)
            if turn_analyzer.engine is not None:
                turn_analyzer.engine.wait_for_model()
        await worker.queue_frame(EndFrame())

    runner = runner_cls(handle_sigint=False)
    print(f"Pipeline over {path.name} ({mono.shape[0] / rate:.1f} s at {rate} Hz), "
          f"hysteresis={hysteresis!r}:")
    if hasattr(runner, "add_workers"):
        await runner.add_workers(worker)
        await asyncio.gather(runner.run(), feed())
    else:
        await asyncio.gather(runner.run(worker), feed())
    print(f"{printer.segments} speech segments, {printer.turns} user turns")
    return printer.segments if printer.turns else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=CLIP)
    parser.add_argument("--hysteresis", choices=("turnengine", "pipecat"), default="turnengine")
    args = parser.parse_args()
    from loguru import logger  # Pipecat's logger: keep its DEBUG lines out of the demo

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    segments = asyncio.run(run(args.file, args.hysteresis))
    return 0 if segments else 1


if __name__ == "__main__":
    sys.exit(main())
