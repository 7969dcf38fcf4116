"""Regenerate docs/options.md from TurnEngineOptions (run after adding or changing an option)."""

from __future__ import annotations

from pathlib import Path

from turnengine.options import TurnEngineOptions

HEAD = """# Options

Every option of `TurnEngine(**options)` / `TurnEngineOptions`, with its unit and default. Names and
defaults are LiveKit Agents' (SPEC sections 2-7). On the command line each one is a flag with
dashes: `--min-endpointing-delay 0.8`; optional ones take `none` to disable.

Durations are seconds of audio on the engine clock, converted once to whole samples
(delays, timeouts) or whole VAD windows (`min_speech_duration`, `min_silence_duration`: rounded
up, so 0.55 s is 18 windows of 32 ms = 0.576 s with Silero at 16 kHz, 55 windows of 10 ms with
the energy VAD).

| option | type | default | unit | meaning |
| --- | --- | --- | --- | --- |
"""

TAIL = """
Constructor arguments that are not options: `sample_rate` (Hz: 8000, 16000, 24000, 32000,
44100, 48000), `vad` (backend name or a `VADBackend`), `turn_detector` (None: fixed
`min_endpointing_delay`; `"smart-turn"`: Pipecat's Smart Turn v3.2 audio model),
`model_path` (a `silero_vad.onnx`), `stt_gate`, `keep_window_log`, `eot_executor`,
`audio_stall_watchdog` (wall-clock mode: `check_audio_stall()` applies `audio_stall_timeout`).

Every option is in force; docs/how-it-works.md describes each rule.
"""


def main() -> None:
    rows = []
    for d in TurnEngineOptions.describe():
        kind = d["type"] + (" or None" if d["optional"] else "")
        rows.append(f"| `{d['name']}` | {kind} | `{d['default']}` | {d['unit'] or '-'} | "
                    f"{d['help']} |")
    out = Path(__file__).resolve().parents[1] / "docs" / "options.md"
    out.write_text(HEAD + "\n".join(rows) + "\n" + TAIL)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
