"""A sweep killed halfway (SIGKILL: no clean-up) and run again replays only the pairs that had
not finished, and writes the same files as a sweep that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import DATA
from sweep_cases import OUTPUTS, ROOT

from turnengine.cli import main

GRID = ["--param", "min_endpointing_delay=0.2,0.3,0.4,0.5,0.6,0.8",
        "--param", "min_interruption_duration=0.3,0.6"]
KILL_AT = 6
"""Kill the first sweep once this many pairs are in its cache (of 5 calls x 12 = 60)."""


def _argv(outdir: Path) -> list[str]:
    return ["sweep", str(DATA), *GRID, "--workers", "1", "-o", str(outdir), "--json",
            "--quiet"]


def _cached(outdir: Path) -> int:
    return sum(1 for _ in (outdir / "cache").rglob("*.json"))


def _start_and_kill(outdir: Path) -> int:
    """Start the sweep in a subprocess, SIGKILL it once KILL_AT pairs are cached; the count."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    code = f"from turnengine.cli import main; main({_argv(outdir)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while _cached(outdir) < KILL_AT:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep cached nothing in 240 s"
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return _cached(outdir)


def test_killed_sweep_resumes_with_only_the_unfinished_pairs(tmp_path: Path, capsys) -> None:
    n_calls = len(list(DATA.glob("*.wav")))
    n_pairs = n_calls * 12
    done = _start_and_kill(tmp_path / "killed")
    assert KILL_AT <= done < n_pairs
    assert main(_argv(tmp_path / "killed")) == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert pairs == {"n_pairs": n_pairs, "n_replayed": n_pairs - done, "n_cached": done,
                     "n_unreadable": 0}
    assert main(_argv(tmp_path / "whole")) == 0
    assert json.loads(capsys.readouterr().out)["pairs"]["n_replayed"] == n_pairs
    for name in OUTPUTS:
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
