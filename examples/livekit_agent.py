"""turnengine as the VAD of a LiveKit agent.

Offline (the default; no server, no network, what CI runs)::

    python examples/livekit_agent.py [FILE.wav]

1. builds ``turnengine.integrations.livekit.VAD`` and runs one ``VADStream`` over the bundled
   clip in 10 ms ``rtc.AudioFrame`` objects, printing START_OF_SPEECH / END_OF_SPEECH events;
2. starts a real ``AgentSession(vad=..., turn_handling={"turn_detection": TurnDetector()})``
   with no room, STT or LLM, feeds it the same clip as its audio input, and prints the
   session's own ``user_state_changed`` events and the user turns it commits (turnengine's
   end-of-turn decisions: Smart Turn v3.2 re-scored while the user is silent).

Against a LiveKit server (needs ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``
and LiveKit Inference for the STT/LLM/TTS named below)::

    python examples/livekit_agent.py --connect start

When the server cannot be reached (a setting missing, no network) it prints one line and exits
1 before LiveKit starts.  Requires ``pip install "turnengine[livekit]"``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import soundfile as sf
from livekit import rtc
from livekit.agents import JobContext, JobProcess
from livekit.agents import vad as agents_vad
from livekit.agents.voice import io as lk_io

from turnengine.integrations.livekit import VAD, TurnDetector

CLIP = Path(__file__).parent / "audio" / "composed_dialogue.wav"
FRAME_MS = 10


def read_clip(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and their rate, plus 1 s of silence so the last speech ends."""
    pcm, rate = sf.read(str(path), dtype="int16", always_2d=True)
    mono = pcm.mean(axis=1).astype(np.int16)
    return np.concatenate([mono, np.zeros(rate, np.int16)]), rate


def frames(pcm: np.ndarray, rate: int) -> list[rtc.AudioFrame]:
    n = rate * FRAME_MS // 1000
    return [rtc.AudioFrame(pcm[i:i + n].tobytes(), rate, 1, n)
            for i in range(0, pcm.shape[0] - n + 1, n)]


async def run_vad_stream(vad: VAD, pcm: np.ndarray, rate: int) -> int:
    """What AgentSession does with a VAD: push frames into a stream, read its events."""
    stream = vad.stream()
    inference = 0
    segments = 0

    async def read() -> None:
        nonlocal inference, segments
        async for ev in stream:
            if ev.type == agents_vad.VADEventType.INFERENCE_DONE:
                inference += 1
            elif ev.type == agents_vad.VADEventType.START_OF_SPEECH:
                audio = ev.frames[0].samples_per_channel / ev.frames[0].sample_rate
                print(f"  {ev.timestamp:7.3f}s  START_OF_SPEECH  speech_duration="
                      f"{ev.speech_duration:.3f}s  onset audio {audio:.2f}s")
            elif ev.type == agents_vad.VADEventType.END_OF_SPEECH:
                segments += 1
                audio = ev.frames[0].samples_per_channel / ev.frames[0].sample_rate
                print(f"  {ev.timestamp:7.3f}s  END_OF_SPEECH    speech_duration="
                      f"{ev.speech_duration:.3f}s  silence_duration={ev.silence_duration:.3f}s"
                      f"  utterance audio {audio:.2f}s")

    reader = asyncio.create_task(read())
    for k, frame in enumerate(frames(pcm, rate)):
        stream.push_frame(frame)
        if k % 50 == 0:
            await asyncio.sleep(0)
    stream.end_input()
    await reader
    await stream.aclose()
    window_ms = vad.capabilities.update_interval * 1e3
    print(f"  {inference} INFERENCE_DONE events (one per {window_ms:.0f} ms window), "
          f"{segments} speech segments")
    return segments


class LockStepInput(lk_io.AudioInput):
    """The clip as a session's audio input: frames as fast as the session takes them, each
    once the previous one (and any model question it raised) is settled, so the audio clock
    runs ahead of the wall clock without changing any decision."""

    def __init__(self, clip_frames: list[rtc.AudioFrame], detector: TurnDetector) -> None:
        super().__init__(label="clip")
        self.sent = 0
        self.done = asyncio.Event()
        self._frames = iter(clip_frames)
        self._detector = detector

    async def __anext__(self) -> rtc.AudioFrame:
        for _ in range(10):
            await asyncio.sleep(0)
        for stream in self._detector.streams:
            if stream.engine is not None:
                stream.engine.wait_for_model()
        frame = next(self._frames, None)
        if frame is None:
            self.done.set()
            await asyncio.sleep(3600)  # the session closes us
        assert frame is not None
        self.sent += frame.samples_per_channel
        return frame


