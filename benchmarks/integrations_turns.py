"""Turn ends through LiveKit and Pipecat, each with its own detectors and with turnengine's
(issue 15, done-when 2): false cut-offs and latency on the shared clips, in one run.

A script, not a pytest suite.  Every clip (``../shared/audio/turns`` and ``../shared/audio``)
plus 3.5 s of digital silence is played at real time, in 10 ms ``rtc.AudioFrame`` objects to
real ``AgentSession`` objects and in 20 ms ``InputAudioRawFrame`` objects to real Pipecat
pipelines, all systems at once on one event loop (so each answers as fast as this machine lets
it: model inference is part of the latency).  A system's turn ends are what the framework
itself reports: ``Agent.on_user_turn_completed`` (LiveKit, no STT or LLM) and
``UserStoppedSpeakingFrame`` (Pipecat ``UserTurnProcessor``, ``wait_for_transcript=False``),
timed on the audio clock (wall time since the first frame, each frame delivered when its audio
has been "spoken").  They are scored with eot-bench's rules (``turnengine.tools.eval.eotbench``:
false cut-off = a hold silence with a turn end inside; latency = first turn end in the eot span
minus the true end of speech; a span without one counts its whole length), as in
docs/end_of_turn.md.

Systems (each framework's defaults unless said):

=====================  ==================================================================
livekit-vad            ``AgentSession(vad=silero.VAD.load())``: LiveKit's VAD turn handling
                       (END_OF_SPEECH, then ``min_delay`` 0.5 s)
livekit-v1-mini        + ``turn_detection=inference.TurnDetector(version="v1-mini")``:
                       LiveKit's own local audio turn detector
turnengine-livekit     + ``turn_detection=turnengine.integrations.livekit.TurnDetector()``
livekit-v1-mini@0.25   the two detectors with ``silero.VAD.load(min_silence_duration=0.25)``,
turnengine-livekit@0.25  the shortest VAD hangover LiveKit accepts with a streaming detector
pipecat-smart-turn     ``SileroVADAnalyzer(VADParams(stop_secs=0.2))`` +
                       ``LocalSmartTurnAnalyzerV3()`` (Pipecat's default stop strategy)
turnengine-pipecat     the same VAD + ``turnengine.integrations.pipecat.TurnAnalyzer()``
=====================  ==================================================================

Usage (about 10 minutes: the clips play in real time)::

    python benchmarks/integrations_turns.py ../shared/audio/turns ../shared/audio \
        [--json OUT.json] [--systems a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from turnengine.tools.eval.eotbench import EotBenchScore, pool_eotbench, score_eotbench
from turnengine.tools.eval.labels import load_labels

TAIL_S = 3.5
RATE = 16000
LIVEKIT_SYSTEMS = ("livekit-vad", "livekit-v1-mini", "turnengine-livekit",
                   "livekit-v1-mini@0.25", "turnengine-livekit@0.25")
PIPECAT_SYSTEMS = ("pipecat-smart-turn", "turnengine-pipecat")
SYSTEMS = LIVEKIT_SYSTEMS + PIPECAT_SYSTEMS


class AudioClock:
    """Wall time since the stream began, started by the first frame."""

    def __init__(self) -> None:
        self.t0: float | None = None

    def start(self) -> float:
        if self.t0 is None:
            self.t0 = time.monotonic()
        return self.t0

    def now(self) -> float:
        return time.monotonic() - self.start()

    async def until(self, audio_s: float) -> None:
        """Sleep until ``audio_s`` of audio has been spoken."""
        delay = self.start() + audio_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


# -- LiveKit ---------------------------------------------------------------------------------
def livekit_parts(system: str) -> tuple[Any, dict[str, Any]]:
    """The session's VAD and ``turn_handling`` for ``system``."""
    from livekit.agents.inference import TurnDetector as LiveKitTurnDetector
    from livekit.plugins import silero

    from turnengine.integrations.livekit import TurnDetector

    name, _, hangover = system.partition("@")
    vad = silero.VAD.load(**({"min_silence_duration": float(hangover)} if hangover else {}))
    detectors: dict[str, Callable[[], Any]] = {
        "livekit-vad": lambda: "vad",
        "livekit-v1-mini": lambda: LiveKitTurnDetector(version="v1-mini"),
        "turnengine-livekit": TurnDetector}
    return vad, {"turn_detection": detectors[name]()}


async def livekit_turn_ends(pcm: np.ndarray, system: str) -> list[float]:
    """Audio times of the user turns a real AgentSession commits, the clip at real time."""
    from livekit import rtc
    from livekit.agents import Agent, AgentSession, StopResponse
    from livekit.agents.voice import io as lk_io

    clock, ends, done = AudioClock(), list[float](), asyncio.Event()

    class ClipInput(lk_io.AudioInput):
        def __init__(self) -> None:
            super().__init__(label="clip")
            self.i = 0

        async def __anext__(self) -> rtc.AudioFrame:
            if self.i + 160 > pcm.shape[0]:
                done.set()
                await asyncio.sleep(3600)
            await clock.until((self.i + 160) / RATE)
            frame = rtc.AudioFrame(pcm[self.i:self.i + 160].tobytes(), RATE, 1, 160)
            self.i += 160
            return frame

    class Listener(Agent):
        async def on_user_turn_completed(self, turn_ctx: Any, new_message: Any) -> None:
            ends.append(clock.now())
            raise StopResponse()

    vad, turn_handling = livekit_parts(system)
    session = AgentSession(vad=vad, turn_handling=turn_handling)
    session.input.audio = ClipInput()
    await session.start(agent=Listener(instructions="listen"), record=False)
    await done.wait()
    await session.aclose()
    return ends


