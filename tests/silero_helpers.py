"""Shared setup of the native Silero kernel tests (tests/test_vad_silero*.py): weights, clips,
onnxruntime references, the code-path fixture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import load_clip
from scipy.signal import resample_poly

from turnengine._kernels import vad_silero as native
from turnengine.vad import (
    SileroOnnxVAD,
    find_silero_model,
    read_silero_weights,
)

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"
SHARED_CLIPS = sorted(SHARED_AUDIO.glob("*.wav")) if SHARED_AUDIO.is_dir() else []
RATES = [16000, 8000]
PATHS = ["simd", "generic"]
TOL_ONNX = 1e-4  # SPEC 3.1
TOL_REF = 1e-5   # STYLE point 10


# -- helpers ----------------------------------------------------------------------------------
_WEIGHTS: dict[int, dict[str, np.ndarray]] = {}
_ONNX: dict[tuple[str, int], np.ndarray] = {}


def weights(rate: int) -> dict[str, np.ndarray]:
    if rate not in _WEIGHTS:
        _WEIGHTS[rate] = read_silero_weights(find_silero_model(), rate)
    return _WEIGHTS[rate]


def model(rate: int) -> native.SileroModel:
    return native.SileroModel(rate, weights(rate))


def at_rate(pcm: np.ndarray, rate_in: int, rate: int) -> np.ndarray:
    """int16 samples of a clip at ``rate`` (polyphase resampling as the issue asks)."""
    if rate_in == rate:
        return pcm
    g = np.gcd(rate_in, rate)
    y = resample_poly(pcm.astype(np.float64), rate // g, rate_in // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def to_float(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / np.float32(32768.0)


def onnx_probs(key: str, pcm: np.ndarray, rate: int) -> np.ndarray:
    if (key, rate) not in _ONNX:
        _ONNX[key, rate] = SileroOnnxVAD(rate).probabilities(pcm)
    return _ONNX[key, rate]


def run_kernel(kernel, x: np.ndarray) -> np.ndarray:
    n = x.shape[0] // kernel.window_size
    out = np.full(n, np.nan, dtype=np.float32)
    kernel.process(np.ascontiguousarray(x[: n * kernel.window_size]), out)
    return out


def code_path_fixture():
    """A ``code_path`` fixture: run a test on the AVX2 path (when the CPU has it), then on the
    portable C path.  Use as ``code_path = code_path_fixture()`` in a test module."""

    @pytest.fixture(params=PATHS, name="code_path")
    def code_path(request):
        """Run a test on the AVX2 path (when the CPU has it) and on the portable C path."""
        level = native._set_simd(request.param == "simd")
        if request.param == "simd" and level != "avx2":
            pytest.skip("this CPU has no AVX2+FMA; the generic run covers the kernel")
        yield level
        native._set_simd(True)

    return code_path


def clip_pcm(name: str, rate: int) -> np.ndarray:
    pcm, rate_in = load_clip(name)
    return at_rate(pcm, rate_in, rate)
