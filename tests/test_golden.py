"""Golden event sequences for real clips (STYLE.md point 17).

Two sets: ``CLIP.VAD.jsonl`` replays with ``endpointing_start="end_of_speech"`` (LiveKit's
timer, the engine's only one before the silence-started timer; written before it existed, so
they also prove the old behaviour unchanged), ``CLIP.VAD.silence.jsonl`` with
``endpointing_start="silence"``.

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

from turnengine.options import TurnEngineOptions
from turnengine.replay import replay_file

GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "TURNENGINE_UPDATE_GOLDEN"
CLIPS = ["C2_composed_real_multi_clean", "C2_composed_real_multi_pink10",
         "A02_pocketsphinx_librivox_single_track"]
STARTS = {"": "end_of_speech", ".silence": "silence"}
CASES = [(clip, vad, "") for vad in ("silero", "silero-onnx") for clip in CLIPS]
CASES.append(("C2_composed_real_multi_clean", "energy", ""))
CASES += [(clip, "silero", ".silence") for clip in CLIPS]
CASES.append(("C2_composed_real_multi_clean", "energy", ".silence"))


def _events(clip: str, vad: str, mode: str) -> list[dict]:
    options = TurnEngineOptions(endpointing_start=STARTS[mode])
    result = replay_file(DATA / f"{clip}.wav", vad=vad, options=options)
    out = []
    for ev in result.events:
        if ev.type == "metrics_collected":
            continue
        d = ev.to_dict()
        if mode == "" and d["type"] == "user_turn_completed":
            # (the key came later than these files; without a model it is always empty)
            assert len(d.pop("eot_probabilities")) == 0
        for key in ("created_at", "started_speaking_at", "stopped_speaking_at"):
            d.pop(key, None)
        if "item" in d:
            d["item"] = {k: v for k, v in d["item"].items() if k != "created_at"}
        out.append(d)
    return out


def _update(path: Path, clip: str, vad: str, mode: str, reference: bool) -> None:
    """Update mode: write the golden file from the compiled kernels, then stop the test."""
    if reference:
        pytest.skip(f"{UPDATE_ENV} is set: the golden files are written from the compiled "
                    "kernels; the reference twins are checked on the next normal run")
    path.write_text("".join(json.dumps(d) + "\n" for d in _events(clip, vad, mode)))
    pytest.fail(f"{UPDATE_ENV} is set: wrote {path.name} and checked nothing; review the diff "
                f"and rerun without {UPDATE_ENV}", pytrace=False)


@pytest.mark.parametrize("clip,vad,mode", CASES, ids=[f"{c}-{v}{m}" for c, v, m in CASES])
def test_events_match_the_golden_file(reference, clip, vad, mode):
    path = GOLDEN / f"{clip}.{vad}{mode}.jsonl"
    if os.environ.get(UPDATE_ENV):
        _update(path, clip, vad, mode, reference)
    assert path.is_file(), f"no golden file {path}; write it with {UPDATE_ENV}=1"
    want = [json.loads(line) for line in path.read_text().splitlines()]
    got = _events(clip, vad, mode)
    assert_same_event_dicts(got, want)
