"""The ``turnengine`` command line (SPEC 10).

``turnengine run [FILE] [--json] [--vad NAME] [--<option-name> VALUE ...]`` replays an audio file
through the engine and prints the events: JSON lines with ``--json`` (``type``, ``stream_time``,
``created_at``, fields), otherwise a readable timeline.  Without FILE it runs on the real speech
clip bundled in ``examples/audio/``.  Every engine option is a flag, underscores as dashes.
Errors print one line on stderr and exit non-zero, with no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .options import TurnEngineOptions

EXIT_USAGE = 2
EXIT_INPUT = 1

BUNDLED_CLIP_NAME = "composed_dialogue.wav"


class CLIError(Exception):
    """An error reported as one line with the given exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def bundled_clip() -> Path:
    """Path of the bundled demo clip (installed as package data, or the source checkout's)."""
    import importlib.resources

    packaged = importlib.resources.files("turnengine").joinpath(f"data/{BUNDLED_CLIP_NAME}")
    if packaged.is_file():
        return Path(str(packaged))
    source = Path(__file__).resolve().parent.parent / "examples" / "audio" / BUNDLED_CLIP_NAME
    if source.is_file():
        return source
    raise CLIError(f"bundled clip {BUNDLED_CLIP_NAME} is missing from this installation; pass "
                   "an audio FILE")


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _option_type(kind: str, optional: bool) -> Any:
    parsers: dict[str, Callable[[str], Any]] = {"bool": _parse_bool, "int": int, "float": float,
                                                "str": str}
    base = parsers[kind]

    def parse(text: str) -> Any:
        if optional and text.lower() in ("none", "off", "null"):
            return None
        try:
            return base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind}, got {text!r}") from None

    parse.__name__ = kind
    return parse


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """Add one ``--option-name VALUE`` flag per :class:`TurnEngineOptions` field."""
    group = parser.add_argument_group("engine options (SPEC names; seconds unless noted)")
    for spec in TurnEngineOptions.describe():
        flag = "--" + spec["name"].replace("_", "-")
        unit = f" [{spec['unit']}]" if spec["unit"] else ""
        none = " ('none' disables)" if spec["optional"] else ""
        group.add_argument(flag, dest=f"opt_{spec['name']}", metavar="VALUE",
                           type=_option_type(spec["type"], spec["optional"]),
                           default=argparse.SUPPRESS,
                           help=f"{spec['help']}{unit}; default {spec['default']}{none}")


def options_from_args(args: argparse.Namespace) -> TurnEngineOptions:
    """Build validated options from the parsed ``--option-name`` flags."""
    values = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}
    try:
        return TurnEngineOptions(**values)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None


def writable_output(path: str | None, what: str, suffix: str | None = None) -> Path | None:
    """Check before any work is done that ``path`` can be written (one-line error if not)."""
    if path is None:
        return None
    out = Path(path)
    if suffix and not out.suffix:
        out = out.with_suffix(suffix)
    if out.is_dir():
        raise CLIError(f"{what} {out} is a directory; give a file name", EXIT_USAGE)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"cannot write {what} {out}: no such directory {parent}", EXIT_USAGE)
    if not os.access(parent, os.W_OK):
        raise CLIError(f"cannot write {what} {out}: directory {parent} is not writable",
                       EXIT_USAGE)
    return out


def option_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Only the ``--option-name`` flags actually given (they override a scenario's options)."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_")}


def scenario_options(args: argparse.Namespace, scenario: Any) -> TurnEngineOptions:
    """The scenario's options with the given flags on top (validated, one-line errors)."""
    values = dict(scenario.options) if scenario is not None else {}
    values.update(option_overrides(args))
    try:
        return TurnEngineOptions(**values)
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None


def load_scenario(args: argparse.Namespace) -> tuple[Any, TurnEngineOptions]:
    """``--scenario`` (or None) and the engine options: its options with the flags on top."""
    from .scenario import Scenario

    scenario = None
    if args.scenario:
        try:
            scenario = Scenario.load(args.scenario)
        except (FileNotFoundError, ValueError) as exc:
            raise CLIError(str(exc)) from None
    return scenario, scenario_options(args, scenario)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turnengine",
        description="Real-time turn detection for voice agents: replay audio through the engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="replay an audio file and print the session events",
                         description="Replay an audio file (WAV/FLAC/OGG) through the engine and "
                                     "print its session events.")
    run.add_argument("file", nargs="?", help="audio file; default: the bundled real speech clip")
    run.add_argument("--json", action="store_true", help="print JSON lines instead of a timeline")
    _add_engine_flags(run)
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
    add_option_flags(run)

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

    ev = sub.add_parser("eval", help="score the engine on a directory of labelled clips",
                        description="Replay every NAME.wav with a NAME.json label file in "
                                    "DIRECTORY and print SPEC 11 metrics per clip and pooled.")
    ev.add_argument("directory", help="folder of NAME.wav + NAME.json pairs")
    ev.add_argument("--json", action="store_true", help="print one JSON document")
    _add_engine_flags(ev)
    ev.add_argument("--sample-rate", type=int, default=None, metavar="HZ",
                    help="resample every clip to this rate first (e.g. 8000: telephony)")
    ev.add_argument("--quiet", action="store_true", help="no per-clip progress on stderr")
    add_option_flags(ev)
    _add_mic_parser(sub)
    _add_plot_parser(sub)
    return parser