async def run_agent_session(vad: VAD, pcm: np.ndarray, rate: int) -> tuple[int, int]:
    """A real AgentSession with turnengine as its VAD and turn detector, the clip as its audio
    input; returns (user state changes, committed turns)."""
    from livekit.agents import Agent, AgentSession, StopResponse

    detector = TurnDetector()  # in a worker: in prewarm (it loads the model once per process)
    pcm = np.concatenate([pcm, np.zeros(3 * rate, np.int16)])  # room for the last decision
    turns: list[float] = []

    source = LockStepInput(frames(pcm, rate), detector)

    class Listener(Agent):
        async def on_user_turn_completed(self, turn_ctx, new_message) -> None:  # type: ignore
            turns.append(source.sent / rate)
            print(f"  {source.sent / rate:7.3f}s  user turn committed")
            raise StopResponse()  # no LLM here: no reply

    # Offline the audio outruns the wall clock, so the session's own endpointing delays (wall
    # clock) are set to 0 and the detector's decisions alone time the turns.  Live, keep
    # LiveKit's defaults: by the time the detector answers they have passed.
    session = AgentSession(vad=vad, turn_handling={
        "turn_detection": detector, "endpointing": {"min_delay": 0.0, "max_delay": 0.0}})
    changes = 0

    @session.on("user_state_changed")
    def on_user_state(ev) -> None:  # type: ignore[no-untyped-def]
        nonlocal changes
        changes += 1
        print(f"  {source.sent / rate:7.3f}s  user_state_changed: {ev.old_state} -> "
              f"{ev.new_state}")

    session.input.audio = source
    await session.start(agent=Listener(instructions="Listen."), record=False)
    await asyncio.wait_for(source.done.wait(), 300)
    await asyncio.sleep(0.2)
    await session.aclose()
    return changes, len(turns)


def prewarm(proc: JobProcess) -> None:
    """Load the VAD and the turn model once per worker process (module level: LiveKit pickles
    it)."""
    proc.userdata["vad"] = VAD.load()  # same arguments as silero.VAD.load()
    proc.userdata["turn_detector"] = TurnDetector()


async def entrypoint(ctx: JobContext) -> None:
    """One call: join the room, run an AgentSession with turnengine as its VAD and turn
    detector."""
    from livekit.agents import Agent, AgentSession

    await ctx.connect()
    session = AgentSession(
        vad=ctx.proc.userdata["vad"],
        turn_handling={"turn_detection": ctx.proc.userdata["turn_detector"]},
        stt="deepgram/nova-3", llm="openai/gpt-4.1-mini", tts="cartesia/sonic-2")
    await session.start(agent=Agent(instructions="You are a helpful voice assistant."),
                        room=ctx.room)


def check_server(timeout_s: float = 5.0) -> str | None:
    """Why the LiveKit server cannot be reached (one line), or None when it can: the settings
    it needs are set and a connection to ``LIVEKIT_URL`` opens.  LiveKit's worker itself logs
    a traceback and exits 0, or retries for ever, when it cannot connect."""
    missing = [k for k in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
               if not os.environ.get(k)]
    if missing:
        return f"cannot connect: set {', '.join(missing)} (see the docstring of this example)"
    url = urlsplit(os.environ["LIVEKIT_URL"])
    if url.scheme not in ("ws", "wss", "http", "https") or not url.hostname:
        return f"cannot connect: LIVEKIT_URL={url.geturl()!r} is not a ws(s):// URL"
    try:
        port = url.port or (443 if url.scheme in ("wss", "https") else 80)
        socket.create_connection((url.hostname, port), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        return f"cannot connect to LiveKit at {url.geturl()}: {exc}"
    return None


def connect() -> int:
    """How a real worker uses it: load the VAD in prewarm, pass it to AgentSession.  Returns
    the exit code: 1, with one line on stderr, when the server cannot be reached or the worker
    fails."""
    from livekit.agents import WorkerOptions, cli

    problem = check_server()
    if problem is not None:
        print(f"livekit_agent.py: error: {problem}", file=sys.stderr)
        return 1
    failed = WorkerFailed()
    logging.getLogger("livekit.agents").addHandler(failed)
    cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint, prewarm_fnc=prewarm))
    return 1 if failed.seen else 0


class WorkerFailed(logging.Handler):
    """Notices LiveKit's "worker failed" log record (its CLI logs the error and exits 0)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = self.seen or record.getMessage() == "worker failed"


def main() -> int:
    if "--connect" in sys.argv:
        sys.argv.remove("--connect")  # the rest (dev, start, console, ...) goes to LiveKit
        return connect()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=CLIP)
    args = parser.parse_args()
    pcm, rate = read_clip(args.file)
    vad = VAD.load()  # in a worker: in prewarm
    print(f"VADStream over {args.file.name} ({pcm.shape[0] / rate:.1f} s at {rate} Hz):")
    segments = asyncio.run(run_vad_stream(vad, pcm, rate))
    print("AgentSession(vad=turnengine VAD, turn_detection=TurnDetector()), no room, the clip "
          "as audio input:")
    changes, turns = asyncio.run(run_agent_session(vad, pcm, rate))
    print(f"{segments} segments from the stream, {changes // 2} from the AgentSession, "
          f"{turns} user turns committed")
    return 0 if segments and changes == 2 * segments and turns else 1


if __name__ == "__main__":
    sys.exit(main())
