"""The ``turnengine`` command line (SPEC 10).

``turnengine run [FILE] [--json] [--vad NAME] [--<option-name> VALUE ...]`` replays an audio file
through the engine and prints the events: JSON lines with ``--json`` (``type``, ``stream_time``,
``created_at``, fields), otherwise a readable timeline.  Without FILE it runs on the real speech
clip bundled in ``examples/audio/``.  Every engine option is a flag, underscores as dashes.
Errors print one line on stderr and exit non-zero, with no traceback.
"""

from __future__ import annotations

import argparse
import json
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
    run.add_argument("--vad", default="silero-onnx", help="VAD backend: silero-onnx (default), "
                     "silero, energy")
    run.add_argument("--model-path", default=None, help="silero_vad.onnx to use instead of the "
                     "packaged one")
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

    ev = sub.add_parser("eval", help="score the engine on a directory of labelled clips",
                        description="Replay every NAME.wav with a NAME.json label file in "
                                    "DIRECTORY and print SPEC 11 metrics per clip and pooled.")
    ev.add_argument("directory", help="folder of NAME.wav + NAME.json pairs")
    ev.add_argument("--json", action="store_true", help="print one JSON document")
    ev.add_argument("--vad", default="silero-onnx", help="VAD backend")
    ev.add_argument("--quiet", action="store_true", help="no per-clip progress on stderr")
    add_option_flags(ev)
    return parser


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
        return (f"{t}  TURN   completed: "
                f"end_of_utterance_delay={ev['end_of_utterance_delay']:.3f}s "
                f"endpointing_delay={ev['endpointing_delay']:.2f}s reason={ev['reason']}"
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


def cmd_run(args: argparse.Namespace) -> int:
    from .replay import replay_file
    from .scenario import Scenario

    options = options_from_args(args)
    path = Path(args.file) if args.file else bundled_clip()
    out = sys.stdout
    scenario = None
    if args.scenario:
        try:
            scenario = Scenario.load(args.scenario)
        except (FileNotFoundError, ValueError) as exc:
            raise CLIError(str(exc)) from None

    def show(events: list[Any]) -> None:
        for ev in events:
            if ev.type == "metrics_collected" and not args.metrics:
                continue
            d = ev.to_dict()
            print(json.dumps(d) if args.json else _format_event(d), file=out, flush=args.realtime)

    if not args.json:
        print(f"# {path.name}: replaying with vad={args.vad}", file=out)
    try:
        result = replay_file(path, vad=args.vad, options=options, model_path=args.model_path,
                             scenario=scenario, chunk_ms=args.chunk_ms, realtime=args.realtime,
                             on_events=show)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    if args.report:
        Path(args.report).write_text(result.report.to_json())
    if not args.json:
        turns = sum(1 for e in result.events if e.type == "user_turn_completed")
        dur = result.audio.duration
        print(f"# {turns} user turn(s) in {dur:.2f}s of audio at {result.audio.sample_rate} Hz; "
              f"processed in {result.wall_s:.2f}s ({dur / max(result.wall_s, 1e-9):.0f}x real "
              "time)", file=out)
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

    def progress(score: Any) -> None:
        done[0] += 1
        if not args.quiet:
            print(f"[{done[0]}/{n}] {score.clip}: F1 {score.frames.f1:.3f}", file=sys.stderr)

    try:
        result = evaluate_directory(args.directory, vad=args.vad, options=options,
                                    on_clip=progress)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        rows: list[Any] = [*result.clips, result.pooled]
        print(format_table(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turnengine`` script; returns the exit code."""
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
