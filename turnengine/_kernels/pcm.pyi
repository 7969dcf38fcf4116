"""Type stub of the compiled PCM intake kernel ``turnengine._kernels.pcm`` (ext/pcm.pyx).

The pure-Python twin ``pcm_ref`` has the same names and parameters
(tests/test_kernel_stubs.py checks both against this file).
"""

import numpy as np
import numpy.typing as npt

class Intake:
    """Streaming PCM intake: down-mix, scale to float32 and resample to 16 kHz (see ext/pcm.pyx)."""

    def __init__(self, sample_rate_hz: int, output_rate_hz: int | None = None) -> None: ...
    @property
    def sample_rate_hz(self) -> int: ...
    @property
    def output_rate_hz(self) -> int: ...
    @property
    def delay_samples(self) -> int: ...
    @property
    def up(self) -> int: ...
    @property
    def down(self) -> int: ...
    @property
    def taps_per_phase(self) -> int: ...
    @property
    def consumed(self) -> int: ...
    @property
    def produced(self) -> int: ...
    def max_output(self, n_frames: int) -> int: ...
    def process(
        self,
        x: npt.NDArray[np.int16] | npt.NDArray[np.float32],
        out: npt.NDArray[np.float32],
    ) -> int: ...
    def reset(self) -> None: ...

def window_rms(
    samples: npt.NDArray[np.float32], window: int, out: npt.NDArray[np.float32]
) -> int: ...

def intake_many(
    intakes: list[Intake],
    frames: npt.NDArray[np.int16],
    out: npt.NDArray[np.float32],
    pending: npt.NDArray[np.int64],
    consumed: npt.NDArray[np.int64],
) -> None: ...
