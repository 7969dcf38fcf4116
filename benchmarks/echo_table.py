"""The echo set scored every way in one run: docs/echo.md's table.

For an echo set (``../shared/audio/echo``), in the same run:

* **no reference**: the mic alone, default options (``aec_warmup_duration`` 3 s) and warm-up 0;
* **native** and **aec3**: the playout given (``push_playout``), default options;
* **echo-free proxy**: the set ships no stems, so the "same files with the echo removed" are
  rebuilt from the label files: each ``user_units`` entry cut from its source file (found in
  the set's parent folder or the project's tests/data), faded (25 ms), placed at
  ``placed_at_s``, scaled to the labelled user level over ``user_segments``, plus seeded pink
  noise at the labelled mean noise level; dry (no user room response) and pink noise for the
  babble samples too, so it approximates, not reproduces, the set's own echo-free check.
  Scored with warm-up 0 and no playout: the latency a perfect canceller would leave.

Printed: false interruptions per agent-minute, barge-in recall, median detection latency and
backchannel interruptions per echo level and overall, one row per configuration; then the ERLE
of both cancellers on the echo-only stretches (``echo_aec3.erle``: mic power over output power
where the echo plays more than 0.3 s from user speech; the noise stays, so low-echo samples are
bounded by their SNR), median per echo level.  ``--json`` writes every figure.

Run: ``python benchmarks/echo_table.py ../shared/audio/echo [--json out.json] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))  # echo_aec3 beside this file

from turnengine.options import TurnEngineOptions  # noqa: E402
from turnengine.tools.eval.echo_report import EchoResult  # noqa: E402
from turnengine.tools.eval.echo_runner import evaluate_echo_directory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FADE_S = 0.025


def _source(name: str, set_dir: Path) -> Path:
    for folder in (set_dir.parent, ROOT / "tests" / "data", set_dir):
        path = folder / f"{name}.wav"
        if path.exists():
            return path
    raise FileNotFoundError(f"source {name}.wav not found beside {set_dir} or in tests/data")


def _pink(n: int, seed: int) -> np.ndarray:
    """Seeded pink (1/f power) noise of unit mean power."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / np.sqrt(np.mean(x ** 2))


