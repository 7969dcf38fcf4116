"""Memory of 20 turn-detection sessions in one process: turnengine's plug-ins against the
frameworks' own detectors (issue 15, done-when 3).

A script, not a pytest suite.  Each variant runs in its own Python process: it imports what it
needs, notes the resident set size (RSS, ``/proc/self/statm``), opens one session and feeds it
the first 3 s of ``tests/data/C2_composed_real_multi_clean.wav`` (one turn end: the model is
asked), notes the RSS, opens 19 more the same way, and notes it again.  It also counts the
distinct model objects the 20 sessions hold.

Variants:

``turnengine-livekit``
    20 streams of ``turnengine.integrations.livekit.TurnDetector()`` (one detector per session).
``livekit-v1-mini``
    20 streams of LiveKit's own ``livekit.agents.inference.TurnDetector(version="v1-mini")``
    (local model, bundled with livekit-agents; a process-wide native singleton).
``turnengine-pipecat``
    20 ``turnengine.integrations.pipecat.TurnAnalyzer()``.
``pipecat-smart-turn``
    20 ``LocalSmartTurnAnalyzerV3()``: Pipecat's own Smart Turn analyzer, one onnxruntime session
    each.

Usage::

    python benchmarks/turn_plugins_rss.py [--sessions 20] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "C2_composed_real_multi_clean.wav"
VARIANTS = ("turnengine-livekit", "livekit-v1-mini", "turnengine-pipecat", "pipecat-smart-turn")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def audio() -> np.ndarray:
    pcm, _ = sf.read(CLIP, dtype="int16")
    return np.asarray(pcm[: 3 * 16000])


async def livekit_sessions(n: int, own: bool) -> list[Any]:
    from livekit import rtc

    if own:
        from livekit.agents.inference import TurnDetector as LiveKitTurnDetector

        def make() -> Any:
            return LiveKitTurnDetector(version="v1-mini")
    else:
        from turnengine.integrations.livekit import TurnDetector

        make = TurnDetector
    pcm, kept = audio(), []
    for _ in range(n):
        stream = make().stream()
        for i in range(0, pcm.shape[0], 160):
            stream.push_audio(rtc.AudioFrame(pcm[i:i + 160].tobytes(), 16000, 1, 160))
            await asyncio.sleep(0)
            if stream.__class__.__name__ == "TurnDetectorStream" and stream.engine is not None:
                stream.engine.wait_for_model()
        if own:  # LiveKit's asks its model now (turnengine's asked while the audio came in)
            await asyncio.wait_for(stream.predict(), 10)
        kept.append(stream)
    return kept


def livekit_models(streams: list[Any], own: bool) -> int:
    if own:  # the native model is a process-wide singleton (livekit.local_inference docs)
        return len({id(s._transport._eot) for s in streams}) and 1
    return len({id(s.engine.eot_model) for s in streams})


async def pipecat_sessions(n: int, own: bool) -> list[Any]:
    if own:
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

        make: Callable[[], Any] = LocalSmartTurnAnalyzerV3
    else:
        from turnengine.integrations.pipecat import TurnAnalyzer

        make = TurnAnalyzer
    pcm, kept = audio(), []
    for _ in range(n):
        analyzer = make()
        analyzer.set_sample_rate(16000)
        for i in range(0, pcm.shape[0], 320):
            speech = i < int(1.7 * 16000)
            analyzer.append_audio(pcm[i:i + 320].tobytes(), speech)
            if not own and analyzer.engine is not None:
                analyzer.engine.wait_for_model()
        await analyzer.analyze_end_of_turn()  # Pipecat's: runs its model now
        kept.append(analyzer)
    return kept


def pipecat_models(analyzers: list[Any], own: bool) -> int:
    if own:
        return len({id(a._session) for a in analyzers})
    return len({id(a.engine.eot_model) for a in analyzers})


def measure(variant: str, n: int) -> dict[str, Any]:
    """Run one variant in this process; RSS before, after 1 session and after ``n``."""
    own = variant in ("livekit-v1-mini", "pipecat-smart-turn")
    livekit = "livekit" in variant
    if livekit:
        import livekit.agents  # noqa: F401
    else:
        import pipecat.audio.turn.smart_turn.local_smart_turn_v3  # noqa: F401
    from loguru import logger

    import turnengine.integrations  # noqa: F401  (both variants pay the same imports)

    logger.remove()
    sessions = livekit_sessions if livekit else pipecat_sessions
    base = rss_mib()

    async def run() -> dict[str, Any]:
        first = await sessions(1, own)
        one = rss_mib()
        rest = await sessions(n - 1, own)
        everyone = first + rest
        count = livekit_models if livekit else pipecat_models
        return {"variant": variant, "sessions": n, "rss_imports_mib": base,
                "rss_1_mib": one, "rss_n_mib": rss_mib(), "models": count(everyone, own)}

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.sessions)))
        return 0
    rows = []
    for variant in VARIANTS:
        out = subprocess.run([sys.executable, __file__, "--variant", variant, "--sessions",
                              str(args.sessions)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"| detector | models held | RSS after imports | 1 session | {args.sessions} sessions "
          f"| per extra session |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        extra = (r["rss_n_mib"] - r["rss_1_mib"]) / (r["sessions"] - 1)
        print(f"| {r['variant']} | {r['models']} | {r['rss_imports_mib']:.0f} MiB | "
              f"{r['rss_1_mib']:.0f} MiB | {r['rss_n_mib']:.0f} MiB | {extra:.1f} MiB |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
