"""Microphone demo: talk, and watch turnengine decide when your turn is over.

Without arguments it listens to the default microphone (needs the PortAudio library, e.g.
``apt-get install libportaudio2``, and an input device); Ctrl-C stops and prints a summary.
A simulated agent answers each of your turns with a few seconds of (silent) "speech", so you can
try interrupting it.

    python examples/mic_demo.py                          # the real microphone
    python examples/mic_demo.py --device 2               # another input (python -m sounddevice)
    python examples/mic_demo.py --fake-input clip.wav    # a file through the same path (CI)
    TURNENGINE_FAKE_INPUT=clip.wav python examples/mic_demo.py

``--fake-input`` (or the ``TURNENGINE_FAKE_INPUT`` environment variable) plays a WAV file through
a fake input stream that calls the same PortAudio-style callback from another thread, so the demo
runs on machines without a microphone.  ``turnengine mic`` is the same with a live display.
"""

from __future__ import annotations

import argparse
import os
import sys

from turnengine import TurnEngineOptions
from turnengine.tools.mic import MicError, MicSession, fake_input, open_microphone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake-input", metavar="CLIP.wav",
                        default=os.environ.get("TURNENGINE_FAKE_INPUT"),
                        help="play this file instead of the microphone")
    parser.add_argument("--realtime", action="store_true",
                        help="with --fake-input: at real time, as a microphone would")
    parser.add_argument("--device", default=None, help="input device index or name")
    parser.add_argument("--vad", default="silero-onnx", help="silero-onnx (default) or energy")
    args = parser.parse_args(argv)

    try:
        if args.fake_input:
            source = fake_input(args.fake_input, realtime=args.realtime)
        else:
            device = int(args.device) if args.device and args.device.isdigit() else args.device
            source = open_microphone(device)
    except MicError as exc:
        print(f"mic_demo: error: {exc}", file=sys.stderr)
        return 2

    # The simulated agent makes no sound, so there is no echo to wait out: interruptions may
    # start at once (aec_warmup_duration=0).
    options = TurnEngineOptions(min_endpointing_delay=0.5, aec_warmup_duration=0.0)
    session = MicSession(source, vad=args.vad, options=options, simulate_agent=True,
                         agent_speech_s=3.0)
    engine = session.engine

    # Plain engine callbacks: they run on this (the main) thread, inside push_audio.
    @engine.on("user_state_changed")
    def on_user(ev):
        print(f"{ev.stream_time:7.2f}s  you are {ev.new_state}")

    @engine.on("user_turn_completed")
    def on_turn(ev):
        print(f"{ev.stream_time:7.2f}s  your turn is over "
              f"({ev.end_of_utterance_delay:.2f}s after you stopped)")

    @engine.on("agent_state_changed")
    def on_agent(ev):
        print(f"{ev.stream_time:7.2f}s  agent is {ev.new_state}")

    @engine.on("agent_interrupted")
    def on_interrupted(ev):
        print(f"{ev.stream_time:7.2f}s  you interrupted the agent")

    print(f"listening to {source.name} at {source.sample_rate} Hz; Ctrl-C to stop")
    try:
        interrupted = session.run()
    except MicError as exc:
        print(f"mic_demo: error: {exc}", file=sys.stderr)
        return 2
    session.finish(let_agent_finish=not interrupted)
    print("\n".join(session.summary().lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
