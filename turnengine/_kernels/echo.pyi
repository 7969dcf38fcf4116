"""Type stub of the compiled echo-canceller kernel ``turnengine._kernels.echo``.

Built from ext/echo.pyx; the pure-Python twin ``echo_ref`` has the same names and parameters
(tests/test_kernel_stubs.py checks both against this file).
"""

import numpy as np
import numpy.typing as npt

BLOCK: int

class EchoCanceller:
    """Acoustic echo canceller on 64-sample blocks of model-rate float32 audio (ext/echo.pyx)."""

    def __init__(self, sample_rate_hz: int) -> None: ...
    @property
    def sample_rate_hz(self) -> int: ...
    @property
    def block_size(self) -> int: ...
    @property
    def delay_samples(self) -> int: ...
    @property
    def erle_db(self) -> float: ...
    @property
    def blocks(self) -> int: ...
    def reset(self) -> None: ...
    def process(
        self,
        mic: npt.NDArray[np.float32],
        far: npt.NDArray[np.float32],
        out: npt.NDArray[np.float32],
        delays: npt.NDArray[np.int64],
        stats: npt.NDArray[np.float64],
    ) -> int: ...