def _add_engine_flags(p: Any) -> None:
    """--vad, --model-path and --turn-detector, the same on every command that builds engines."""
    p.add_argument("--vad", default="silero",
                   help="VAD backend: silero (default, native kernel), silero-onnx, energy")
    p.add_argument("--model-path", default=None,
                   help="silero_vad.onnx to use instead of the packaged one")
    p.add_argument("--turn-detector", default=None, choices=["smart-turn"],
                   help="end-of-turn model (default: none, the fixed delay); needs "
                        "pip install \"turnengine[smart-turn]\"")


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
                     help="play the agent: after each completed turn it speaks (silently) for "
                          "--agent-seconds, so you can interrupt it; sets aec_warmup_duration=0 "
                          "unless given")
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
    _add_engine_flags(mic)
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
    _add_engine_flags(plot)
    add_option_flags(plot)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("turnengine")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def _format_event(ev: dict[str, Any]) -> str:
    t = f"{ev['stream_time']:8.3f}s"
    kind = ev["type"]
    if kind == "user_state_changed":
        return (f"{t}  user   {ev['old_state']:>9} -> {ev['new_state']:<9} "
                f"(at {ev['audio_time']:.3f}s of audio)")
    if kind == "agent_state_changed":
        return f"{t}  agent  {ev['old_state']:>9} -> {ev['new_state']}"
    if kind == "user_turn_completed":
        prob = ev.get("eot_probability")
        return (f"{t}  TURN   completed: "
                f"end_of_utterance_delay={ev['end_of_utterance_delay']:.3f}s "
                f"endpointing_delay={ev['endpointing_delay']:.2f}s reason={ev['reason']}"
                + (f" eot_probability={prob:.2f}" if prob is not None else "")
                + (f" transcript={ev['transcript']!r}" if ev["transcript"] else ""))
    if kind == "agent_interrupted":
        return f"{t}  agent  interrupted after {ev['speech_duration']:.3f}s of user speech"
    if kind == "agent_false_interruption":
        return f"{t}  agent  false interruption (resumed={ev['resumed']})"
    if kind == "conversation_item_added":
        item = ev["item"]
        flag = " (interrupted)" if item.get("interrupted") else ""
        return f"{t}  chat   {item['role']}{flag}: {' '.join(item['content'])!r}"
    if kind == "user_input_transcribed":
        final = "final" if ev["is_final"] else "interim"
        return f"{t}  stt    {final}: {ev['transcript']!r}"
    if kind == "user_backchannel":
        return f"{t}  user   backchannel ({ev['duration']:.3f}s)"
    if kind == "metrics_collected":
        m = ev["metrics"]
        fields = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in m.items() if k not in ("type", "metadata", "timestamp"))
        return f"{t}  metric {m['type']}: {fields}"
    rest = {k: v for k, v in ev.items() if k not in ("type", "stream_time", "created_at")}
    return f"{t}  {kind} {rest}"


LONG_RUN_S = 60.0
"""``turnengine run`` shows a progress bar for files longer than this (s of audio)."""


