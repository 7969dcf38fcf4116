"""Golden event sequences for real clips (STYLE.md point 17).

Regenerate after an intended behaviour change with
``TURNENGINE_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import DATA

from turnengine.replay import replay_file

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("C2_composed_real_multi_clean", "silero-onnx"),
    ("C2_composed_real_multi_pink10", "silero-onnx"),
    ("A02_pocketsphinx_librivox_single_track", "silero-onnx"),
    ("C2_composed_real_multi_clean", "energy"),
]


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


@pytest.mark.parametrize("clip,vad", CASES, ids=[f"{c}-{v}" for c, v in CASES])
def test_events_match_the_golden_file(reference, clip, vad):
    path = GOLDEN / f"{clip}.{vad}.jsonl"
    got = _events(clip, vad)
    if os.environ.get("TURNENGINE_UPDATE_GOLDEN") and not reference:
        path.write_text("".join(json.dumps(d) + "\n" for d in got))
    want = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for key, value in w.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, abs=1e-6), key
            else:
                assert g[key] == value, key
