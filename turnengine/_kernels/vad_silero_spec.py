"""Specification of the native Silero VAD v5 kernel, shared by ``ext/vad_silero.pyx`` and its twin.

Both ``ext/vad_silero.pyx`` and ``vad_silero_ref.py`` import this module, so they can never
disagree about what a valid model is: the layer sizes, the tensor list with its shapes
(``weight_shapes``) and the weight checks (``checked_weights``, identical error messages).  Plain
Python and numpy; no kernel state lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

H = 128  # LSTM hidden size; conv1 and conv4 channels
C2 = 64  # conv2 and conv3 channels

def weight_shapes(sample_rate_hz: int) -> dict[str, tuple[int, ...]]:
    """Shapes of the Silero v5 tensors for one rate, keyed by their PyTorch names.

    Raises
    ------
    ValueError
        If the rate is not 8000 or 16000.
    """
    if sample_rate_hz not in (8000, 16000):
        raise ValueError(f"silero runs at 8000 or 16000 Hz, got {sample_rate_hz}")
    nfft = 256 if sample_rate_hz == 16000 else 128
    nb = nfft // 2 + 1
    return {
        "stft.forward_basis_buffer": (2 * nb, 1, nfft),
        "encoder.0.reparam_conv.weight": (H, nb, 3),
        "encoder.0.reparam_conv.bias": (H,),
        "encoder.1.reparam_conv.weight": (C2, H, 3),
        "encoder.1.reparam_conv.bias": (C2,),
        "encoder.2.reparam_conv.weight": (C2, C2, 3),
        "encoder.2.reparam_conv.bias": (C2,),
        "encoder.3.reparam_conv.weight": (H, C2, 3),
        "encoder.3.reparam_conv.bias": (H,),
        "decoder.rnn.weight_ih": (4 * H, H),
        "decoder.rnn.weight_hh": (4 * H, H),
        "decoder.rnn.bias_ih": (4 * H,),
        "decoder.rnn.bias_hh": (4 * H,),
        "decoder.decoder.2.weight": (1, H, 1),
        "decoder.decoder.2.bias": (1,),
    }



def checked_weights(sample_rate_hz: int, weights: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Validate the tensors of ``weight_shapes`` and return them as C-contiguous float32.

    Raises
    ------
    ValueError
        Unsupported rate, a missing tensor, a wrong shape, NaN/inf weights, or an STFT basis that
        is not a periodic-Hann windowed DFT.
    """
    shapes = weight_shapes(sample_rate_hz)
    out: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name not in weights:
            raise ValueError(f"missing Silero weight {name!r} for {sample_rate_hz} Hz")
        a = np.asarray(weights[name])
        if a.shape != shape:
            raise ValueError(f"expected Silero weight {name!r} of shape {shape}, got {a.shape}")
        a = np.ascontiguousarray(a, dtype=np.float32)
        if not np.isfinite(a).all():
            raise ValueError(f"Silero weight {name!r} contains NaN or inf")
        out[name] = a
    basis = out["stft.forward_basis_buffer"][:, 0, :].astype(np.float64)
    nfft = basis.shape[1]
    nb = nfft // 2 + 1
    win = basis[0]
    n = np.arange(nfft)
    k = np.arange(nb)[:, None]
    err = max(np.abs(basis[:nb] - win * np.cos(2.0 * np.pi * k * n / nfft)).max(),
              np.abs(basis[nb:] + win * np.sin(2.0 * np.pi * k * n / nfft)).max())
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / nfft)
    if err > 1e-6 or np.abs(win - hann).max() > 1e-6:
        raise ValueError("the model's STFT basis is not a periodic-Hann windowed DFT (max error "
                         f"{err:.2e}); this kernel only runs Silero v5-style front ends")
    return out
