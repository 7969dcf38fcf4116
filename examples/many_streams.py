"""Hundreds of calls in one process: TurnEngineGroup batches the Silero network across streams.

Each stream hears the bundled clip from a different offset (so streams start and stop speaking
at different times), pushed in 20 ms frames, as a media server would deliver them. Prints the
turns per stream and the throughput: how many real-time streams one core carries.

Run:  python examples/many_streams.py [--streams 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from turnengine.audio import read_audio
from turnengine.streams import TurnEngineGroup

BUNDLED = Path(__file__).resolve().parent / "audio" / "composed_dialogue.wav"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    clip = read_audio(BUNDLED).samples[:, 0]
    n, rate, frame = args.streams, 16000, 320
    length = int(args.seconds * rate)
    looped = np.tile(clip, 2 + length // len(clip))
    offsets = np.random.default_rng(0).integers(0, len(clip), n)
    audio = np.stack([looped[o:o + length] for o in offsets])

    group = TurnEngineGroup(n, sample_rate=rate)
    turns = np.zeros(n, dtype=int)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for a in range(0, length, frame):
        for i, events in enumerate(group.push_audio(audio[:, a:a + frame])):
            turns[i] += sum(1 for e in events if e.type == "user_turn_completed")
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    group.close()

    audio_s = n * args.seconds
    print(f"{n} streams x {args.seconds:.0f} s, batched={group.batched}: "
          f"{turns.sum()} turns (per stream: min {turns.min()}, max {turns.max()})")
    print(f"processed {audio_s:.0f} s of audio in {wall:.2f} s wall, {cpu:.2f} s CPU: "
          f"{audio_s / cpu:.0f} real-time streams per core, "
          f"{cpu / (audio_s / 0.032) * 1e6:.1f} us CPU per stream-window")
    return 0 if turns.sum() > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
