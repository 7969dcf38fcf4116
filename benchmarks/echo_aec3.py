"""WebRTC AEC3 (LiveKit's ``livekit.rtc.AudioProcessingModule``) on an echo set, scored like the
engine: the peer of issue 12's echo canceller, measured side by side (docs/echo.md).

For each ``NAME.mic.wav`` + ``NAME.playout.wav`` + ``NAME.json`` of the set, AEC3 runs over the
whole call in 10 ms frames at 16 kHz (the playout frame goes to ``process_reverse_stream``, then
the mic frame of the same instant to ``process_stream``; ``set_stream_delay_ms`` is 0 because a
file replay has no render/capture buffering: the 20-150 ms acoustic delay is AEC3's to find).
The echo-reduced mic is written to ``OUT/NAME.mic.wav`` with the label file beside it, so that
``turnengine eval OUT`` replays exactly what this script scored. Printed per echo level and
overall, for the raw mic and the AEC3 output, at each ``aec_warmup_duration`` asked:

* the echo metric of ``../shared/audio/echo/README.md`` (:mod:`turnengine.tools.eval.echo`);
* ERLE (echo return loss enhancement, dB): mic power / output power over the echo-only
  stretches (``echo_segments`` more than 0.3 s from labelled user speech); the noise in those
  stretches stays in the mic and so bounds what can be measured; the reduction of the
  noise-only stretches (neither echo nor user) is printed beside it;
* AEC3's CPU per 10 ms frame (both calls, through LiveKit's FFI: wall time on this machine).

Run: ``python benchmarks/echo_aec3.py ../shared/audio/echo [--out /tmp/echo_aec3]``
(``--warmup 3,0`` by default).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from turnengine.audio import AudioFile
from turnengine.options import TurnEngineOptions
from turnengine.tools.eval.echo import EchoClipScore, load_echo_labels
from turnengine.tools.eval.echo_report import EchoResult, format_echo_table
from turnengine.tools.eval.echo_runner import evaluate_echo_audio
from turnengine.tools.eval.runner import labelled_clips

RATE = 16000
FRAME = RATE // 100  # 10 ms, as the APM wants
USER_MARGIN_S = 0.3
ERLE_KEYS = ("clip", "echo_to_user_db", "erle_db", "noise_reduction_db")


def run_aec3(mic: np.ndarray, playout: np.ndarray, delay_ms: int = 0
             ) -> tuple[np.ndarray, list[float]]:
    """AEC3 over a call: the echo-reduced mic (int16, same length) and seconds per frame."""
    from livekit import rtc

    apm = rtc.AudioProcessingModule(echo_cancellation=True)
    n = -(-len(mic) // FRAME) * FRAME
    mic_p = np.zeros(n, np.int16)
    mic_p[:len(mic)] = mic
    ref_p = np.zeros(n, np.int16)
    ref_p[:len(playout)] = playout[:n]
    out = np.empty(n, np.int16)
    costs = []
    for i in range(0, n, FRAME):
        ref = rtc.AudioFrame(ref_p[i:i + FRAME].tobytes(), RATE, 1, FRAME)
        near = rtc.AudioFrame(mic_p[i:i + FRAME].tobytes(), RATE, 1, FRAME)
        t0 = time.perf_counter()
        apm.process_reverse_stream(ref)
        apm.set_stream_delay_ms(delay_ms)
        apm.process_stream(near)
        costs.append(time.perf_counter() - t0)
        out[i:i + FRAME] = np.frombuffer(near.data, np.int16)
    return out[:len(mic)], costs


def _mask(n: int, spans: list[tuple[float, float]], margin: float = 0.0) -> np.ndarray:
    m = np.zeros(n, bool)
    for s, e in spans:
        m[max(0, int((s - margin) * RATE)):max(0, int((e + margin) * RATE))] = True
    return m


def reduction_db(mic: np.ndarray, out: np.ndarray, where: np.ndarray) -> float | None:
    """10 log10(mic power / output power) over the samples of ``where`` (None if empty)."""
    if not where.any():
        return None
    p_in = float(np.mean(mic[where].astype(np.float64) ** 2))
    p_out = float(np.mean(out[where].astype(np.float64) ** 2))
    return 10 * np.log10(max(p_in, 1e-9) / max(p_out, 1e-9))


def erle(mic: np.ndarray, out: np.ndarray, data: dict[str, Any]) -> tuple[float | None, ...]:
    """``(ERLE on echo-only stretches, reduction on noise-only stretches)`` in dB."""
    user = [(s["start_s"], s["end_s"]) for s in data["segments"] + data.get("user_segments", [])]
    echo = _mask(len(mic), [(s["start_s"], s["end_s"]) for s in data["echo_segments"]])
    near = _mask(len(mic), user, USER_MARGIN_S)
    agent_tail = _mask(len(mic), [(s["start_s"], s["end_s"]) for s in data["echo_segments"]],
                       0.6)  # the room's reverberation outlasts the direct path
    return (reduction_db(mic, out, echo & ~near), reduction_db(mic, out, ~agent_tail & ~near))


def _score_all(clips: list[tuple[str, AudioFile, Any]], options: TurnEngineOptions
               ) -> EchoResult:
    scores: list[EchoClipScore] = [evaluate_echo_audio(a, labels, options=options)
                                   for _, a, labels in clips]
    return EchoResult.from_clips(scores)


def _process(directory: Path, out_dir: Path) -> tuple[list[Any], list[Any], list[Any], list]:
    raw, aec, rows, costs = [], [], [], []
    out_dir.mkdir(parents=True, exist_ok=True)
    for mic_path, labels_path in labelled_clips(directory):
        name = labels_path.stem
        mic, rate = sf.read(mic_path, dtype="int16")
        playout, prate = sf.read(directory / f"{name}.playout.wav", dtype="int16")
        if rate != RATE or prate != RATE:
            raise SystemExit(f"{name}: expected {RATE} Hz mic and playout, got {rate}/{prate}")
        data = json.loads(labels_path.read_text())
        labels = load_echo_labels(labels_path)
        cleaned, c = run_aec3(mic, playout)
        costs += c
        sf.write(out_dir / f"{name}.mic.wav", cleaned, RATE, subtype="PCM_16")
        shutil.copy(labels_path, out_dir / labels_path.name)
        raw.append((name, AudioFile(str(mic_path), mic[:, None], RATE), labels))
        aec.append((name, AudioFile(str(out_dir / f"{name}.mic.wav"), cleaned[:, None], RATE),
                    labels))
        rows.append((name, labels.echo_to_user_db, *erle(mic, cleaned, data)))
        print(f"# {name}: ERLE {_db(rows[-1][2])} dB, noise-only {_db(rows[-1][3])} dB",
              file=sys.stderr)
    return raw, aec, rows, costs


def _db(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def _erle_table(rows: list[Any]) -> str:
    lines = ["| group | ERLE echo-only (dB) | reduction noise-only (dB) |", "|---|---|---|"]
    lines += [f"| {name} | {_db(e)} | {_db(n)} |" for name, _, e, n in rows]
    for level in sorted({r[1] for r in rows}):
        sel = [r for r in rows if r[1] == level]
        lines.append(f"| {level:+g} dB (median) | {_db(_median([r[2] for r in sel]))} "
                     f"| {_db(_median([r[3] for r in sel]))} |")
    lines.append(f"| all (median) | {_db(_median([r[2] for r in rows]))} "
                 f"| {_db(_median([r[3] for r in rows]))} |")
    return "\n".join(lines)


def _median(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path, help="an echo set (../shared/audio/echo)")
    p.add_argument("--out", type=Path, default=Path("/tmp/echo_aec3"),
                   help="where the echo-reduced mic files go (default /tmp/echo_aec3)")
    p.add_argument("--warmup", default="3,0", help="aec_warmup_duration values (s), comma list")
    p.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = p.parse_args(argv)
    raw, aec, rows, costs = _process(args.directory, args.out)
    us = np.array(costs) * 1e6
    print(f"# AEC3 (livekit {_version()}), {len(costs)} frames of 10 ms: "
          f"median {np.median(us):.1f} us, mean {us.mean():.1f} us, p99 "
          f"{np.percentile(us, 99):.1f} us per 10 ms frame (both calls, FFI included)\n")
    print(_erle_table(rows) + "\n")
    report: dict[str, Any] = {"aec3_us_per_10ms": {"median": float(np.median(us)),
                                                   "mean": float(us.mean())},
                              "erle": [dict(zip(ERLE_KEYS, r, strict=True)) for r in rows]}
    for warm in (float(w) for w in args.warmup.split(",")):
        options = TurnEngineOptions(aec_warmup_duration=warm)
        for label, clips in (("raw mic", raw), ("AEC3", aec)):
            result = _score_all(clips, options)
            print(f"## {label}, aec_warmup_duration={warm:g} s\n")
            print(format_echo_table(result, per_clip=False))
            report[f"{label} warmup={warm:g}"] = result.to_dict()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("livekit")
    except Exception:  # noqa: BLE001 - only a label
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
