"""End-of-turn model runner: Pipecat's Smart Turn v3.2 on onnxruntime (SPEC 5).

Smart Turn v3 is a Whisper-Tiny encoder with a linear classifier, trained by Daily/Pipecat to
tell from the audio alone whether a speaker has finished their turn.  Its input is the 80-bin
Whisper log-mel features of the last 8 s of the turn (shape ``(1, 80, 800)``, see
:mod:`turnengine._kernels.features_ref` for the exact definition), its output the probability
that the turn is complete.  The int8-quantised CPU build, ``smart-turn-v3.2-cpu.onnx``
(8.7 MB, BSD-2-Clause), ships inside the ``pipecat-ai`` wheel at
``pipecat/audio/turn/smart_turn/data/``; install it with ``pip install 'turnengine[smart-turn]'``.
Nothing is ever downloaded.

Model interface (checked at load time)
--------------------------------------
input ``input_features``
    float32, shape ``(batch, 80, 800)``.
output ``logits``
    float32, shape ``(batch, 1)``.  Despite its name it is already a probability: the graph ends
    in a ``Sigmoid`` node (Pipecat reads it as such: ``prediction = probability > 0.5``).

Latency: about 70 ms per prediction on one thread of a 2-core AMD EPYC (the int8 matrix
products dominate), 37 ms on two; the features take 0.16 ms when streamed (``WhisperFeatures``).
Loading takes about 0.3 s.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _kernels
from ._packaged import first_file, package_file_candidates

#: The model file and where ``pipecat-ai`` ships it (relative to the ``pipecat`` package).
SMART_TURN_MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_RESOURCE = ("pipecat", "audio/turn/smart_turn/data/" + SMART_TURN_MODEL_FILE)
SMART_TURN_DISTRIBUTION = "pipecat-ai"
INSTALL_HINT = "pip install 'turnengine[smart-turn]'"

N_MELS = 80
N_FRAMES = 800
INPUT_NAME = "input_features"
OUTPUT_NAME = "logits"


class ModelUnavailableError(ImportError):
    """The end-of-turn model cannot be loaded: ``pipecat-ai`` (the ``smart-turn`` extra) is not
    installed, its model file is missing, or onnxruntime cannot open it.

    An :class:`ImportError` (the usual signal of a missing optional extra); ``path`` holds the
    file that was looked for, if any.  (It cannot also derive from :class:`FileNotFoundError`:
    CPython refuses the two exception layouts in one class.)
    """


def find_smart_turn_model() -> Path:
    """Locate ``smart-turn-v3.2-cpu.onnx`` inside the installed ``pipecat-ai`` package.

    ``pipecat`` is found without being imported (see :mod:`turnengine._packaged`: importing it
    logs a banner and, on Python < 3.12, replaces ``asyncio.wait_for`` process-wide); the
    wheel's file list (:mod:`importlib.metadata`) is the fallback.

    Returns
    -------
    pathlib.Path
        The model file.

    Raises
    ------
    ModelUnavailableError
        If ``pipecat-ai`` is not installed or does not ship the file.
    """
    package, resource = SMART_TURN_RESOURCE
    candidates = package_file_candidates(package, resource, SMART_TURN_DISTRIBUTION)
    found = first_file(candidates)
    if found is not None:
        return found
    if candidates is None:
        raise ModelUnavailableError(
            f"the smart-turn end-of-turn model needs the {SMART_TURN_DISTRIBUTION} package, "
            f"which is not installed; run: {INSTALL_HINT}",
            name=package,
        )
    raise ModelUnavailableError(
        f"{SMART_TURN_MODEL_FILE} not found in the installed {SMART_TURN_DISTRIBUTION} package "
        f"(looked at {', '.join(str(p) for p in candidates) or 'no location'}); a release that "
        f"ships it is needed: {INSTALL_HINT}",
        name=package,
        path=str(candidates[0]) if candidates else None,
    )


def _open_session(model_path: Path, intra_op_num_threads: int) -> Any:
    """An onnxruntime CPU session of the model: sequential, one inter-op thread, quiet logs.

    Raises
    ------
    ModelUnavailableError
        If onnxruntime is missing or cannot open the file.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
        raise ModelUnavailableError(
            f"the smart-turn model needs onnxruntime ({exc}); {INSTALL_HINT}"
        ) from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(intra_op_num_threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ModelUnavailableError(
            f"onnxruntime cannot open the smart-turn model {model_path}: {exc}",
            path=str(model_path),
        ) from exc


class SmartTurnModel:
    """Smart Turn v3.2 on onnxruntime: (80, 800) Whisper log-mel features -> P(turn complete).

    Build it with :meth:`load`.  ``predict`` is thread-safe and onnxruntime releases the GIL
    while it runs, so the engine can call it from a worker thread.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        A session of the model (see :meth:`load`).
    path : pathlib.Path, optional
        Where the model was read from (informational).

    Raises
    ------
    ModelUnavailableError
        If the session's inputs/outputs are not Smart Turn v3's.
    """

    def __init__(self, session: Any, path: Path | None = None) -> None:
        inputs = session.get_inputs()
        outputs = session.get_outputs()
        if (
            len(inputs) != 1
            or inputs[0].name != INPUT_NAME
            or list(inputs[0].shape[1:]) != [N_MELS, N_FRAMES]
            or len(outputs) != 1
            or list(outputs[0].shape[1:]) != [1]
        ):
            got = ", ".join(f"{i.name}{i.shape}" for i in inputs) + " -> " + ", ".join(
                f"{o.name}{o.shape}" for o in outputs
            )
            raise ModelUnavailableError(
                f"expected a Smart Turn v3 model ({INPUT_NAME}[batch, {N_MELS}, {N_FRAMES}] -> "
                f"[batch, 1]), got {got}",
                path=None if path is None else str(path),
            )
        self._session = session
        self._output = outputs[0].name
        self.path = path

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        intra_op_num_threads: int = 1,
        warmup: bool = True,
    ) -> SmartTurnModel:
        """Open the model with onnxruntime on the CPU.

        Parameters
        ----------
        path : str or Path, optional
            A ``smart-turn-v3*.onnx`` file; default: the one ``pipecat-ai`` ships
            (:func:`find_smart_turn_model`).
        intra_op_num_threads : int
            onnxruntime intra-op threads (default 1, as Pipecat; inter-op is always 1,
            sequential execution).
        warmup : bool
            Run one prediction on silence so the first real one does not pay onnxruntime's
            one-time allocations.

        Returns
        -------
        SmartTurnModel

        Raises
        ------
        ModelUnavailableError
            If the model (or ``pipecat-ai``) is missing, onnxruntime is missing, or onnxruntime
            cannot open the file.
        """
        model_path = find_smart_turn_model() if path is None else Path(path)
        if not model_path.is_file():
            raise ModelUnavailableError(
                f"smart-turn model file {model_path} does not exist; omit the path to use the one "
                f"{SMART_TURN_DISTRIBUTION} ships ({INSTALL_HINT})",
                path=str(model_path),
            )
        model = cls(_open_session(model_path, intra_op_num_threads), model_path)
        if warmup:
            model.predict(np.zeros((N_MELS, N_FRAMES), np.float32))
        return model

    def predict(self, features: npt.ArrayLike) -> float:
        """Probability that the turn is complete.

        Parameters
        ----------
        features : array of float32, shape ``(80, 800)`` (or ``(1, 80, 800)``)
            Smart Turn input features of the last 8 s of the turn, as written by
            ``WhisperFeatures.features`` (or ``whisper_log_mel``).  Other float dtypes are
            converted.

        Returns
        -------
        float
            P(turn complete) in [0, 1] (the model's sigmoid output).

        Raises
        ------
        ValueError
            If ``features`` has another shape or holds NaN/inf.
        """
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.shape == (N_MELS, N_FRAMES):
            x = x.reshape(1, N_MELS, N_FRAMES)
        elif x.shape != (1, N_MELS, N_FRAMES):
            raise ValueError(
                f"expected features of shape ({N_MELS}, {N_FRAMES}), got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("expected finite features, got NaN/inf")
        out = self._session.run([self._output], {INPUT_NAME: x})[0]
        return float(out.reshape(-1)[0])

    def predict_batch(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Probabilities of several turns at once (one onnxruntime call).

        Parameters
        ----------
        features : array of float32, shape ``(n, 80, 800)``

        Returns
        -------
        ndarray of float32, shape ``(n,)``

        Raises
        ------
        ValueError
            If ``features`` has another shape or holds NaN/inf.
        """
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (N_MELS, N_FRAMES) or x.shape[0] < 1:
            raise ValueError(
                f"expected features of shape (n, {N_MELS}, {N_FRAMES}), got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("expected finite features, got NaN/inf")
        out = self._session.run([self._output], {INPUT_NAME: x})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def predict_audio(self, audio: np.ndarray) -> float:
        """P(turn complete) for a whole turn's 16 kHz audio (features computed here).

        Parameters
        ----------
        audio : ndarray of int16 or float32, shape ``(n_samples,)``
            The turn's 16 kHz mono audio including the silence after it; only the last 8 s
            count (Pipecat's ``LocalSmartTurnAnalyzerV3._predict_endpoint``).

        Returns
        -------
        float

        Raises
        ------
        TypeError, ValueError
            As ``whisper_log_mel``.
        """
        return self.predict(_kernels.load("features").whisper_log_mel(audio))


def load_smart_turn(*, warn: bool = True, stacklevel: int = 2) -> SmartTurnModel | None:
    """Load the Smart Turn model, or say why not and return None (use the fixed delay then).

    The one place ``turn_detector="smart-turn"`` is resolved: an engine, a group of streams or
    an evaluation run loads the model here and shares it; without it each engine falls back to
    ``min_endpointing_delay`` and reports ``reason="fallback"`` on its turns.

    Parameters
    ----------
    warn : bool
        Issue a ``UserWarning`` when the model is unavailable (False: return None quietly, for a
        caller that lets each engine warn itself).
    stacklevel : int
        The warning's stack level as if the caller had called ``warnings.warn`` itself (2: it
        points at the line that called the caller).

    Returns
    -------
    SmartTurnModel or None
        The model (``SmartTurnModel.load()``), or None when it cannot be loaded.

    Warns
    -----
    UserWarning
        ``turn_detector='smart-turn' is unavailable (...)`` when ``warn`` and the model (or the
        ``smart-turn`` extra) is missing.
    """
    try:
        return SmartTurnModel.load()
    except ModelUnavailableError as exc:
        if warn:
            warnings.warn(f"turn_detector='smart-turn' is unavailable ({exc}); using the fixed "
                          "min_endpointing_delay instead", stacklevel=stacklevel + 1)
        return None
