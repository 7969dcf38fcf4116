"""Latency and throughput of the native Silero kernel against onnxruntime: moved to
:mod:`turnengine.tools.bench`, re-exported here (``turnengine.bench.run_bench``)."""

from __future__ import annotations

from .tools.bench import DEFAULT_AUDIO, end_to_end_latency, rss_bytes, rss_per_stream, run_bench

__all__ = ["DEFAULT_AUDIO", "end_to_end_latency", "rss_bytes", "rss_per_stream", "run_bench"]
