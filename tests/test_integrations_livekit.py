"""The LiveKit adapter against the real livekit-agents package (dev extra); no server, no network.

A ``VADStream`` is driven with ``rtc.AudioFrame`` objects in asyncio, as ``AgentSession`` does,
and its ``VADEvent`` objects are compared with the native :class:`TurnEngine` and, where it is
installed, with LiveKit's own ``livekit-plugins-silero`` on the same audio.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import numpy as np
import pytest
from conftest import load_clip


def need(module: str) -> Any:
    """Import a package of the dev extra; never skipped (the README test command installs it)."""
    return importlib.import_module(module)


need("livekit.agents")

from livekit import rtc  # noqa: E402
from livekit.agents import vad as agents_vad  # noqa: E402

from turnengine import TurnEngine  # noqa: E402
from turnengine.integrations.livekit import VAD, VADStream  # noqa: E402

CLIP = "C2_composed_real_multi_clean"
ET = agents_vad.VADEventType
WINDOW = 512 / 16000


def clip(rate: int = 16000, tail_s: float = 1.0) -> np.ndarray:
    """The shared clip (16 kHz int16) plus digital silence, resampled to ``rate``."""
    pcm, sr = load_clip(CLIP)
    pcm = np.concatenate([pcm, np.zeros(int(tail_s * sr), np.int16)])
    if rate != sr:
        from scipy.signal import resample_poly

        pcm = np.clip(resample_poly(pcm.astype(np.float64), rate, sr), -32768, 32767)
        pcm = pcm.astype(np.int16)
    return pcm


async def run_stream(vad: agents_vad.VAD, pcm: np.ndarray, rate: int, frame_ms: int = 10,
                     channels: int = 1) -> list[agents_vad.VADEvent]:
    """Push ``pcm`` as ``frame_ms`` frames, end the input, return every event."""
    stream = vad.stream()
    n = rate * frame_ms // 1000
    events: list[agents_vad.VADEvent] = []

    async def consume() -> None:
        async for ev in stream:
            events.append(ev)

    task = asyncio.create_task(consume())
    for k, i in enumerate(range(0, pcm.shape[0] - n + 1, n)):
        data = pcm[i:i + n]
        if channels > 1:
            data = np.repeat(data[:, None], channels, axis=1).ravel()
        stream.push_frame(rtc.AudioFrame(data.tobytes(), rate, channels, n))
        if k % 50 == 0:
            await asyncio.sleep(0)
    stream.end_input()
    await task
    await stream.aclose()
    return events


def boundaries(events: list[agents_vad.VADEvent], rate: int = 16000) -> list[tuple]:
    """(kind, decision s, back-dated boundary s) for each START/END."""
    out = []
    for ev in events:
        if ev.type == ET.START_OF_SPEECH:
            out.append(("speaking", ev.samples_index / rate, ev.timestamp - ev.speech_duration))
        elif ev.type == ET.END_OF_SPEECH:
            out.append(("listening", ev.samples_index / rate, ev.timestamp - ev.silence_duration))
    return out


def native_boundaries(pcm: np.ndarray, rate: int, **options) -> list[tuple]:
    # The VAD's own segments: no turn ends one early (the silence-started timer is off).
    options = {"endpointing_start": "end_of_speech", **options}
    engine = TurnEngine(sample_rate=rate, user_away_timeout=None, **options)
    out = []
    for i in range(0, pcm.shape[0], rate // 100):
        for ev in engine.push_audio(pcm[i:i + rate // 100]):
            if ev.type == "user_state_changed":
                out.append((ev.new_state, ev.stream_time, ev.audio_time))
    return out


@pytest.fixture(scope="module")
def vad() -> VAD:
    return VAD.load()


def test_is_a_livekit_vad(vad: VAD) -> None:
    assert isinstance(vad, agents_vad.VAD)
    assert vad.model == "silero" and vad.provider == "turnengine"
    assert vad.capabilities.update_interval == pytest.approx(WINDOW)
    assert vad.min_silence_duration == 0.55

    async def make() -> None:
        stream = vad.stream()
        assert isinstance(stream, agents_vad.VADStream) and isinstance(stream, VADStream)
        await stream.aclose()

    asyncio.run(make())


def test_agent_session_accepts_it(vad: VAD) -> None:
    from livekit.agents import AgentSession

    async def make() -> None:
        session = AgentSession(vad=vad)
        assert session.vad is vad

    asyncio.run(make())


def test_segments_match_native_engine_at_16k(vad: VAD) -> None:
    pcm = clip()
    events = asyncio.run(run_stream(vad, pcm, 16000))
    got = boundaries(events)
    want = native_boundaries(pcm, 16000)
    assert len(got) == len(want) == 18
    for (k1, t1, b1), (k2, t2, b2) in zip(got, want, strict=True):
        assert k1 == k2
        assert t1 == pytest.approx(t2, abs=1e-9)
        assert b1 == pytest.approx(b2, abs=1e-9)


@pytest.mark.parametrize("rate", [48000, 24000, 8000])
def test_segments_match_native_engine_at_other_rates(rate: int) -> None:
    """Resampled input (48/24 kHz by turnengine's intake, 8 kHz by LiveKit's resampler up to
    the 16 kHz model, as the silero plugin does) lands within one window of 16 kHz decisions."""
    events = asyncio.run(run_stream(VAD.load(), clip(rate), rate))
    got = boundaries(events)
    want = native_boundaries(clip(), 16000)
    assert [k for k, _, _ in got] == [k for k, _, _ in want]
    for (_, t1, b1), (_, t2, b2) in zip(got, want, strict=True):
        assert abs(t1 - t2) <= WINDOW + 1e-9
        assert abs(b1 - b2) <= WINDOW + 1e-9


def test_8k_model_on_8k_input() -> None:
    pcm8 = clip(8000)
    events = asyncio.run(run_stream(VAD.load(sample_rate=8000), pcm8, 8000))
    got = boundaries(events, rate=8000)
    want = native_boundaries(pcm8, 8000)
    assert [(k, round(t, 6)) for k, t, _ in got] == [(k, round(t, 6)) for k, t, _ in want]
    assert sum(ev.type == ET.INFERENCE_DONE for ev in events) == pcm8.shape[0] // 256


def test_inference_done_per_window_with_livekit_fields(vad: VAD) -> None:
    pcm = clip(48000)
    events = asyncio.run(run_stream(vad, pcm, 48000))
    inf = [ev for ev in events if ev.type == ET.INFERENCE_DONE]
    n_windows = pcm.shape[0] // 3 // 512
    assert abs(len(inf) - n_windows) <= 1
    assert [ev.samples_index for ev in inf] == [512 * (i + 1) for i in range(len(inf))]
    assert all(ev.frames[0].samples_per_channel == 1536 for ev in inf)
    assert all(ev.frames[0].sample_rate == 48000 for ev in inf)
    assert all(0.0 <= ev.probability <= 1.0 and ev.inference_duration >= 0 for ev in inf)
    # LiveKit's rules: while speaking, speech_duration grows one window per window; the START
    # that follows a window reports the speech run that window completed.
    speaking = False
    for prev, ev in zip(events, events[1:], strict=False):
        if ev.type == ET.START_OF_SPEECH:
            assert prev.type == ET.INFERENCE_DONE and not prev.speaking
            assert ev.speech_duration == pytest.approx(prev.raw_accumulated_speech + WINDOW)
            assert ev.samples_index == prev.samples_index
            speaking = True
        elif ev.type == ET.END_OF_SPEECH:
            assert prev.type == ET.INFERENCE_DONE and prev.speaking
            assert ev.silence_duration == pytest.approx(prev.raw_accumulated_silence + WINDOW)
            speaking = False
        elif ev.type == ET.INFERENCE_DONE:
            assert ev.speaking == speaking
            if prev.type == ET.INFERENCE_DONE and speaking:
                assert ev.speech_duration == pytest.approx(prev.speech_duration + WINDOW)


def test_event_audio(vad: VAD) -> None:
    """START carries prefix padding + onset, END the padded utterance, at the input rate."""
    events = asyncio.run(run_stream(vad, clip(48000), 48000))
    start = next(ev for ev in events if ev.type == ET.START_OF_SPEECH)
    end = next(ev for ev in events if ev.type == ET.END_OF_SPEECH)
    (f_start,), (f_end,) = start.frames, end.frames
    assert f_start.sample_rate == f_end.sample_rate == 48000
    assert f_start.samples_per_channel == pytest.approx(
        (0.5 + start.speech_duration) * 48000, abs=2)
    utterance = end.timestamp - start.timestamp + start.speech_duration
    assert f_end.samples_per_channel == pytest.approx((0.5 + utterance) * 48000, abs=2)
    assert np.abs(np.frombuffer(f_end.data, np.int16)).max() > 1000  # real speech in it


def test_matches_livekit_silero_plugin() -> None:
    """Same events as LiveKit's own silero plugin on 16 kHz input: every START/END at the same
    sample with the same durations and audio length, and every INFERENCE_DONE with the same
    counters (probabilities within 1e-4: native kernel vs onnxruntime)."""
    silero = need("livekit.plugins.silero")
    pcm = clip()
    ours = asyncio.run(run_stream(VAD.load(), pcm, 16000))
    theirs = asyncio.run(run_stream(silero.VAD.load(), pcm, 16000))

    def key(ev: agents_vad.VADEvent) -> tuple:
        return (ev.type, ev.samples_index, round(ev.speech_duration, 6),
                round(ev.silence_duration, 6), ev.speaking, round(ev.raw_accumulated_speech, 6),
                round(ev.raw_accumulated_silence, 6),
                sum(f.samples_per_channel for f in ev.frames))

    assert [key(ev) for ev in ours] == [key(ev) for ev in theirs]
    diffs = [abs(a.probability - b.probability) for a, b in zip(ours, theirs, strict=True)
             if a.type == ET.INFERENCE_DONE]
    assert max(diffs) < 1e-4


def test_flush_is_a_hard_boundary(vad: VAD) -> None:
    pcm = clip()

    async def go() -> list[agents_vad.VADEvent]:
        stream = vad.stream()
        events: list[agents_vad.VADEvent] = []

        async def consume() -> None:
            async for ev in stream:
                events.append(ev)

        task = asyncio.create_task(consume())
        half = 16000 + 4000  # 1.25 s: inside the first utterance (0.864 s .. 1.632 s)
        stream.push_frame(rtc.AudioFrame(pcm[:half].tobytes(), 16000, 1, half))
        stream.flush()
        rest = pcm[half:]
        stream.push_frame(rtc.AudioFrame(rest.tobytes(), 16000, 1, rest.shape[0]))
        stream.end_input()
        await task
        await stream.aclose()
        return events

    events = asyncio.run(go())
    kinds = [ev.type for ev in events if ev.type != ET.INFERENCE_DONE]
    assert kinds[0] == ET.START_OF_SPEECH and kinds[1] == ET.START_OF_SPEECH  # END dropped
    inf = [ev.samples_index for ev in events if ev.type == ET.INFERENCE_DONE]
    restart = inf.index(512, 1)
    assert restart > 0 and inf[restart - 1] == (20000 // 512) * 512  # counters restart at 0


def test_update_options_applies_when_quiet() -> None:
    vad = VAD.load()
    pcm = clip()

    async def go() -> list[agents_vad.VADEvent]:
        stream = vad.stream()
        events: list[agents_vad.VADEvent] = []

        async def consume() -> None:
            async for ev in stream:
                events.append(ev)

        task = asyncio.create_task(consume())
        n = 160
        for i in range(0, pcm.shape[0] - n + 1, n):
            if i == 32000:  # 2.0 s: user speaking (first segment ends at 2.208 s)
                vad.update_options(min_silence_duration=1.0)
            stream.push_frame(rtc.AudioFrame(pcm[i:i + n].tobytes(), 16000, 1, n))
            for _ in range(3):  # let the stream task take the frame before the next one
                await asyncio.sleep(0)
        stream.end_input()
        await task
        await stream.aclose()
        return events

    got = boundaries(asyncio.run(go()))
    base = native_boundaries(pcm, 16000)
    # The switch waits while the user speaks: the first segment ends under the old rule.
    assert [(k, round(t, 6)) for k, t, _ in got[:2]] == [(k, round(t, 6)) for k, t, _ in base[:2]]
    # Then 1.0 s of silence ends speech: from the second END on, the segments are those of an
    # engine that had min_silence_duration=1.0 from the start (which merged the first two).
    longer = native_boundaries(pcm, 16000, min_silence_duration=1.0)
    assert len(longer) < len(got) < len(base)
    assert [(k, round(t, 6)) for k, t, _ in got[3:]] == [
        (k, round(t, 6)) for k, t, _ in longer[1:]]
    # silence needed to end speech is now 1.0 s: every later END is decided >= 1.0 s after
    # its back-dated boundary.
    for kind, t, b in got[2:]:
        if kind == "listening":
            assert t - b >= 1.0 - 1e-9
    # Windows stay on the stream's 512-sample grid across the switch.
    assert all(round(t * 16000) % 512 == 0 for _, t, _ in got)
    assert vad.options.engine.min_silence_duration == 1.0


def test_multichannel_frames_are_downmixed(vad: VAD) -> None:
    pcm = clip()
    got = boundaries(asyncio.run(run_stream(vad, pcm, 16000, channels=2)))
    assert got == boundaries(asyncio.run(run_stream(vad, pcm, 16000)))


def test_metrics_collected_from_inference_done(vad: VAD) -> None:
    seen: list = []
    vad.on("metrics_collected", seen.append)
    try:
        asyncio.run(run_stream(vad, clip(), 16000))
    finally:
        vad.off("metrics_collected", seen.append)
    assert seen and seen[0].inference_count >= 31
    assert all(m.label.endswith("livekit.VAD") for m in seen)


def test_agent_session_user_states_follow_turnengine() -> None:
    """A real AgentSession (no room, no STT/LLM) fed the clip: its user_state_changed events
    are the turnengine segments."""
    from livekit.agents import Agent, AgentSession
    from livekit.agents.voice import io as lk_io

    pcm = clip()

    class ClipInput(lk_io.AudioInput):
        def __init__(self) -> None:
            super().__init__(label="clip")
            self.i = 0
            self.done = asyncio.Event()

        async def __anext__(self) -> rtc.AudioFrame:
            n = 160
            if self.i + n > pcm.shape[0]:
                self.done.set()
                await asyncio.sleep(3600)
            frame = rtc.AudioFrame(pcm[self.i:self.i + n].tobytes(), 16000, 1, n)
            self.i += n
            if self.i % 1600 == 0:
                await asyncio.sleep(0.001)
            return frame

    async def go() -> list[tuple[str, str]]:
        session = AgentSession(vad=VAD.load())
        states: list[tuple[str, str]] = []
        session.on("user_state_changed", lambda ev: states.append((ev.old_state, ev.new_state)))
        source = ClipInput()
        session.input.audio = source
        await session.start(agent=Agent(instructions="listen"), record=False)
        await asyncio.wait_for(source.done.wait(), 120)
        await asyncio.sleep(0.2)
        await session.aclose()
        return states

    states = asyncio.run(go())
    want = native_boundaries(pcm, 16000)
    assert [new for _, new in states] == [k for k, _, _ in want]


def test_load_validation() -> None:
    with pytest.raises(ValueError, match="8000 or 16000"):
        VAD.load(sample_rate=22050)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown VAD backend"):
        VAD.load(backend="webrtc")
    with pytest.raises(ValueError, match="activation_threshold"):
        VAD.load(activation_threshold=1.5)
    with pytest.raises(ValueError, match="deactivation_threshold"):
        VAD.load(activation_threshold=0.3, deactivation_threshold=0.6)


def test_energy_backend_runs() -> None:
    vad = VAD.load(backend="energy", inference_frames=False)
    assert vad.capabilities.update_interval == pytest.approx(0.01)
    events = asyncio.run(run_stream(vad, clip(), 16000))
    assert any(ev.type == ET.START_OF_SPEECH for ev in events)
    assert all(ev.frames == [] for ev in events if ev.type == ET.INFERENCE_DONE)
