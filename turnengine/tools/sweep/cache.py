"""Results cached per (call, configuration): one small JSON file per pair in ``OUTDIR/cache``.

The key hashes what decides a replay: the audio file (path, size, mtime) and the scenario and
playout files likewise, the configuration (its complete options and end-of-turn model), the
replay settings and the turnengine version.  Labels are not in it: scoring runs on the cached
scorer inputs, so editing a label file rescores without replaying.  An interrupted sweep re-run
with the same OUTDIR replays only the pairs without a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..eval.sweep import SweepConfig
from .source import Call
from .work import ReplaySettings

__all__ = ["ResultCache", "config_hash", "turnengine_version"]


def turnengine_version() -> str:
    """The installed turnengine version (``"unknown"`` in a source tree without metadata)."""
    try:
        from importlib.metadata import version

        return version("turnengine")
    except Exception:
        return "unknown"


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_hash(config: SweepConfig, settings: ReplaySettings) -> str:
    """Hash of everything a configuration changes in a replay (hex, 16 characters)."""
    return _digest({"options": config.options.to_dict(), "turn_detector": config.turn_detector,
                    "vad": settings.vad, "model_path": settings.model_path,
                    "overrides": dict(settings.overrides),
                    "params": config.params})[:16]


def _stat(path: Path | None) -> list[Any] | None:
    """``[absolute path, size, mtime_ns]``; raises ``OSError`` if the file cannot be stat'ed."""
    if path is None:
        return None
    st = os.stat(path)
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


class ResultCache:
    """The cache directory of a sweep (created on the first write)."""

    def __init__(self, directory: Path, version: str | None = None) -> None:
        self.directory = directory
        self.version = turnengine_version() if version is None else version

    def stamp(self, call: Call) -> dict[str, Any]:
        """What of the call's files goes into its keys (stat'ed once per call).

        Raises
        ------
        OSError
            If the audio, scenario or playout file cannot be stat'ed (missing): not cacheable.
        """
        return {"audio": _stat(call.audio), "scenario": _stat(call.scenario),
                "playout": _stat(call.playout), "version": self.version}

    def key(self, call: Call | dict[str, Any], config_id: str) -> str:
        """The pair's file stem, from the call or its :meth:`stamp`.

        Raises
        ------
        OSError
            As :meth:`stamp`.
        """
        stamp = call if isinstance(call, dict) else self.stamp(call)
        return _digest({**stamp, "config": config_id})[:32]

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached record, or ``None`` (absent, or unreadable: then it is recomputed)."""
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Write atomically (a temporary file renamed), so a killed sweep leaves no half file."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)
