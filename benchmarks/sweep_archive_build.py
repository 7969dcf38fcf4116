"""A synthetic call archive for ``benchmarks/sweep_archive.py``: N calls cut from the shared
clips with varied gain, offset, noise and host scenarios, and a CSV manifest.

Sources: ``../shared/audio/turns/*.wav`` (real conversational turns), ``../shared/audio/*.wav``
and the repo's ``tests/data/*.wav`` (by name, each once).  Each call (seeded, so the archive is
the same on every run):

- a window of the source: the whole clip when it is at most 15 s, else 6-15 s of it;
- gain: -18 to +6 dB (clipped to int16);
- offset: 0-3 s of leading silence;
- noise over the whole call (leading silence included): none, white or pink at 30, 20 or 10 dB
  SNR against the speech's RMS;
- a scenario on one call in three (docs/scenarios.md): an agent greeting over the leading
  silence when there is room, one agent speech in the call that the caller may interrupt, and
  one final transcript.

16 kHz mono PCM16 WAV.  Usage: ``python benchmarks/sweep_archive_build.py DIR [--calls N]``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
SNRS_DB = (30.0, 20.0, 10.0)
PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
"""Pink (1/f) noise from white noise: Paul Kellet's / Julius O. Smith's 3-pole filter."""


def source_clips() -> list[Path]:
    """The shared clips and tests/data, each name once (16 kHz mono, checked when read)."""
    shared = ROOT.parent / "shared" / "audio"
    found: dict[str, Path] = {}
    for folder in (shared / "turns", shared, ROOT / "tests" / "data"):
        for path in sorted(folder.glob("*.wav")):
            found.setdefault(path.name, path)
    if not found:
        raise FileNotFoundError(f"no clip in {shared} or {ROOT / 'tests' / 'data'}")
    return list(found.values())


def _load(paths: list[Path]) -> list[np.ndarray]:
    clips = []
    for path in paths:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        if rate != RATE:
            raise ValueError(f"{path}: expected {RATE} Hz, got {rate}")
        clips.append(data.mean(axis=1))
    return clips


def _noise(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    white = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        return white
    pink = lfilter(PINK_B, PINK_A, white).astype(np.float32)
    return pink / max(float(np.std(pink)), 1e-9)


def _scenario(rng: np.random.Generator, offset_s: float, duration_s: float) -> dict:
    agent = []
    if offset_s > 1.0:
        agent.append({"start_s": 0.1, "end_s": round(offset_s - 0.3, 3),
                      "text": "Hello, how can I help?"})
    start = float(rng.uniform(offset_s + 0.5, max(offset_s + 0.6, duration_s - 1.5)))
    agent.append({"start_s": round(start, 3), "end_s": round(start + rng.uniform(1.0, 3.0), 3),
                  "text": "Let me check that for you.", "allow_interruptions": True})
    t = float(rng.uniform(offset_s, duration_s))
    return {"agent": agent, "transcripts": [{"t_s": round(t, 3), "text": "yes please",
                                             "is_final": True, "confidence": 0.9}]}


def make_call(rng: np.random.Generator, clip: np.ndarray) -> tuple[np.ndarray, dict, float]:
    """One call: int16 samples, what was done to it, and its leading offset (s)."""
    n = clip.shape[0]
    if n > 15 * RATE:
        length = int(rng.uniform(6, 15) * RATE)
        start = int(rng.integers(0, n - length))
        clip = clip[start:start + length]
    gain_db = float(rng.uniform(-18, 6))
    offset_s = float(rng.uniform(0, 3))
    kind = str(rng.choice(["none", "white", "pink"]))
    snr_db = float(rng.choice(SNRS_DB))
    speech = clip * np.float32(10 ** (gain_db / 20))
    out = np.concatenate([np.zeros(int(offset_s * RATE), np.float32), speech])
    if kind != "none":
        rms = max(float(np.sqrt(np.mean(speech ** 2))), 1e-6)
        out += _noise(rng, out.shape[0], kind) * np.float32(rms * 10 ** (-snr_db / 20))
    samples = np.clip(np.round(out * 32767), -32768, 32767).astype(np.int16)
    return samples, {"gain_db": round(gain_db, 2), "offset_s": round(offset_s, 3),
                     "noise": kind, "snr_db": snr_db if kind != "none" else None}, offset_s


def build_archive(folder: Path, n_calls: int, seed: int = 0) -> tuple[Path, float]:
    """Write ``n_calls`` calls, their scenarios and ``manifest.csv``; (manifest, seconds)."""
    rng = np.random.default_rng(seed)
    paths = source_clips()
    clips = _load(paths)
    folder.mkdir(parents=True, exist_ok=True)
    total_s = 0.0
    with (folder / "manifest.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["audio", "scenario", "source", "gain_db", "offset_s", "noise",
                         "snr_db"])
        for i in range(n_calls):
            k = int(rng.integers(0, len(clips)))
            samples, made, offset_s = make_call(rng, clips[k])
            duration_s = samples.shape[0] / RATE
            total_s += duration_s
            name = f"call{i:05d}.wav"
            sf.write(folder / name, samples, RATE, subtype="PCM_16")
            scenario = ""
            if rng.random() < 1 / 3:
                scenario = f"call{i:05d}.scenario.json"
                (folder / scenario).write_text(json.dumps(_scenario(rng, offset_s,
                                                                    duration_s)))
            writer.writerow([name, scenario, paths[k].name, made["gain_db"], made["offset_s"],
                             made["noise"], made["snr_db"] or ""])
    return folder / "manifest.csv", total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    manifest, total_s = build_archive(args.dir, args.calls, args.seed)
    print(f"{manifest}: {args.calls} calls, {total_s / 3600:.2f} h of audio")


if __name__ == "__main__":
    main()
