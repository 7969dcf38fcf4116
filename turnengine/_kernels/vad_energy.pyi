"""Type stub of the compiled energy VAD kernel ``turnengine._kernels.vad_energy``.

Built from ext/vad_energy.pyx; the pure-Python twin ``vad_energy_ref`` has the same names and
parameters (tests/test_kernel_stubs.py checks both against this file).
"""

import numpy as np
import numpy.typing as npt

class EnergyVAD:
    """Model-free VAD: one speech probability in [0, 1] per 10 ms window (ext/vad_energy.pyx)."""

    def __init__(self, sample_rate_hz: int) -> None: ...
    @property
    def sample_rate_hz(self) -> int: ...
    @property
    def window_size(self) -> int: ...
    def process(
        self, samples: npt.NDArray[np.float32], probs_out: npt.NDArray[np.float32]
    ) -> int: ...
    def reset(self) -> None: ...
