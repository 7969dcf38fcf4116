"""What the turn plug-in tests share: a clip with a silent tail and ``turnengine run``'s commits.

The reference is the command line itself (``turnengine run FILE --json --turn-detector
smart-turn``, 10 ms chunks), run in a subprocess on the same WAV file the frameworks are fed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import load_clip

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = 512 / 16000  # one Silero window: the tolerance of "the same time"


def clip_with_tail(tmp: Path, name: str = "C2_composed_real_multi_clean",
                   tail_s: float = 4.0) -> tuple[np.ndarray, Path]:
    """The tests/data clip plus ``tail_s`` of digital silence (so the last turn is decided),
    as int16 samples and as a WAV file in ``tmp``."""
    pcm, rate = load_clip(name)
    pcm = np.concatenate([pcm, np.zeros(int(tail_s * rate), np.int16)])
    path = tmp / f"{name}_tail.wav"
    sf.write(path, pcm, rate, subtype="PCM_16")
    return pcm, path


def run_commits(path: Path, *options: str) -> list[float]:
    """``stream_time`` of every ``user_turn_completed`` of ``turnengine run --turn-detector
    smart-turn`` on ``path`` (10 ms chunks, as the frameworks are fed), plus ``options``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-m", "turnengine.cli", "run", str(path), "--json",
                           "--turn-detector", "smart-turn", "--chunk-ms", "10", *options],
                          capture_output=True, text=True, env=env, check=True, timeout=300)
    return [ev["stream_time"] for ev in map(json.loads, proc.stdout.splitlines())
            if ev["type"] == "user_turn_completed"]


def assert_same_times(got: list[float], want: list[float]) -> None:
    """Same number of commits, each within one window of the reference."""
    assert len(want) >= 5, want
    assert len(got) == len(want), (got, want)
    worst = max(abs(g - w) for g, w in zip(got, want, strict=True))
    assert worst <= WINDOW_S + 1e-9, (worst, got, want)
