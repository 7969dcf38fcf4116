"""Golden event sequences for real clips (STYLE.md point 17).

Regenerate after an intended behaviour change with
``TURNENGINE_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review the diff.  That run writes
the files (from the compiled kernels) and fails every case on purpose: a run that writes the
files checks nothing, so it must never pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import DATA, assert_same_event_dicts

from turnengine.replay import replay_file

GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "TURNENGINE_UPDATE_GOLDEN"
CLIPS = ["C2_composed_real_multi_clean", "C2_composed_real_multi_pink10",
         "A02_pocketsphinx_librivox_single_track"]
CASES = [(clip, vad) for vad in ("silero", "silero-onnx") for clip in CLIPS]
CASES.append(("C2_composed_real_multi_clean", "energy"))


def _events(clip: str, vad: str) -> list[dict]:
    result = replay_file(DATA / f"{clip}.wav", vad=vad)
    out = []
    for ev in result.events:
        if ev.type == "metrics_collected":
            continue
        d = ev.to_dict()
        for key in ("created_at", "started_speaking_at", "stopped_speaking_at"):
            d.pop(key, None)
        if "item" in d:
            d["item"] = {k: v for k, v in d["item"].items() if k != "created_at"}
        out.append(d)
    return out


def _update(path: Path, clip: str, vad: str, reference: bool) -> None:
    """Update mode: write the golden file from the compiled kernels, then stop the test."""
    if reference:
        pytest.skip(f"{UPDATE_ENV} is set: the golden files are written from the compiled "
                    "kernels; the reference twins are checked on the next normal run")
    path.write_text("".join(json.dumps(d) + "\n" for d in _events(clip, vad)))
    pytest.fail(f"{UPDATE_ENV} is set: wrote {path.name} and checked nothing; review the diff "
                f"and rerun without {UPDATE_ENV}", pytrace=False)


@pytest.mark.parametrize("clip,vad", CASES, ids=[f"{c}-{v}" for c, v in CASES])
def test_events_match_the_golden_file(reference, clip, vad):
    path = GOLDEN / f"{clip}.{vad}.jsonl"
    if os.environ.get(UPDATE_ENV):
        _update(path, clip, vad, reference)
    assert path.is_file(), f"no golden file {path}; write it with {UPDATE_ENV}=1"
    want = [json.loads(line) for line in path.read_text().splitlines()]
    got = _events(clip, vad)
    assert_same_event_dicts(got, want)
