"""Leak check (STYLE.md point 17, after py-webrtcvad's test_leak): push hours of audio through one
engine in 20 ms frames and watch the resident set size.

After a warm-up the RSS must stay flat (< 4 MiB growth) while a million 20 ms frames (5.6 hours
of audio: 625,000 Silero windows, about 5,000 turns and their metrics) go through the native
kernel, the hysteresis and timers kernels and the event layer.  The engine is closed and
replaced every 10 simulated minutes, as a host does between calls, and the RSS is compared at
those swaps, after the first two (one engine for 24 h: ``bench_long_session.py``).
"""

from __future__ import annotations

import os

import soundfile as sf

from turnengine import TurnEngine

FRAMES = int(os.environ.get("TURNENGINE_LEAK_FRAMES", "1000000"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_rss_stays_flat_over_a_million_frames() -> None:
    from pathlib import Path

    clip, _ = sf.read(Path(__file__).resolve().parents[1] / "tests" / "data"
                      / "C2_composed_real_multi_clean.wav", dtype="int16")
    frames = clip[: len(clip) // 320 * 320].reshape(-1, 320)
    per_call = 600 * 50  # 10 minutes of 20 ms frames
    engine = TurnEngine(vad="silero")
    turns = 0
    at_swaps = []
    for i in range(FRAMES):
        if i and i % per_call == 0:
            engine.close()
            engine = TurnEngine(vad="silero")
            at_swaps.append(rss_bytes())
        turns += sum(1 for e in engine.push_audio(frames[i % len(frames)])
                     if e.type == "user_turn_completed")
    engine.close()
    assert len(at_swaps) >= 4, "push more frames: TURNENGINE_LEAK_FRAMES >= 150000"
    growth = at_swaps[-1] - at_swaps[1]
    print(f"\n{FRAMES} frames ({FRAMES / 180000:.1f} h), {turns} turns, {len(at_swaps)} engines; "
          f"RSS growth between swaps 2 and {len(at_swaps)}: {growth / 2**20:.2f} MiB")
    assert turns > FRAMES // 200
    assert growth < 4 * 2**20
