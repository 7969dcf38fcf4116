"""Type stub of the compiled ``turnengine._kernels.hysteresis`` (ext/hysteresis.pyx).

The pure-Python twin ``hysteresis_ref`` has the same names and parameters
(tests/test_kernel_stubs.py checks both against this file).
"""

import numpy as np
import numpy.typing as npt

class Hysteresis:
    """Streaming VAD hysteresis over per-window speech probabilities (SPEC 3.2)."""

    def __init__(
        self,
        window_size: int,
        activation_threshold: float,
        deactivation_threshold: float,
        min_speech_windows: int,
        min_silence_windows: int,
        smoothing_alpha: float,
        min_volume: float = 0.0,
    ) -> None: ...
    def reset(self) -> None: ...
    def configure(
        self,
        activation_threshold: float,
        deactivation_threshold: float,
        min_speech_windows: int,
        min_silence_windows: int,
        smoothing_alpha: float,
        min_volume: float = 0.0,
    ) -> None: ...
    def restore(
        self, smoothed: float, speaking: bool, speech_run: int, silence_run: int
    ) -> None: ...
    def force_silence(self) -> bool: ...
    @property
    def speaking(self) -> bool: ...
    @property
    def speech_run(self) -> int: ...
    @property
    def silence_run(self) -> int: ...
    @property
    def window_size(self) -> int: ...
    def process(
        self,
        probs: npt.NDArray[np.float32],
        rms: npt.NDArray[np.float32] | None,
        start_sample: int,
        flags_out: npt.NDArray[np.uint8],
        smoothed_out: npt.NDArray[np.float32],
        ev_code: npt.NDArray[np.int32],
        ev_sample: npt.NDArray[np.int64],
        ev_aux: npt.NDArray[np.int64],
        runs_out: npt.NDArray[np.int64] | None = None,
    ) -> int: ...
    def bind(
        self,
        probs: npt.NDArray[np.float32],
        rms: npt.NDArray[np.float32],
        flags_out: npt.NDArray[np.uint8],
        smoothed_out: npt.NDArray[np.float32],
        ev_code: npt.NDArray[np.int32],
        ev_sample: npt.NDArray[np.int64],
        ev_aux: npt.NDArray[np.int64],
        runs_out: npt.NDArray[np.int64] | None = None,
    ) -> None: ...
    def step(self, n: int, start_sample: int) -> int: ...

def step_many(
    hysts: list[Hysteresis],
    n_win: npt.NDArray[np.int64],
    start_sample: npt.NDArray[np.int64],
    n_events_out: npt.NDArray[np.int64],
) -> None: ...
