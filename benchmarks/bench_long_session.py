"""24 hours of audio through one engine: memory stays flat, the clock does not drift, and every
user-away deadline fires on schedule (issue 13).  A script, not a unit test::

    python benchmarks/bench_long_session.py                      # 3 variants x 24 h, energy VAD
    python benchmarks/bench_long_session.py --hours 1 --vad silero --variants default

The audio is the bundled ``composed_dialogue.wav`` (30.3 s of real two-speaker dialogue, pushed
as the one user) followed in turn by silences of 0.3, 2, 8, 20 and 45 s (a 226.9 s cycle, looped),
pushed in 20 ms chunks: turns, pauses inside turns, and silences long enough for the user to go
away.  Each variant runs in its own process:

- ``default``: ``TurnEngine(vad=...)``;
- ``window_log``: ``keep_window_log=True``;
- ``unread_events``: an ``engine.events()`` iterator that is never read (pushes run on its loop).

Measured: RSS (``/proc/self/statm``) before the first push, at every hour and at the end (before
``close()``); clock drift (``stream_time`` against the samples pushed, checked every hour and at
the end); every away event against its deadline (listening since ``t0`` -> away at
``t0 + user_away_timeout``, decided at the first window end at or after it), and every listening
span longer than the timeout that should have gone away.  Done when the growth is <= 10 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "turnengine" / "data" / "composed_dialogue.wav"
GAPS_S = (0.3, 2.0, 8.0, 20.0, 45.0)
CHUNK_S = 0.020
VARIANTS = ("default", "window_log", "unread_events")
MB = 1e6


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cycle_audio(rate: int) -> np.ndarray:
    """One cycle of the pattern (int16 at ``rate``), a whole number of 20 ms chunks."""
    import soundfile as sf

    clip, clip_rate = sf.read(CLIP, dtype="int16")
    if rate != clip_rate:
        from scipy.signal import resample_poly

        g = np.gcd(rate, clip_rate)
        clip = np.clip(resample_poly(clip.astype(np.float32), rate // g, clip_rate // g),
                       -32768, 32767).astype(np.int16)
    parts = []
    for gap in GAPS_S:
        parts += [clip, np.zeros(int(gap * rate), np.int16)]
    audio = np.concatenate(parts)
    chunk = int(round(CHUNK_S * rate))
    return audio[: len(audio) // chunk * chunk]


class AwayCheck:
    """Every away deadline on schedule, from the events as they come (nothing kept)."""

    def __init__(self, timeout_s: float, window_s: float) -> None:
        self.timeout = timeout_s
        self.window = window_s
        self.listening_since: float | None = 0.0  # a new engine: (listening, listening)
        self.expected = self.fired = self.late = self.early = self.missed = self.spurious = 0
        self.worst_lag_s = 0.0
        self.worst_deadline_error_s = 0.0

    def feed(self, events: list[Any]) -> None:
        for ev in events:
            if ev.type != "user_state_changed":
                continue
            if ev.new_state == "away":
                self._away(ev)
            elif ev.new_state == "listening":
                self.listening_since = ev.stream_time
            elif ev.new_state == "speaking":
                self._spoke(ev.stream_time)

    def _away(self, ev: Any) -> None:
        self.fired += 1
        since = self.listening_since
        self.listening_since = None
        if since is None:
            self.spurious += 1
            return
        self.expected += 1
        deadline = since + self.timeout
        self.worst_deadline_error_s = max(self.worst_deadline_error_s,
                                          abs(ev.audio_time - deadline))
        lag = ev.stream_time - deadline
        self.worst_lag_s = max(self.worst_lag_s, lag)
        if lag < -1e-9:
            self.early += 1
        elif lag >= self.window + 1e-9:
            self.late += 1

    def _spoke(self, t: float) -> None:
        since, self.listening_since = self.listening_since, None
        if since is not None and t > since + self.timeout + self.window:
            self.expected += 1
            self.missed += 1  # listened past the deadline and never went away

    def result(self) -> dict[str, Any]:
        return {"away_events": self.fired, "away_expected": self.expected,
                "away_missed": self.missed, "away_late": self.late, "away_early": self.early,
                "away_spurious": self.spurious, "away_worst_lag_s": round(self.worst_lag_s, 6),
                "away_worst_deadline_error_s": self.worst_deadline_error_s}


def run_variant(variant: str, hours: float, vad: str, rate: int) -> dict[str, Any]:
    from turnengine import TurnEngine

    audio = cycle_audio(rate)
    chunk = int(round(CHUNK_S * rate))
    n_chunks = int(round(hours * 3600 / CHUNK_S))
    kwargs: dict[str, Any] = {"keep_window_log": True} if variant == "window_log" else {}
    engine = TurnEngine(sample_rate=rate, vad=vad, **kwargs)
    window_s = engine.vad.window_size / engine.model_rate
    away = AwayCheck(engine.options.user_away_timeout, window_s)
    stream = engine.events() if variant == "unread_events" else None
    per_hour = int(round(3600 / CHUNK_S))
    model_per_chunk = chunk * engine.model_rate // rate
    drift: list[int] = []
    rss = [rss_bytes()]
    wall0 = time.perf_counter()
    pos = 0
    turns = 0
    for i in range(1, n_chunks + 1):
        if pos == len(audio):
            pos = 0
        events = engine.push_audio(audio[pos:pos + chunk])
        pos += chunk
        if events:
            away.feed(events)
            turns += sum(e.type == "user_turn_completed" for e in events)
        if i % per_hour == 0 or i == n_chunks:
            # stream_time against what was pushed, in model-rate samples (0: no drift)
            drift.append(round(engine.stream_time * engine.model_rate) - i * model_per_chunk)
            rss.append(rss_bytes())
    wall = time.perf_counter() - wall0
    queued = None if stream is None else {"queued": stream.qsize() if hasattr(stream, "qsize")
                                          else None,
                                          "dropped": getattr(stream, "dropped", None)}
    report = engine.close()
    rss_closed = rss_bytes()
    return {"variant": variant, "vad": vad, "sample_rate": rate, "hours": hours,
            "chunks": n_chunks, "wall_s": round(wall, 1),
            "x_realtime": round(hours * 3600 / wall, 1),
            "rss_start_mb": round(rss[0] / MB, 1), "rss_end_mb": round(rss[-1] / MB, 1),
            "rss_growth_mb": round((rss[-1] - rss[0]) / MB, 2),
            "rss_growth_after_hour_1_mb": round((rss[-1] - rss[min(1, len(rss) - 1)]) / MB, 2),
            "rss_per_hour_mb": [round(r / MB, 1) for r in rss],
            "rss_after_close_mb": round(rss_closed / MB, 1),
            "max_drift_samples": max(abs(d) for d in drift), "turns": turns,
            "report_events": len(report.events),
            "report_history": getattr(report, "history", None),
            "events_queue": queued, **away.result()}


def _variant_main(args: argparse.Namespace) -> None:
    variant = args.variants[0]
    if variant == "unread_events":
        async def inside_loop() -> dict[str, Any]:
            return run_variant(variant, args.hours, args.vad, args.sample_rate)

        result = asyncio.run(inside_loop())
    else:
        result = run_variant(variant, args.hours, args.vad, args.sample_rate)
    print(json.dumps(result))


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--vad", default="energy", help="energy (default, fast) or silero")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.in_process:
        _variant_main(args)
        return 0
    print(f"machine: {machine()}", flush=True)
    results = []
    for variant in args.variants:  # one process each: RSS of that variant alone
        cmd = [sys.executable, __file__, "--in-process", "--hours", str(args.hours), "--vad",
               args.vad, "--sample-rate", str(args.sample_rate), "--variants", variant]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(json.dumps(result), flush=True)
    ok = all(r["rss_growth_mb"] <= 10 and r["max_drift_samples"] == 0 and r["away_missed"] == 0
             and r["away_late"] == 0 and r["away_early"] == 0 and r["away_spurious"] == 0
             for r in results)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results},
                                              indent=2))
    print("PASS" if ok else "FAIL: growth > 10 MB, drift, or an away deadline off schedule")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
