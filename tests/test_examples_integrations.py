"""examples/livekit_agent.py and examples/pipecat_pipeline.py run offline and exit 0; the
LiveKit example's ``--connect`` without a reachable server is one line and exit 1."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def need(module: str) -> None:
    """Import a package of the dev extra; never skipped (the README test command installs it)."""
    importlib.import_module(module)


def run_example(name: str, *args: str, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_livekit_example() -> None:
    need("livekit.agents")
    proc = run_example("livekit_agent.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.count("START_OF_SPEECH") == out.count("END_OF_SPEECH") == 9
    assert "978 INFERENCE_DONE events" in out
    assert out.count("user_state_changed: listening -> speaking") == 9
    assert "9 segments from the stream, 9 from the AgentSession" in out
    # turnengine's TurnDetector commits the turns (the 9th segment is a pause inside a turn)
    assert out.count("user turn committed") == 8 and "8 user turns committed" in out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("settings,message", [
    ({}, "cannot connect: set LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET"),
    ({"LIVEKIT_URL": "ws://127.0.0.1:{port}", "LIVEKIT_API_KEY": "key",
      "LIVEKIT_API_SECRET": "secret"}, "cannot connect to LiveKit at ws://127.0.0.1:"),
])
def test_livekit_example_connect_without_a_server_is_one_line_and_exit_1(settings, message):
    need("livekit.agents")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env.update({k: v.format(port=_closed_port()) for k, v in settings.items()})
    proc = run_example("livekit_agent.py", "--connect", "start", env=env, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("livekit_agent.py: error: " + message), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("hysteresis", ["turnengine", "pipecat"])
def test_pipecat_example(hysteresis: str) -> None:
    need("pipecat.pipeline.pipeline")
    proc = run_example("pipecat_pipeline.py", "--hysteresis", hysteresis)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.count("VADUserStartedSpeakingFrame") == out.count("VADUserStoppedSpeakingFrame")
    assert "9 speech segments, 8 user turns" in out  # TurnAnalyzer ends 8 turns
    assert out.count("UserStoppedSpeakingFrame     (end of the user turn)") == 8
    if hysteresis == "turnengine":  # the native engine's first decision is at 0.928 s
        assert "  0.940s  VADUserStartedSpeakingFrame" in out


def test_asyncio_agent_example() -> None:
    proc = run_example("asyncio_agent.py", "--speed", "50")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "user turn done" in proc.stdout and "interrupted -> pausing TTS" in proc.stdout


def test_many_streams_example() -> None:
    proc = run_example("many_streams.py", "--streams", "50", "--seconds", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "50 streams" in proc.stdout and "batched=True" in proc.stdout
