"""Pure numpy reference twin of ``ext/vad_silero.pyx`` (STYLE.md point 10): same API, same errors.

It follows the ONNX graph literally, one stream at a time: the STFT as the model's own
convolution basis (no FFT), the four encoder convolutions by im2col, the LSTM cell, the decoder.
It is the executable specification the compiled kernel is tested against (within 1e-5), and what
``TURNENGINE_PUREPYTHON=1`` runs.  Slow: a few hundred us per window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .vad_silero_spec import H, checked_weights, weight_shapes

__all__ = ["H", "SileroBatch", "SileroKernel", "SileroModel", "simd_level", "weight_shapes"]


def simd_level() -> str:
    """str: always ``"reference"`` for the twin."""
    return "reference"


def _set_simd(enabled: bool) -> str:
    return simd_level()


def _conv_relu(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """Conv1d(k=3, pad=1, stride) + ReLU on ``x`` of shape (c_in, t) by im2col."""
    c_in, t = x.shape
    xp = np.zeros((c_in, t + 2), dtype=np.float32)
    xp[:, 1:-1] = x
    t_out = (t + 2 - 3) // stride + 1
    cols = np.stack([xp[:, i * stride:i * stride + 3].ravel() for i in range(t_out)])
    y = cols @ w.reshape(w.shape[0], c_in * 3).T + b
    return np.maximum(y, np.float32(0.0)).T.astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (np.float32(1.0) / (np.float32(1.0) + np.exp(-x))).astype(np.float32)


class SileroModel:
    """Silero VAD v5 weights for one rate (reference twin of the compiled ``SileroModel``).

    Parameters
    ----------
    sample_rate_hz : {16000, 8000}
    weights : mapping of str to numpy.ndarray
        The tensors of :func:`weight_shapes`.

    Raises
    ------
    ValueError
        Unsupported rate, a missing tensor, a wrong shape, NaN/inf weights, or an STFT basis that
        is not a periodic-Hann windowed DFT.
    """

    def __init__(self, sample_rate_hz: int, weights: Mapping[str, Any]) -> None:
        w = checked_weights(sample_rate_hz, weights)
        self.sample_rate_hz = sample_rate_hz
        self.window_size = 512 if sample_rate_hz == 16000 else 256
        self.context_size = 64 if sample_rate_hz == 16000 else 32
        self._basis = w["stft.forward_basis_buffer"][:, 0, :]
        self._nfft = self._basis.shape[1]
        self._nb = self._nfft // 2 + 1
        self._enc = [(w[f"encoder.{i}.reparam_conv.weight"], w[f"encoder.{i}.reparam_conv.bias"],
                      s) for i, s in enumerate((1, 2, 2, 1))]
        self._w_ih = w["decoder.rnn.weight_ih"]
        self._w_hh = w["decoder.rnn.weight_hh"]
        self._b_ih = w["decoder.rnn.bias_ih"]
        self._b_hh = w["decoder.rnn.bias_hh"]
        self._w_dec = w["decoder.decoder.2.weight"].reshape(H)
        self._b_dec = w["decoder.decoder.2.bias"]

    @property
    def state_bytes(self) -> int:
        """int: bytes of one stream's state (context, h, c)."""
        return (self.context_size + 2 * H) * 4

    def __repr__(self) -> str:
        return (f"SileroModel(sample_rate_hz={self.sample_rate_hz}, window_size="
                f"{self.window_size}, context_size={self.context_size}, simd='reference')")

    def forward(self, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> float:
        """One window: ``x`` = [context | window]; updates ``h`` and ``c`` (float32 (128,))
        in place and returns the speech probability."""
        pad = self.context_size
        xp = np.concatenate([x, x[-2:-pad - 2:-1]]).astype(np.float32)  # ONNX Pad reflect, right
        hop = self._nfft // 2
        frames = np.stack([xp[i * hop:i * hop + self._nfft] for i in range(4)])
        spec = self._basis @ frames.T                          # (2 * nb, 4)
        re, im = spec[:self._nb], spec[self._nb:]
        feat = np.sqrt(re * re + im * im).astype(np.float32)   # (nb, 4)
        for w, b, stride in self._enc:
            feat = _conv_relu(feat, w, b, stride)
        xin = feat[:, 0]
        gates = (self._w_ih @ xin + self._b_ih) + (self._w_hh @ h + self._b_hh)
        i_g = _sigmoid(gates[:H])
        f_g = _sigmoid(gates[H:2 * H])
        g_g = np.tanh(gates[2 * H:3 * H])
        o_g = _sigmoid(gates[3 * H:])
        c[:] = f_g * c + i_g * g_g
        h[:] = o_g * np.tanh(c)
        z = np.dot(np.maximum(h, np.float32(0.0)), self._w_dec) + self._b_dec[0]
        return float(_sigmoid(np.asarray([z], dtype=np.float32))[0])


def _f32(a: Any, ndim: int, name: str) -> np.ndarray:
    x = np.asarray(a)
    if x.dtype != np.float32:
        raise ValueError(f"expected float32 {name}, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"expected a {ndim}-D {name}, got shape {x.shape}")
    return x


def _mask(active: Any, n: int) -> np.ndarray:
    if active is None:
        return np.ones(n, dtype=bool)
    a = np.asarray(active)
    if a.shape != (n,):
        raise ValueError(f"expected active of shape ({n},), got {a.shape}")
    if a.dtype != np.bool_ and a.dtype != np.uint8:
        raise TypeError(f"expected a bool or uint8 active mask, got {a.dtype}")
    return a.astype(bool)


class _Stream:
    def __init__(self, model: SileroModel) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self.ctx = np.zeros(self.model.context_size, dtype=np.float32)
        self.h = np.zeros(H, dtype=np.float32)
        self.c = np.zeros(H, dtype=np.float32)

    def run(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        w = self.model.window_size
        for k in range(samples.shape[0] // w):
            win = samples[k * w:(k + 1) * w]
            probs_out[k] = self.model.forward(np.concatenate([self.ctx, win]), self.h, self.c)
            self.ctx = win[w - self.model.context_size:].copy()

    def get_state(self) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([self.h, self.c])[:, None, :].copy(), self.ctx.copy()

    def set_state(self, state: Any, context: Any) -> None:
        sa = np.ascontiguousarray(state, dtype=np.float32)
        ca = np.ascontiguousarray(context, dtype=np.float32)
        if sa.shape != (2, 1, H):
            raise ValueError(f"expected state of shape (2, 1, {H}), got {sa.shape}")
        if ca.shape != (self.model.context_size,):
            raise ValueError(f"expected context of shape ({self.model.context_size},), got "
                             f"{ca.shape}")
        if not (np.isfinite(sa).all() and np.isfinite(ca).all()):
            raise ValueError("expected a finite state and context, got NaN or inf")
        self.h = sa[0, 0].copy()
        self.c = sa[1, 0].copy()
        self.ctx = ca.copy()


def _check_chunk(samples: Any, probs_out: Any, w: int) -> tuple[np.ndarray, np.ndarray, int]:
    x = _f32(samples, 1, "samples")
    p = _f32(probs_out, 1, "probs_out")
    n = x.shape[0]
    if n % w:
        raise ValueError(f"expected a whole number of {w}-sample windows, got {n} samples")
    if p.shape[0] < n // w:
        raise ValueError(f"expected probs_out of length >= {n // w}, got {p.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("expected finite samples, got NaN or inf")
    return x, p, n // w


class SileroKernel:
    """One Silero VAD stream (reference twin of the compiled ``SileroKernel``)."""

    def __init__(self, model: SileroModel) -> None:
        if not isinstance(model, SileroModel):
            raise TypeError(f"expected a SileroModel, got {type(model).__name__}")
        self._s = _Stream(model)

    @property
    def model(self) -> SileroModel:
        return self._s.model

    @property
    def sample_rate_hz(self) -> int:
        return self._s.model.sample_rate_hz

    @property
    def window_size(self) -> int:
        return self._s.model.window_size

    @property
    def context_size(self) -> int:
        return self._s.model.context_size

    def reset(self) -> None:
        self._s.reset()

    def get_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self._s.get_state()

    def set_state(self, state: Any, context: Any) -> None:
        self._s.set_state(state, context)

    def process(self, samples: Any, probs_out: Any) -> int:
        x, p, nw = _check_chunk(samples, probs_out, self.window_size)
        self._s.run(x, p)
        return nw


class SileroBatch:
    """N Silero VAD streams (reference twin of the compiled ``SileroBatch``)."""

    def __init__(self, model: SileroModel, n_streams: int) -> None:
        if not isinstance(model, SileroModel):
            raise TypeError(f"expected a SileroModel, got {type(model).__name__}")
        if n_streams < 1:
            raise ValueError(f"expected n_streams >= 1, got {n_streams}")
        self._model = model
        self._streams = [_Stream(model) for _ in range(n_streams)]

    @property
    def model(self) -> SileroModel:
        return self._model

    @property
    def n_streams(self) -> int:
        return len(self._streams)

    @property
    def sample_rate_hz(self) -> int:
        return self._model.sample_rate_hz

    @property
    def window_size(self) -> int:
        return self._model.window_size

    @property
    def context_size(self) -> int:
        return self._model.context_size

    def _check_stream(self, stream: int) -> None:
        if not 0 <= stream < len(self._streams):
            raise IndexError(f"expected a stream index in [0, {len(self._streams)}), got "
                             f"{stream}")

    def reset(self, stream: int | None = None) -> None:
        if stream is None:
            for s in self._streams:
                s.reset()
        else:
            self._check_stream(stream)
            self._streams[stream].reset()

    def get_state(self, stream: int) -> tuple[np.ndarray, np.ndarray]:
        self._check_stream(stream)
        return self._streams[stream].get_state()

    def set_state(self, stream: int, state: Any, context: Any) -> None:
        self._check_stream(stream)
        self._streams[stream].set_state(state, context)

    def process_batch(self, windows: Any, probs_out: Any, active: Any = None) -> int:
        n, w = len(self._streams), self.window_size
        x = _f32(windows, 2, "windows")
        p = _f32(probs_out, 1, "probs_out")
        if x.shape != (n, w):
            raise ValueError(f"expected windows of shape ({n}, {w}), got {x.shape}")
        if p.shape != (n,):
            raise ValueError(f"expected probs_out of shape ({n},), got {p.shape}")
        act = _mask(active, n)
        if not np.isfinite(x[act]).all():
            raise ValueError("expected finite samples, got NaN or inf")
        for i in np.flatnonzero(act):
            self._streams[i].run(x[i], p[i:i + 1])
        return int(act.sum())

    def process_many(self, samples: Any, probs_out: Any, active: Any = None) -> int:
        n, w = len(self._streams), self.window_size
        x = _f32(samples, 2, "samples")
        p = _f32(probs_out, 2, "probs_out")
        if x.shape[0] != n or x.shape[1] % w:
            raise ValueError(f"expected samples of shape ({n}, n_windows * {w}), got {x.shape}")
        nw = x.shape[1] // w
        if p.shape[0] != n or p.shape[1] < nw:
            raise ValueError(f"expected probs_out of shape ({n}, >= {nw}), got {p.shape}")
        act = _mask(active, n)
        if nw == 0:
            return 0
        if not np.isfinite(x[act]).all():
            raise ValueError("expected finite samples, got NaN or inf")
        for i in np.flatnonzero(act):
            self._streams[i].run(x[i], p[i])
        return nw

    def process_stream(self, stream: int, samples: Any, probs_out: Any) -> int:
        self._check_stream(stream)
        x, p, nw = _check_chunk(samples, probs_out, self.window_size)
        self._streams[stream].run(x, p)
        return nw
