"""The whole engine per stream-window (issue 4, done-when 2): VAD, hysteresis, timers, events.

64 streams of real speech in one ``TurnEngineGroup`` (batched native Silero), pushed in 20 ms
and in 32 ms frames, against one lone ``TurnEngine(vad="silero")`` per stream fed the same
audio, in the same run.  Reported in microseconds per 32 ms stream-window (target <= 30).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import soundfile as sf

from turnengine import TurnEngine
from turnengine.streams import TurnEngineGroup

N_STREAMS = 64
SECONDS = 4.0


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    from pathlib import Path

    clip, _ = sf.read(Path(__file__).resolve().parents[1] / "tests" / "data"
                      / "C2_composed_real_multi_clean.wav", dtype="int16")
    length = int(SECONDS * 16000)
    offsets = np.random.default_rng(0).integers(0, len(clip) - length, N_STREAMS)
    return np.stack([clip[o:o + length] for o in offsets])


def _windows(audio: np.ndarray) -> int:
    return audio.shape[0] * (audio.shape[1] // 512)


@pytest.mark.parametrize("frame", [320, 512], ids=["20ms", "32ms"])
def test_group_whole_engine(benchmark: Any, audio: np.ndarray, frame: int) -> None:
    def setup() -> Any:
        return (TurnEngineGroup(N_STREAMS),), {}

    def run(group: TurnEngineGroup) -> None:
        for a in range(0, audio.shape[1], frame):
            group.push_audio(audio[:, a:a + frame])

    benchmark.extra_info.update(key=f"group64_whole_engine_{frame}", clip="64 streams",
                                clip_duration_s=SECONDS, n_windows=_windows(audio))
    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1, iterations=1)


def test_lone_engines_whole_engine(benchmark: Any, audio: np.ndarray) -> None:
    def setup() -> Any:
        return ([TurnEngine(vad="silero") for _ in range(N_STREAMS)],), {}

    def run(engines: list[TurnEngine]) -> None:
        for a in range(0, audio.shape[1], 320):
            for i, engine in enumerate(engines):
                engine.push_audio(audio[i, a:a + 320])

    benchmark.extra_info.update(key="lone64_whole_engine_320", clip="64 streams",
                                clip_duration_s=SECONDS, n_windows=_windows(audio))
    benchmark.pedantic(run, setup=setup, rounds=3, warmup_rounds=1, iterations=1)