def echo_free(labels_path: Path, out_dir: Path) -> Path:
    """Write the echo-free proxy of one sample (``NAME.mic.wav`` + ``NAME.json``)."""
    data = json.loads(labels_path.read_text())
    name = labels_path.stem
    info = sf.info(labels_path.with_name(f"{name}.mic.wav"))
    rate, n = info.samplerate, info.frames
    user = np.zeros(n)
    for unit in data["user_units"]:
        src, src_rate = sf.read(_source(unit["source_file"], labels_path.parent),
                                dtype="float64", always_2d=True)
        if src_rate != rate:
            raise ValueError(f"{unit['source_file']}: {src_rate} Hz, the set is {rate} Hz")
        a, b = (int(round(t * rate)) for t in unit["source_cut_s"])
        piece = src[a:b].mean(axis=1)
        fade = min(int(FADE_S * rate), piece.shape[0] // 2)
        ramp = np.linspace(0.0, 1.0, fade)
        piece[:fade] *= ramp
        piece[piece.shape[0] - fade:] *= ramp[::-1]
        at = int(round(unit["placed_at_s"] * rate))
        end = min(n, at + piece.shape[0])
        user[at:end] += piece[: end - at]
    active = np.zeros(n, bool)
    for seg in data["user_segments"]:
        active[int(seg["start_s"] * rate):int(seg["end_s"] * rate)] = True
    if active.any():
        level = 10 ** (data["levels"]["user_active_dbfs"] / 20)
        user *= level / np.sqrt(np.mean(user[active] ** 2))
    noise_rms = 10 ** (data["levels"]["noise_mean_dbfs"] / 20)
    mic = user + noise_rms * _pink(n, zlib.crc32(name.encode()))
    sf.write(out_dir / f"{name}.mic.wav", np.clip(mic, -1, 1), rate, subtype="PCM_16")
    shutil.copy(labels_path, out_dir / labels_path.name)
    return out_dir / f"{name}.mic.wav"


def _rows(label: str, result: EchoResult) -> list[str]:
    out = []
    for p in [*result.levels, result.overall]:
        lat = "n/a" if p.median_latency_s is None else f"{p.median_latency_s:.3f}"
        fpm = "n/a" if p.false_per_agent_minute is None else f"{p.false_per_agent_minute:.1f}"
        out.append(f"| {label} | {p.label} | {p.n_false} | {fpm} | {p.n_hits}/{p.n_barge_ins} "
                   f"| {lat} | {p.n_backchannel_interruptions}/{p.n_backchannels} |")
    return out


def erle_rows(directory: Path) -> list[str]:
    """Median ERLE (dB) per echo level on echo-only stretches, native and aec3."""
    from echo_aec3 import erle, run_aec3  # (benchmarks/echo_aec3.py, beside this file)

    from turnengine.echo import NativeCanceller

    per_level: dict[float, list[tuple[float, float]]] = {}
    for labels_path in sorted(directory.glob("*.json")):
        if labels_path.name == "index.json":
            continue
        data = json.loads(labels_path.read_text())
        name = labels_path.stem
        mic, rate = sf.read(directory / f"{name}.mic.wav", dtype="int16")
        far, _ = sf.read(directory / f"{name}.playout.wav", dtype="int16")
        native = NativeCanceller(rate)
        n = mic.shape[0] - mic.shape[0] % native.frame_size
        out = np.zeros(mic.shape[0], np.float32)
        native.process((mic[:n] / 32768.0).astype(np.float32),
                       (far[:n] / 32768.0).astype(np.float32), out,
                       np.zeros(n // native.frame_size, np.int64),
                       np.zeros((n // native.frame_size, 3)))
        ours = np.round(out * 32768.0).clip(-32768, 32767).astype(np.int16)
        theirs, _ = run_aec3(mic, far)
        per_level.setdefault(data["echo_to_user_db"], []).append(
            (erle(mic, ours, data)[0] or 0.0, erle(mic, theirs, data)[0] or 0.0))
    rows = ["| echo level | ERLE native, median of samples (dB) | ERLE aec3 (dB) |",
            "|---|---|---|"]
    for level in sorted(per_level):
        ours_db, theirs_db = zip(*per_level[level], strict=True)
        rows.append(f"| {level:+g} dB | {np.median(ours_db):.1f} | {np.median(theirs_db):.1f} |")
    everything = [x for v in per_level.values() for x in v]
    rows.append(f"| all | {np.median([a for a, _ in everything]):.1f} | "
                f"{np.median([b for _, b in everything]):.1f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path, help="an echo set (../shared/audio/echo)")
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    p.add_argument("--keep", type=Path, default=None,
                   help="write the echo-free proxies here (default: a temporary folder)")
    args = p.parse_args(argv)
    default, warm0 = TurnEngineOptions(), TurnEngineOptions(aec_warmup_duration=0.0)
    runs: list[tuple[str, dict[str, Any]]] = [
        ("no reference, default", {"options": default, "use_playout": False}),
        ("no reference, warm-up 0", {"options": warm0, "use_playout": False}),
        ("native", {"options": default, "echo_canceller": "native"}),
        ("aec3", {"options": default, "echo_canceller": "aec3"}),
    ]
    results: dict[str, EchoResult] = {}
    for label, kw in runs:
        print(f"# {label} ...", file=sys.stderr)
        results[label] = evaluate_echo_directory(args.directory, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        proxy = args.keep or Path(tmp)
        proxy.mkdir(parents=True, exist_ok=True)
        for labels_path in sorted(args.directory.glob("*.json")):
            if labels_path.name != "index.json":
                echo_free(labels_path, proxy)
        print("# echo-free proxy ...", file=sys.stderr)
        results["echo-free proxy, warm-up 0"] = evaluate_echo_directory(
            proxy, options=warm0, use_playout=False)
    lines = ["| configuration | echo level | false | false/agent-min | recall | "
             "median latency (s) | backchannel int. |", "|---|---|---|---|---|---|---|"]
    for label, result in results.items():
        lines += _rows(label, result)
    print("\n".join(lines))
    print()
    print("\n".join(erle_rows(args.directory)))
    if args.json is not None:
        args.json.write_text(json.dumps({k: v.to_dict() for k, v in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
