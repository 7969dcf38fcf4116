"""The ``turnengine`` commands: each takes the parsed arguments and returns the exit code
(``eval`` lives in :mod:`.evaluate`).

The tools they drive (replay, bench, eval, mic, plot) are imported when the command runs, so
``turnengine --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from ..format import format_event
from .args import (
    EXIT_INPUT,
    EXIT_USAGE,
    CLIError,
    bundled_clip,
    load_scenario,
    options_from_args,
    writable_output,
)
from .output import Printer
from .progress import long_run_progress


def cmd_run(args: argparse.Namespace) -> int:
    """``turnengine run``: replay a file and print its events (timeline or JSON lines).

    The file is read in blocks (memory stays flat however long it is); a closed stdout
    (``| head``) stops the printing, not the ``--report``.
    """
    from ...audio import inspect_audio
    from ...replay import check_playout, check_scenario_times, replay_audio

    options_from_args(args)  # one-line errors for bad flag values
    report_path = writable_output(args.report, "report")
    path = Path(args.file) if args.file else bundled_clip()
    scenario, options = load_scenario(args)
    try:  # every input checked before the first line is printed
        audio = inspect_audio(path)
        check_scenario_times(scenario, audio.duration)
        playout = None if args.playout is None else inspect_audio(args.playout)
        check_playout(audio, playout)
    except (FileNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    printer, out = Printer(keep_going=report_path is not None), sys.stdout

    def show(events: list[Any]) -> None:
        for ev in events:
            if ev.type != "metrics_collected" or args.metrics:
                printer.print(json.dumps(ev.to_dict()) if args.json else format_event(ev), out,
                              flush=args.realtime)

    if not args.json:
        printer.print(f"# {path.name}: replaying with vad={args.vad}")
    bar = long_run_progress(path, args)
    if bar is not None:
        out = bar.stdout()  # timeline lines print above the bar
    try:
        with bar if bar is not None else contextlib.nullcontext():
            result = replay_audio(audio, vad=args.vad, options=options,
                                  model_path=args.model_path, scenario=scenario,
                                  chunk_ms=args.chunk_ms, realtime=args.realtime,
                                  turn_detector=args.turn_detector,
                                  on_events=bar.follow(show) if bar is not None else show,
                                  playout=playout, echo_canceller=args.echo_canceller)
    except (FileNotFoundError, ValueError, TypeError, ImportError) as exc:
        raise CLIError(str(exc)) from None
    if report_path is not None:
        _write(report_path, result.report.to_json(), "report")
    if not args.json:
        turns = sum(1 for e in result.events if e.type == "user_turn_completed")
        dur = result.audio.duration
        printer.print(f"# {turns} user turn(s) in {dur:.2f}s of audio at "
                      f"{result.audio.sample_rate} Hz; processed in {result.wall_s:.2f}s "
                      f"({dur / max(result.wall_s, 1e-9):.0f}x real time)")
    return 0


def _write(path: str | Path, text: str, what: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise CLIError(f"cannot write {what} {path}: {exc}") from None


def cmd_bench(args: argparse.Namespace) -> int:
    """``turnengine bench``: native kernel vs onnxruntime, and end-to-end event latency."""
    from ..bench import end_to_end_latency, run_bench
    from ..bench_eot import model_cost

    if args.streams < 1 or not args.seconds > 0:
        raise CLIError("--streams must be >= 1 and --seconds > 0", EXIT_USAGE)
    try:
        result = run_bench(streams=args.streams, seconds=args.seconds,
                           sample_rate=args.sample_rate, onnx=not args.no_onnx)
    except (RuntimeError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    result["end_to_end"] = end_to_end_latency()
    result["end_of_turn_model"] = model_cost()
    if args.json:
        print(json.dumps(result))
    else:
        _print_bench(result)
    return 0


def _print_bench(result: dict[str, Any]) -> None:
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
    from ..bench_eot import format_model_cost

    print("\n".join(format_model_cost(result["end_of_turn_model"])))


def cmd_mic(args: argparse.Namespace) -> int:
    """``turnengine mic``: the live microphone session (or a file played as one)."""
    from ..mic import MicError, run_live

    session, source, notes = _mic_session(args)
    note = (f"simulated agent: speaks {args.agent_seconds:g}s after each turn"
            + (f" ({', '.join(notes)})" if notes else "")) if args.simulate_agent else ""
    header = f"turnengine mic: {source.name} at {source.sample_rate} Hz, vad={args.vad}"
    try:
        interrupted = run_live(session, header=header, note=note, max_seconds=args.seconds)
    except MicError as exc:  # no device: an input that cannot be used
        raise CLIError(str(exc), EXIT_INPUT) from None
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    report = session.finish(let_agent_finish=not interrupted)
    if args.save_audio:
        session.save_audio(args.save_audio)
        report.audio_recording_path = str(Path(args.save_audio).resolve())
        report.audio_recording_started_at = session.engine.started_at
    if args.save_report:
        _write(args.save_report, report.to_json(), "report")
    for line in session.summary().lines():
        print(line)
    for label, saved in (("report", args.save_report), ("audio", args.save_audio)):
        if saved:
            print(f"# {label} saved to {saved}")
    return 0


def _mic_session(args: argparse.Namespace) -> tuple[Any, Any, list[str]]:
    """The checked options, the input source and the :class:`MicSession` of ``mic``."""
    from ..mic import MicError, MicSession

    options = options_from_args(args)
    notes: list[str] = []
    silent = args.simulate_agent and args.agent_silent
    if silent and not hasattr(args, "opt_aec_warmup_duration"):
        # The silent agent makes no sound, so there is no echo to guard against.
        options = options.replace(aec_warmup_duration=0.0)
        notes.append("aec_warmup_duration=0")
    if not args.agent_seconds > 0:
        raise CLIError(f"--agent-seconds must be > 0, got {args.agent_seconds}", EXIT_USAGE)
    writable_output(args.save_report, "report")
    writable_output(args.save_audio, "recording")
    try:
        source, output = _mic_io(args, speaking=args.simulate_agent and not silent)
        if output is not None:
            notes.append("agent voice " + ("without echo reference" if args.no_echo_reference
                                           else "as echo reference"))
        session = MicSession(source, vad=args.vad, options=options, model_path=args.model_path,
                             turn_detector=args.turn_detector,
                             simulate_agent=args.simulate_agent,
                             agent_speech_s=args.agent_seconds,
                             record=args.save_audio is not None, agent_output=output,
                             echo_reference=not args.no_echo_reference)
    except MicError as exc:  # no device: an input that cannot be used
        raise CLIError(str(exc), EXIT_INPUT) from None
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    return session, source, notes


def _mic_io(args: argparse.Namespace, speaking: bool) -> tuple[Any, Any]:
    """The input source and, for a speaking agent, its output: the speakers, or with
    ``--fake-input`` a simulated room that echoes it into the fake microphone."""
    from ..mic import BLOCK_MS, LoopbackRoom, fake_input, open_microphone, speaker_output

    if args.fake_input:
        room = None
        if speaking:
            from ...audio import inspect_audio

            rate = inspect_audio(args.fake_input).sample_rate
            room = LoopbackRoom(rate, max(1, int(round(rate * BLOCK_MS / 1000.0))))
        return fake_input(args.fake_input, realtime=args.realtime, room=room), room
    source = open_microphone(args.device)
    return source, speaker_output(source.sample_rate) if speaking else None


def cmd_plot(args: argparse.Namespace) -> int:
    """``turnengine plot``: replay a file and draw its timeline as a PNG."""
    from ..plot import plot_file

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
                           turn_detector=args.turn_detector, labels=labels,
                           playout=args.playout)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    for note in result.notes:
        print(f"turnengine: note: {note}", file=sys.stderr)
    print(f"wrote {out}: {result.timeline.summary()}")
    return 0
