"""The calls of a sweep (``turnengine sweep SOURCE``): a directory or a manifest.

A directory gives every ``NAME.wav`` / ``NAME.flac`` in it (sorted by name), labelled when a
``NAME.json`` label file (SPEC 11) sits beside it (:func:`~turnengine.tools.eval.runner.
label_file`: also ``NAME.json`` beside an echo set's ``NAME.mic.wav``, whose
``NAME.playout.wav`` is its playout reference, not a call).  A manifest is a CSV file (a
header row naming ``audio`` and optionally ``labels``, ``scenario`` and ``playout``; ``label``
is taken for ``labels``) or a JSONL file (one object a line with the same keys); relative paths
are relative to the manifest, other columns are ignored.  A manifest may name files that do not
exist: the sweep records them as failed calls and goes on.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..eval.runner import AUDIO_SUFFIXES, MIC_SUFFIX, label_file

__all__ = ["Call", "load_calls"]

MANIFEST_SUFFIXES = (".csv", ".jsonl")
MANIFEST_KEYS = ("audio", "labels", "scenario", "playout")
PLAYOUT_SUFFIX = ".playout"


@dataclass(frozen=True)
class Call:
    """One call of the archive.

    Attributes
    ----------
    name : str
        Unique, stable name: the audio path relative to the source (sorting key).
    audio : Path
        The audio file (WAV/FLAC).
    labels : Path or None
        SPEC 11 label file; ``None`` for an unlabelled call.
    scenario : Path or None
        Host scenario (agent speech, transcripts) played during the replay.
    playout : Path or None
        The agent's playout (far-end) audio: the echo reference the replay pushes
        (:func:`.work.playout_for`), and kept in the results.
    """

    name: str
    audio: Path
    labels: Path | None = None
    scenario: Path | None = None
    playout: Path | None = None


def load_calls(source: str | os.PathLike[str]) -> list[Call]:
    """The calls of a directory or a manifest, sorted by name.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    ValueError
        If it is neither a directory nor a ``.csv``/``.jsonl`` manifest, a manifest row has no
        audio path, two rows name the same audio, or there is no call at all.
    """
    root = Path(source)
    if root.is_dir():
        calls = _directory_calls(root)
    elif not root.exists():
        raise FileNotFoundError(f"no such directory or manifest: {root}")
    elif root.suffix.lower() in MANIFEST_SUFFIXES:
        calls = _manifest_calls(root)
    else:
        raise ValueError(f"{root}: expected a directory or a manifest (.csv or .jsonl), got a "
                         f"{root.suffix or 'suffix-less'} file")
    if not calls:
        raise ValueError(f"{root} holds no call (.wav/.flac audio)")
    names = [c.name for c in calls]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ValueError(f"{root}: {dup} is listed twice")
    return sorted(calls, key=lambda c: c.name)


def _directory_calls(root: Path) -> list[Call]:
    calls = []
    for audio in sorted(root.iterdir()):
        if audio.suffix.lower() not in AUDIO_SUFFIXES or not audio.is_file():
            continue
        kind = Path(audio.stem).suffix.lower()
        if kind == PLAYOUT_SUFFIX:
            continue
        playout = None
        if kind == MIC_SUFFIX:
            playout = audio.with_name(Path(audio.stem).stem + PLAYOUT_SUFFIX + audio.suffix)
        calls.append(Call(audio.name, audio, label_file(audio),
                          playout=playout if playout is not None and playout.is_file() else None))
    return calls


def _manifest_rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None or "audio" not in reader.fieldnames:
            raise ValueError(f"{path}: expected a header row with an 'audio' column "
                             f"(and optionally 'labels', 'scenario', 'playout'), got "
                             f"{reader.fieldnames}")
        return [dict(row) for row in reader]
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{n}: expected an object with 'audio', got "
                             f"{type(row).__name__}")
        rows.append(row)
    return rows


def _manifest_calls(path: Path) -> list[Call]:
    base = path.parent
    calls = []
    for n, row in enumerate(_manifest_rows(path), 1):
        if "label" in row and "labels" in row:
            raise ValueError(f"{path}: row {n} has both 'label' and 'labels'; give one")
        values = {k: row.get(k) for k in MANIFEST_KEYS}
        if "label" in row:
            values["labels"] = row["label"]
        if not isinstance(values["audio"], str) or not values["audio"].strip():
            raise ValueError(f"{path}: row {n} has no audio path")
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{path}: row {n}: {key} must be a path, got {value!r}")
        audio, labels, scenario, playout = (base / v.strip() if v and v.strip() else None
                                            for v in (values[k] for k in MANIFEST_KEYS))
        assert audio is not None
        calls.append(Call(values["audio"].strip(), audio, labels, scenario, playout))
    return calls
