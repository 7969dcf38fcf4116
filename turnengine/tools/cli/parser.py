"""The ``turnengine`` argument parser: one sub-parser per command, every engine option a flag."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from .args import EXIT_CODES_HELP, EXIT_USAGE, add_engine_flags, add_option_flags
from .sweep import add_sweep_parser


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2, and whose help ends with the
    exit codes (its sub-parsers are of the same class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """``turnengine: error: argument --min-endpointing-delay: expected a float, got 'abc'
        (see turnengine run --help)`` instead of the whole usage."""
        self.exit(EXIT_USAGE, f"turnengine: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``turnengine {run,bench,eval,mic,plot,sweep}``."""
    parser = OneLineParser(
        prog="turnengine",
        description="Real-time turn detection for voice agents: replay audio through the engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run_parser(sub)
    _add_bench_parser(sub)
    _add_eval_parser(sub)
    _add_mic_parser(sub)
    _add_plot_parser(sub)
    add_sweep_parser(sub)
    return parser


def add_echo_flag(p: Any) -> None:
    """``--echo-canceller`` (the backend a playout reference goes through)."""
    from ...echo import DEFAULT_ECHO_CANCELLER, ECHO_CANCELLERS

    p.add_argument("--echo-canceller", default=DEFAULT_ECHO_CANCELLER, choices=ECHO_CANCELLERS,
                   help=f"echo canceller for the playout reference (default "
                        f"{DEFAULT_ECHO_CANCELLER})")


def _add_run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="replay an audio file and print the session events",
                         description="Replay an audio file (WAV/FLAC/OGG) through the engine and "
                                     "print its session events.")
    run.add_argument("file", nargs="?", help="audio file; default: the bundled real speech clip")
    run.add_argument("--json", action="store_true", help="print JSON lines instead of a timeline")
    add_engine_flags(run)
    run.add_argument("--chunk-ms", type=float, default=20.0,
                     help="size of the pushed chunks in ms (default 20, as WebRTC)")
    run.add_argument("--realtime", action="store_true", help="pace the replay at real time")
    run.add_argument("--metrics", action="store_true",
                     help="include metrics_collected events in the output")
    run.add_argument("--report", metavar="R.json", default=None,
                     help="write the session report as JSON")
    run.add_argument("--scenario", metavar="S.json", default=None,
                     help="play the host side of a call: agent speech and transcripts at their "
                          "times (see turnengine.scenario)")
    run.add_argument("--playout", metavar="AGENT.wav", default=None,
                     help="what the agent played, same clock and rate as FILE: its echo is "
                          "removed from the microphone before the VAD (docs/echo.md)")
    add_echo_flag(run)
    add_option_flags(run)


def _add_bench_parser(sub: Any) -> None:
    bench = sub.add_parser("bench", help="measure latency and throughput on this machine",
                           description="Native Silero kernel vs onnxruntime on the same model, "
                                       "in the same run: us per window p50/p99, batched streams, "
                                       "streams per core, real-time factor, memory per stream, "
                                       "and end-to-end event latency.")
    bench.add_argument("--json", action="store_true", help="print one JSON document")
    bench.add_argument("--streams", type=int, default=64, help="streams in the batched runs")
    bench.add_argument("--seconds", type=float, default=10.0,
                       help="seconds of audio per stream in each run")
    bench.add_argument("--sample-rate", type=int, default=16000, choices=[16000, 8000])
    bench.add_argument("--no-onnx", action="store_true", help="skip the onnxruntime runs")


