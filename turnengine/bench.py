"""Latency and throughput of the native Silero kernel against onnxruntime: moved to
:mod:`turnengine.tools.bench`, re-exported here (``turnengine.bench.run_bench``)."""

from __future__ import annotations

from .tools import bench as _home
from .tools.bench import *  # noqa: F403

__all__ = _home.__all__