class _StderrProgress:
    """A rich progress bar on stderr; build it only when stderr is a terminal.

    ``stdout()`` gives a stream for the command's own output that prints above the bar when
    stdout is the same terminal (so the two do not garble each other), else stdout itself.
    """

    def __init__(self, total: float, description: str, unit: str = "") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.total = total
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  TextColumn("{task.completed:.0f}/{task.total:.0f}" + unit),
                                  TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
                                  console=self.console, transient=True, redirect_stdout=False,
                                  redirect_stderr=False)
        self._task = self._progress.add_task(description, total=total, note="")

    @staticmethod
    def wanted() -> bool:
        return sys.stderr.isatty()

    def update(self, completed: float, note: str | None = None) -> None:
        self._progress.update(self._task, completed=min(completed, self.total))
        if note is not None:
            self._progress.update(self._task, note=note)

    def follow(self, show: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        """Wrap a replay's ``on_events``: also move the bar to the last event's time."""
        def on_events(events: list[Any]) -> None:
            show(events)
            self.update(events[-1].stream_time)

        return on_events

    def stdout(self) -> Any:
        if not sys.stdout.isatty():
            return sys.stdout
        from rich.file_proxy import FileProxy

        return FileProxy(self.console, sys.stdout)

    def __enter__(self) -> _StderrProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _long_run_progress(path: Path, args: argparse.Namespace) -> _StderrProgress | None:
    """A progress bar for ``run`` on files over :data:`LONG_RUN_S` (not --json, stderr a TTY)."""
    if args.json or not _StderrProgress.wanted():
        return None
    try:
        import soundfile as sf

        duration = float(sf.info(str(path)).duration)
    except Exception:  # not audio: replay_file reports it properly
        return None
    return _StderrProgress(duration, path.name, unit=" s") if duration > LONG_RUN_S else None


def cmd_run(args: argparse.Namespace) -> int:
    from .replay import replay_file

    options_from_args(args)  # one-line errors for bad flag values
    report_path = writable_output(args.report, "report")
    path = Path(args.file) if args.file else bundled_clip()
    out = sys.stdout
    scenario, options = load_scenario(args)

    def show(events: list[Any]) -> None:
        for ev in events:
            if ev.type == "metrics_collected" and not args.metrics:
                continue
            d = ev.to_dict()
            print(json.dumps(d) if args.json else _format_event(d), file=out, flush=args.realtime)

    if not args.json:
        print(f"# {path.name}: replaying with vad={args.vad}", file=out)
    bar = _long_run_progress(path, args)
    if bar is not None:
        out = bar.stdout()  # timeline lines print above the bar
    try:
        with bar if bar is not None else contextlib.nullcontext():
            result = replay_file(path, vad=args.vad, options=options,
                                 model_path=args.model_path, scenario=scenario,
                                 chunk_ms=args.chunk_ms, realtime=args.realtime,
                                 turn_detector=args.turn_detector,
                                 on_events=bar.follow(show) if bar is not None else show)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    out = sys.stdout
    if report_path is not None:
        try:
            report_path.write_text(result.report.to_json())
        except OSError as exc:
            raise CLIError(f"cannot write report {report_path}: {exc}") from None
    if not args.json:
        turns = sum(1 for e in result.events if e.type == "user_turn_completed")
        dur = result.audio.duration
        print(f"# {turns} user turn(s) in {dur:.2f}s of audio at {result.audio.sample_rate} Hz; "
              f"processed in {result.wall_s:.2f}s ({dur / max(result.wall_s, 1e-9):.0f}x real "
              "time)", file=out)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import end_to_end_latency, run_bench

    if args.streams < 1 or not args.seconds > 0:
        raise CLIError("--streams must be >= 1 and --seconds > 0", EXIT_USAGE)
    try:
        result = run_bench(streams=args.streams, seconds=args.seconds,
                           sample_rate=args.sample_rate, onnx=not args.no_onnx)
    except (RuntimeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    result["end_to_end"] = end_to_end_latency()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"# turnengine bench: {result['windows']} windows of {result['window_ms']:.0f} ms at "
          f"{result['sample_rate_hz']} Hz, {result['streams']} streams, simd={result['simd']}")
    print(f"{'':44} {'p50 us':>9} {'p99 us':>9}")
    for name in ("native", "onnxruntime"):
        part = result.get(name)
        if not part:
            continue
        for kind, label in (("single", "1 stream, per window"),
                            ("batched", f"{result['streams']} streams, per stream-window")):
            row = part.get(kind)
            if row:
                print(f"{name + ' ' + label:44} {row['p50']:9.1f} {row['p99']:9.1f}")
    for key, label in (("ratio_single_p50", "onnxruntime / native, 1 stream"),
                       ("ratio_batched_p50", "onnxruntime / native, batched"),
                       ("streams_per_core", "real-time streams per core (batched VAD)"),
                       ("real_time_factor", "real-time factor, 1 stream"),
                       ("rss_per_stream_bytes", "memory per extra stream (bytes)")):
        if result.get(key) is not None:
            value = result[key]
            print(f"{label:44} {value:.4g}" if isinstance(value, float) else f"{label:44} {value}")
    e2e = result["end_to_end"]
    print(f"{'push -> event delivered (whole engine)':44} p50 {e2e['p50_us']:.1f} us, "
          f"p99 {e2e['p99_us']:.1f} us over {e2e['events']} events")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .eval_runner import evaluate_directory, labelled_clips
    from .evaluation import format_table

    options = options_from_args(args)
    try:
        n = len(labelled_clips(args.directory))
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    done = [0]
    bar = (_StderrProgress(n, "eval", unit=" clips")
           if not args.quiet and _StderrProgress.wanted() else None)

    def progress(score: Any) -> None:
        done[0] += 1
        line = f"[{done[0]}/{n}] {score.clip}: F1 {score.frames.f1:.3f}"
        if bar is not None:
            bar.console.print(line, markup=False, highlight=False)
            bar.update(done[0], score.clip)
        elif not args.quiet:
            print(line, file=sys.stderr)

    try:
        with bar if bar is not None else contextlib.nullcontext():
            result = evaluate_directory(args.directory, vad=args.vad, options=options,
                                        model_path=args.model_path,
                                        turn_detector=args.turn_detector,
                                        sample_rate=args.sample_rate, on_clip=progress)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        rows: list[Any] = [*result.clips, result.pooled]
        print(format_table(rows))
    return 0


def cmd_mic(args: argparse.Namespace) -> int:
    from .mic import MicError, MicSession, fake_input, open_microphone, run_live

    options = options_from_args(args)
    notes: list[str] = []
    if args.simulate_agent and not hasattr(args, "opt_aec_warmup_duration"):
        # The simulated agent makes no sound, so there is no echo to guard against.
        options = options.replace(aec_warmup_duration=0.0)
        notes.append("aec_warmup_duration=0")
    if not args.agent_seconds > 0:
        raise CLIError(f"--agent-seconds must be > 0, got {args.agent_seconds}", EXIT_USAGE)
    writable_output(args.save_report, "report")
    writable_output(args.save_audio, "recording")
    try:
        if args.fake_input:
            source = fake_input(args.fake_input, realtime=args.realtime)
        else:
            source = open_microphone(args.device)
        session = MicSession(source, vad=args.vad, options=options, model_path=args.model_path,
                             turn_detector=args.turn_detector,
                             simulate_agent=args.simulate_agent,
                             agent_speech_s=args.agent_seconds,
                             record=args.save_audio is not None)
        note = (f"simulated agent: speaks {args.agent_seconds:g}s after each turn"
                + (f" ({', '.join(notes)})" if notes else "")) if args.simulate_agent else ""
        header = f"turnengine mic: {source.name} at {source.sample_rate} Hz, vad={args.vad}"
        interrupted = run_live(session, header=header, note=note, max_seconds=args.seconds)
    except MicError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    report = session.finish(let_agent_finish=not interrupted)
    if args.save_audio:
        session.save_audio(args.save_audio)
        report.audio_recording_path = str(Path(args.save_audio).resolve())
        report.audio_recording_started_at = session.engine.started_at
    if args.save_report:
        try:
            Path(args.save_report).write_text(report.to_json())
        except OSError as exc:
            raise CLIError(f"cannot write report {args.save_report}: {exc}") from None
    for line in session.summary().lines():
        print(line)
    for label, saved in (("report", args.save_report), ("audio", args.save_audio)):
        if saved:
            print(f"# {label} saved to {saved}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot_file

    options_from_args(args)
    path = Path(args.file) if args.file else bundled_clip()
    out = writable_output(args.output or path.stem + ".png", "plot", ".png")
    assert out is not None
    scenario, options = load_scenario(args)
    labels: str | bool = False if args.no_labels else (args.labels or True)
    try:
        result = plot_file(path, out=out, scenario=scenario,
                           scenario_name=Path(args.scenario).name if args.scenario else None,
                           vad=args.vad, options=options, model_path=args.model_path,
                           turn_detector=args.turn_detector, labels=labels)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    for note in result.notes:
        print(f"turnengine: note: {note}", file=sys.stderr)
    print(f"wrote {out}: {result.timeline.summary()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turnengine`` script; returns the exit code."""
    import warnings

    def one_line(message: Any, category: Any, filename: str, lineno: int,
                 file: Any = None, line: Any = None) -> None:
        print(f"turnengine: note: {message}", file=sys.stderr)

    warnings.showwarning = one_line
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "bench":
            return cmd_bench(args)
        if args.command == "mic":
            return cmd_mic(args)
        if args.command == "plot":
            return cmd_plot(args)
        parser.error(f"unknown command {args.command}")  # pragma: no cover
    except CLIError as exc:
        print(f"turnengine: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("turnengine: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
