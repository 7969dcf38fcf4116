"""An asyncio voice-agent loop on turnengine, with a fake TTS that obeys interruptions.

The "caller" is a real recording (the bundled clip by default) streamed in 20 ms frames at real
time (or faster with --speed). The agent:

- answers each completed user turn with a canned sentence spoken by a fake TTS (it just waits
  for the sentence's duration, as a real TTS stream would play),
- stops talking at once on ``agent_interrupted``,
- resumes the rest of its sentence on ``agent_false_interruption(resumed=True)``,
- reports what it said to the engine, so the chat history is right.

Run:  python examples/asyncio_agent.py [CLIP.wav] [--speed 8]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import numpy as np

from turnengine import TurnEngine
from turnengine.audio import read_audio

BUNDLED = Path(__file__).resolve().parent / "audio" / "composed_dialogue.wav"
REPLIES = ["Sure, let me look that up.", "Got it. Anything else?", "Okay, one moment please.",
           "Thanks, that helps.", "Right, I have noted that."]
WORDS_PER_SECOND = 2.5


class FakeTTS:
    """Plays a sentence by sleeping for its duration; can be paused, resumed and stopped."""

    def __init__(self, engine: TurnEngine, clock: dict[str, float]) -> None:
        self.engine = engine
        self.clock = clock
        self.text = ""
        self.remaining = 0.0
        self.task: asyncio.Task[None] | None = None

    def say(self, text: str) -> None:
        self.stop(interrupted=True)
        self.text = text
        self.remaining = len(text.split()) / WORDS_PER_SECOND
        self.engine.agent_started_speaking()
        self.task = asyncio.create_task(self._play())

    async def _play(self) -> None:
        start = self.clock["t"]
        try:
            while self.clock["t"] - start < self.remaining:
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.remaining -= self.clock["t"] - start
            raise
        self.task = None
        print(f"  agent finished: {self.text!r}")
        self.engine.agent_stopped_speaking(self.text)

    def pause(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def resume(self) -> None:
        if self.text and self.task is None and self.remaining > 0:
            self.task = asyncio.create_task(self._play())

    def stop(self, interrupted: bool) -> None:
        if self.task is not None or (interrupted and self.text and self.remaining > 0):
            self.pause()
            if self.text:
                self.engine.agent_stopped_speaking(self.text, interrupted=interrupted)
        self.text = ""


async def agent(clip: Path, speed: float) -> int:
    audio = read_audio(clip)
    pcm = audio.samples[:, 0] if audio.samples.shape[1] == 1 else audio.samples
    engine = TurnEngine(sample_rate=audio.sample_rate)
    clock = {"t": 0.0}  # seconds of caller audio streamed so far
    tts = FakeTTS(engine, clock)
    replies = iter(REPLIES * 10)
    stats = {"turns": 0, "interruptions": 0, "resumed": 0}

    async def caller() -> None:
        frame = audio.sample_rate // 50
        wall0 = time.perf_counter()
        tail = np.zeros((audio.sample_rate * 3,) + pcm.shape[1:], pcm.dtype)
        signal = np.concatenate([pcm, tail])
        for i in range(0, len(signal), frame):
            engine.push_audio(np.ascontiguousarray(signal[i:i + frame]))
            clock["t"] = (i + frame) / audio.sample_rate
            lag = clock["t"] / speed - (time.perf_counter() - wall0)
            await asyncio.sleep(max(0.0, lag))
        engine.close()

    async def brain() -> None:
        async for ev in engine.events():
            if ev.type == "user_turn_completed":
                stats["turns"] += 1
                print(f"{ev.stream_time:7.2f}s user turn done "
                      f"(end_of_utterance_delay {ev.end_of_utterance_delay:.2f}s)")
                tts.say(next(replies))
            elif ev.type == "agent_interrupted":
                stats["interruptions"] += 1
                print(f"{ev.stream_time:7.2f}s interrupted -> pausing TTS")
                tts.pause()
            elif ev.type == "agent_false_interruption" and ev.resumed:
                stats["resumed"] += 1
                print(f"{ev.stream_time:7.2f}s false interruption -> resuming")
                tts.resume()
            elif ev.type == "agent_state_changed":
                print(f"{ev.stream_time:7.2f}s agent {ev.old_state} -> {ev.new_state}")

    await asyncio.gather(caller(), brain())
    tts.stop(interrupted=False)
    print(f"done: {stats['turns']} turns, {stats['interruptions']} interruptions, "
          f"{stats['resumed']} resumed")
    return 0 if stats["turns"] > 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", default=str(BUNDLED))
    parser.add_argument("--speed", type=float, default=1.0,
                        help="stream the caller this many times faster than real time")
    args = parser.parse_args()
    return asyncio.run(agent(Path(args.clip), args.speed))


if __name__ == "__main__":
    raise SystemExit(main())