# -- Pipecat ---------------------------------------------------------------------------------
def pipecat_pipeline(system: str, clock: AudioClock, ends: list[float]) -> Any:
    """``VADProcessor`` -> ``UserTurnProcessor`` -> a processor noting each turn's end."""
    from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADParams
    from pipecat.frames.frames import UserStoppedSpeakingFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.processors.audio.vad_processor import VADProcessor
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
    from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
    from pipecat.turns.user_turn_processor import UserTurnProcessor
    from pipecat.turns.user_turn_strategies import UserTurnStrategies

    from turnengine.integrations.pipecat import TurnAnalyzer

    class TurnEnds(FrameProcessor):
        async def process_frame(self, frame: Any, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, UserStoppedSpeakingFrame):
                ends.append(clock.now())
            await self.push_frame(frame, direction)

    analyzer = LocalSmartTurnAnalyzerV3() if system == "pipecat-smart-turn" else TurnAnalyzer()
    stop = TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer, wait_for_transcript=False)
    return Pipeline([VADProcessor(vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=0.2))),
                     UserTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop])),
                     TurnEnds()])


async def pipecat_turn_ends(pcm: np.ndarray, system: str) -> list[float]:
    """Audio times of the UserStoppedSpeakingFrames of a real pipeline, the clip at real time."""
    from pipecat.frames.frames import EndFrame, InputAudioRawFrame
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.workers.runner import WorkerRunner

    clock, ends = AudioClock(), list[float]()
    worker = PipelineWorker(pipecat_pipeline(system, clock, ends),
                            params=PipelineParams(audio_in_sample_rate=RATE), enable_rtvi=False)

    async def feed() -> None:
        for i in range(0, pcm.shape[0] - 319, 320):
            await clock.until((i + 320) / RATE)
            await worker.queue_frame(InputAudioRawFrame(audio=pcm[i:i + 320].tobytes(),
                                                        sample_rate=RATE, num_channels=1))
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.gather(runner.run(), feed())
    return ends


# -- the run ---------------------------------------------------------------------------------
def clips(directory: Path) -> list[tuple[Path, Path]]:
    """(wav, json) pairs of a directory, by name."""
    return [(w, w.with_suffix(".json")) for w in sorted(directory.glob("*.wav"))
            if w.with_suffix(".json").is_file()]


async def run_clip(wav: Path, systems: tuple[str, ...]) -> dict[str, list[float]]:
    pcm, rate = sf.read(wav, dtype="int16", always_2d=True)
    if rate != RATE:
        raise ValueError(f"{wav}: expected {RATE} Hz, got {rate}")
    mono = np.concatenate([pcm.mean(axis=1).astype(np.int16), np.zeros(int(TAIL_S * RATE),
                                                                       np.int16)])
    runs = [livekit_turn_ends(mono, s) if s in LIVEKIT_SYSTEMS else pipecat_turn_ends(mono, s)
            for s in systems]
    return dict(zip(systems, await asyncio.gather(*runs), strict=True))


def fmt_row(name: str, score: EotBenchScore) -> str:
    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{1e3 * v:.0f}"

    fc = "n/a" if score.fc_rate is None else f"{100 * score.fc_rate:.1f} %"
    return (f"| {name} | {fc} ({score.n_holds_cut}/{score.n_holds}) | "
            f"{ms(score.latency_median_s)} / {ms(score.latency_mean_s)} / "
            f"{ms(score.latency_p90_s)} ms | {score.n_eot_missed}/{len(score.latencies_s)} |")


def tables(commits: dict[str, dict[str, dict[str, list[float]]]],
           systems: tuple[str, ...]) -> str:
    """One table per set and one pooled: FC, latency median/mean/p90, eot spans missed."""
    out = []
    sets = {name: list(per_clip) for name, per_clip in commits.items()}
    sets["pooled"] = [c for per_clip in commits.values() for c in per_clip]
    labels = {c: load_labels(c) for per_clip in commits.values() for c in per_clip}
    for set_name, json_paths in sets.items():
        out += [f"\n**{set_name}** ({len(json_paths)} clips)\n",
                "| system | false cut-offs | latency median / mean / p90 | eot spans missed |",
                "| --- | ---: | ---: | ---: |"]
        for system in systems:
            per = [score_eotbench(labels[c], commits[_set_of(commits, c)][c][system])
                   for c in json_paths]
            out.append(fmt_row(system, pool_eotbench(per)))
    return "\n".join(out)


def _set_of(commits: dict[str, dict[str, Any]], clip: str) -> str:
    return next(name for name, per_clip in commits.items() if clip in per_clip)


async def run_all(dirs: list[Path], systems: tuple[str, ...]) -> dict[str, Any]:
    commits: dict[str, dict[str, dict[str, list[float]]]] = {}
    for d in dirs:
        commits[str(d)] = {}
        for wav, label in clips(d):
            t = time.monotonic()
            commits[str(d)][str(label)] = await run_clip(wav, systems)
            print(f"{wav.name}: {time.monotonic() - t:.1f} s", file=sys.stderr, flush=True)
    return commits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    systems = tuple(args.systems.split(","))
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; expected some of {SYSTEMS}")
    logging.basicConfig(level=logging.ERROR)
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    commits = asyncio.run(run_all(args.dirs, systems))
    print(tables(commits, systems))
    if args.json:
        args.json.write_text(json.dumps(commits, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