def _add_eval_parser(sub: Any) -> None:
    ev = sub.add_parser("eval", help="score the engine on a directory of labelled clips",
                        description="Replay every NAME.wav with a NAME.json label file in "
                                    "DIRECTORY and print SPEC 11 metrics per clip and pooled, "
                                    "and LiveKit eot-bench's figures (false cut-off rate on "
                                    "hold spans, latency on eot spans). With --sweep: the "
                                    "eot-bench figures of every configuration of the grid and "
                                    "the headline operating points (docs/end_of_turn.md). "
                                    "An echo set (NAME.mic.wav + NAME.json with a scenario, "
                                    "../shared/audio/echo) is replayed with its scenario and "
                                    "scored by its own metric: false interruptions per "
                                    "agent-minute, barge-in recall and latency, per echo "
                                    "level (docs/echo.md).")
    ev.add_argument("directory", help="folder of NAME.wav (or NAME.mic.wav) + NAME.json pairs")
    ev.add_argument("--json", action="store_true", help="print one JSON document")
    ev.add_argument("--sweep", action="append", metavar="NAME=V1,V2,...", default=None,
                    help="evaluate every value of NAME (a TurnEngineOptions field, e.g. "
                         "min_endpointing_delay, or turn_detector); repeat for a grid "
                         "(cartesian product)")
    ev.add_argument("--curve", metavar="OUT.png", default=None,
                    help="draw false cut-off rate against eot latency for the configurations "
                         "as a PNG")
    add_engine_flags(ev)
    ev.add_argument("--sample-rate", type=int, default=None, metavar="HZ",
                    help="resample every clip to this rate first (e.g. 8000: telephony)")
    ev.add_argument("--quiet", action="store_true", help="no per-clip progress on stderr")
    ev.add_argument("--no-playout", action="store_true",
                    help="echo sets: ignore NAME.playout.wav (the engine without a reference)")
    add_echo_flag(ev)
    add_option_flags(ev)


def _device(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def _add_mic_parser(sub: Any) -> None:
    mic = sub.add_parser(
        "mic", help="live microphone: user/agent state, VAD probability and events as they happen",
        description="Listen to the microphone (sounddevice, at the device's default rate) and "
                    "show the engine's decisions live. Ctrl-C stops and prints a summary.")
    mic.add_argument("--device", type=_device, default=None, metavar="N",
                     help="input device index or name substring (python -m sounddevice lists "
                          "them); default: the system's default input")
    mic.add_argument("--simulate-agent", action="store_true",
                     help="play the agent: after each completed turn it speaks for "
                          "--agent-seconds (a bundled speech clip on the speakers; with "
                          "--fake-input, into a simulated room that echoes it back into the "
                          "fake microphone), so you can interrupt it; its voice is the echo "
                          "reference, so it does not interrupt itself (docs/echo.md)")
    mic.add_argument("--agent-silent", action="store_true",
                     help="with --simulate-agent: the agent makes no sound (no output device "
                          "needed); sets aec_warmup_duration=0 unless given")
    mic.add_argument("--no-echo-reference", action="store_true",
                     help="with --simulate-agent: do not give the engine the agent's voice, to "
                          "hear the agent interrupt itself on speakers")
    mic.add_argument("--agent-seconds", type=float, default=4.0, metavar="S",
                     help="how long each simulated agent reply lasts (default 4.0)")
    mic.add_argument("--save-report", metavar="R.json", default=None,
                     help="write the session report as JSON at the end")
    mic.add_argument("--save-audio", metavar="A.wav", default=None,
                     help="write what the microphone heard as a 16-bit WAV at the end")
    mic.add_argument("--seconds", type=float, default=None, metavar="S",
                     help="stop after S seconds of audio (default: run until Ctrl-C)")
    mic.add_argument("--fake-input", metavar="FILE.wav", default=None,
                     help="play this file through the microphone path instead of a device (no "
                          "PortAudio needed; for trying and testing)")
    mic.add_argument("--realtime", action="store_true",
                     help="with --fake-input: deliver the file at real time, as a microphone")
    add_engine_flags(mic)
    add_option_flags(mic)


def _add_plot_parser(sub: Any) -> None:
    plot = sub.add_parser(
        "plot", help="replay an audio file and draw its timeline as a PNG",
        description="Replay an audio file and draw a PNG: waveform, VAD probability with both "
                    "thresholds, speaking segments, each turn decision with its delay and "
                    "reason, agent state, interruptions, and the labels of FILE.json if it "
                    "sits beside FILE.")
    plot.add_argument("file", nargs="?", help="audio file; default: the bundled real speech clip")
    plot.add_argument("-o", "--output", metavar="OUT.png", default=None,
                      help="PNG to write (default: FILE's name with .png, in the current folder)")
    plot.add_argument("--scenario", metavar="S.json", default=None,
                      help="play the host side of a call (agent speech, transcripts)")
    plot.add_argument("--labels", metavar="L.json", default=None,
                      help="label file (SPEC 11) to draw; default: FILE.json beside FILE if any")
    plot.add_argument("--no-labels", action="store_true", help="do not draw labels")
    plot.add_argument("--playout", metavar="AGENT.wav", default=None,
                      help="the agent's playout (same clock and rate as FILE): the echo "
                           "reference; drawn with the echo-reduced signal the VAD heard")
    add_engine_flags(plot)
    add_option_flags(plot)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("turnengine")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "unknown"
