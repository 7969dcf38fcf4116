"""The Pipecat adapter against the real pipecat-ai package (dev extra); no network.

The analyzer is driven with raw int16 byte chunks, as Pipecat's ``VADController`` does, and its
QUIET <-> SPEAKING transitions are compared with the native :class:`TurnEngine` (``"turnengine"``
mode) and with Pipecat's own ``SileroVADAnalyzer`` (``"pipecat"`` mode).
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


need("pipecat.audio.vad.vad_analyzer")

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState  # noqa: E402

from turnengine import TurnEngine  # noqa: E402
from turnengine.integrations.pipecat import TurnEngineVADAnalyzer  # noqa: E402

CLIP = "C2_composed_real_multi_clean"
WINDOW = 512 / 16000


def clip(rate: int = 16000) -> np.ndarray:
    pcm, sr = load_clip(CLIP)
    pcm = np.concatenate([pcm, np.zeros(sr, np.int16)])
    if rate != sr:
        from scipy.signal import resample_poly

        pcm = np.clip(resample_poly(pcm.astype(np.float64), rate, sr), -32768, 32767)
        pcm = pcm.astype(np.int16)
    return pcm


def transitions(analyzer: VADAnalyzer, pcm: np.ndarray, rate: int,
                chunk_ms: int = 20) -> list[tuple[str, float]]:
    """Feed byte chunks; return (new state, end of the chunk in s) at each QUIET <-> SPEAKING
    change, as ``VADController`` sees them."""
    analyzer.set_sample_rate(rate)
    n = rate * chunk_ms // 1000
    out: list[tuple[str, float]] = []

    async def go() -> None:
        state = VADState.QUIET
        for i in range(0, pcm.shape[0] - n + 1, n):
            new = await analyzer.analyze_audio(pcm[i:i + n].tobytes())
            if new != state and new in (VADState.SPEAKING, VADState.QUIET):
                out.append(("speaking" if new == VADState.SPEAKING else "listening",
                            (i + n) / rate))
                state = new

    asyncio.run(go())
    return out


def native(pcm: np.ndarray, rate: int, **options) -> list[tuple[str, float]]:
    # The VAD's own segments: no turn ends one early (the silence-started timer is off).
    options = {"endpointing_start": "end_of_speech", **options}
    engine = TurnEngine(sample_rate=rate, user_away_timeout=None, **options)
    out = []
    for i in range(0, pcm.shape[0], rate // 50):
        out += [(ev.new_state, ev.stream_time) for ev in engine.push_audio(pcm[i:i + rate // 50])
                if ev.type == "user_state_changed"]
    return out


def pipecat_as_engine_options(params: VADParams) -> dict:
    return {"activation_threshold": params.confidence, "min_speech_duration": params.start_secs,
            "min_silence_duration": params.stop_secs}


def assert_within_one_window(got: list, want: list) -> None:
    assert [k for k, _ in got] == [k for k, _ in want]
    for (_, t1), (_, t2) in zip(got, want, strict=True):
        assert 0.0 <= t1 - t2 < WINDOW  # seen at the end of the chunk holding the decision


def test_is_a_pipecat_analyzer() -> None:
    analyzer = TurnEngineVADAnalyzer()
    assert isinstance(analyzer, VADAnalyzer)
    assert analyzer.hysteresis == "turnengine" and analyzer.engine is None
    analyzer.set_sample_rate(16000)
    assert analyzer.num_frames_required() == 512
    assert analyzer.engine is not None and analyzer.engine.vad.name == "silero"
    analyzer.set_sample_rate(48000)
    assert analyzer.num_frames_required() == 1536
    eight = TurnEngineVADAnalyzer(sample_rate=8000)
    eight.set_sample_rate(16000)  # the constructor's rate wins, as in Pipecat
    assert eight.sample_rate == 8000 and eight.num_frames_required() == 256


@pytest.mark.parametrize("params", [VADParams(), VADParams(confidence=0.5, start_secs=0.05,
                                                           stop_secs=0.55)],
                         ids=["pipecat-defaults", "livekit-defaults"])
def test_turnengine_mode_matches_native_engine(params: VADParams) -> None:
    pcm = clip()
    got = transitions(TurnEngineVADAnalyzer(params=params), pcm, 16000)
    want = native(pcm, 16000, **pipecat_as_engine_options(params))
    assert len(got) >= 18
    assert_within_one_window(got, want)


@pytest.mark.parametrize("rate", [48000, 8000])
def test_turnengine_mode_other_rates(rate: int) -> None:
    pcm = clip(rate)
    got = transitions(TurnEngineVADAnalyzer(), pcm, rate)
    want = native(pcm, rate, **pipecat_as_engine_options(VADParams()))
    window = 256 / 8000 if rate == 8000 else WINDOW
    assert [k for k, _ in got] == [k for k, _ in want]
    for (_, t1), (_, t2) in zip(got, want, strict=True):
        assert 0.0 <= t1 - t2 < window + 1e-9


def test_engine_events_carry_backdated_boundaries() -> None:
    analyzer = TurnEngineVADAnalyzer(params=VADParams(confidence=0.5, start_secs=0.05,
                                                      stop_secs=0.55))
    analyzer.set_sample_rate(16000)
    seen = []
    analyzer.engine.on("user_state_changed", lambda ev: seen.append(ev.audio_time))

    async def go() -> None:
        pcm = clip()
        for i in range(0, pcm.shape[0] - 320 + 1, 320):
            await analyzer.analyze_audio(pcm[i:i + 320].tobytes())

    asyncio.run(go())
    assert seen[:2] == pytest.approx([0.864, 1.632])  # as `turnengine run` prints


def test_states_between(monkeypatch) -> None:
    """STARTING and STOPPING are reported while the run is shorter than start/stop secs."""
    analyzer = TurnEngineVADAnalyzer()
    analyzer.set_sample_rate(16000)
    pcm = clip()
    states = []

    async def go() -> None:
        for i in range(0, pcm.shape[0] - 320 + 1, 320):
            states.append(await analyzer.analyze_audio(pcm[i:i + 320].tobytes()))

    asyncio.run(go())
    seen = set(states)
    assert seen == {VADState.QUIET, VADState.STARTING, VADState.SPEAKING, VADState.STOPPING}
    for a, b in zip(states, states[1:], strict=False):
        assert (a, b) not in {(VADState.QUIET, VADState.STOPPING),
                              (VADState.SPEAKING, VADState.STARTING)}


def test_pipecat_mode_matches_pipecat_silero(monkeypatch) -> None:
    """``hysteresis="pipecat"`` runs Pipecat's own state machine on turnengine's probability:
    the same transitions as Pipecat's SileroVADAnalyzer with its periodic model reset off (the
    only other difference; with it on, see docs/integrations.md for the measured gap)."""
    silero = need("pipecat.audio.vad.silero")
    monkeypatch.setattr(silero.SileroVADAnalyzer, "_maybe_reset_model",
                        lambda self, confidence: None)
    pcm = clip()
    for params in (VADParams(), VADParams(confidence=0.5, start_secs=0.05, stop_secs=0.55,
                                          min_volume=0.3)):
        ours = transitions(TurnEngineVADAnalyzer(params=params, hysteresis="pipecat"), pcm,
                           16000)
        theirs = transitions(silero.SileroVADAnalyzer(params=params), pcm, 16000)
        assert len(ours) >= 10
        assert ours == theirs


def test_pipecat_mode_voice_confidence_matches_backend() -> None:
    from turnengine import load_vad

    analyzer = TurnEngineVADAnalyzer(hysteresis="pipecat")
    analyzer.set_sample_rate(16000)
    pcm = clip()[: 512 * 200]
    got = np.array([analyzer.voice_confidence(pcm[i:i + 512].tobytes())
                    for i in range(0, pcm.shape[0], 512)], dtype=np.float32)
    want = load_vad("silero", 16000).probabilities(pcm)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_set_params_rebuilds_and_resets() -> None:
    analyzer = TurnEngineVADAnalyzer()
    analyzer.set_sample_rate(16000)
    first = analyzer.engine
    analyzer.set_params(VADParams(confidence=0.6, start_secs=0.1, stop_secs=0.8))
    assert analyzer.engine is not first
    assert analyzer.engine.options.min_silence_duration == 0.8
    assert analyzer.engine.options.activation_threshold == 0.6
    assert analyzer.engine.vad is first.vad  # model state carries over
    with pytest.raises(ValueError, match="activation_threshold"):
        analyzer.set_params(VADParams(confidence=1.5))


def test_validation() -> None:
    with pytest.raises(ValueError, match="hysteresis"):
        TurnEngineVADAnalyzer(hysteresis="webrtc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown VAD backend"):
        TurnEngineVADAnalyzer(backend="cobra")
    with pytest.raises(ValueError, match="unsupported sample rate"):
        TurnEngineVADAnalyzer(sample_rate=22050)
    with pytest.raises(ValueError, match="unsupported sample rate"):
        TurnEngineVADAnalyzer().set_sample_rate(11025)
    with pytest.raises(RuntimeError, match="set_sample_rate"):
        TurnEngineVADAnalyzer().voice_confidence(b"\x00\x00" * 512)


def test_in_a_pipeline() -> None:
    """A real Pipecat pipeline (VADProcessor -> collector) fed InputAudioRawFrames offline."""
    from pipecat.frames.frames import (
        EndFrame,
        InputAudioRawFrame,
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
    )
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.processors.audio.vad_processor import VADProcessor
    from pipecat.processors.frame_processor import FrameProcessor

    try:
        from pipecat.pipeline.worker import PipelineParams
        from pipecat.pipeline.worker import PipelineWorker as Task
        from pipecat.workers.runner import WorkerRunner as Runner
    except ImportError:  # pipecat-ai < 1.3
        from pipecat.pipeline.runner import PipelineRunner as Runner  # type: ignore[no-redef]
        from pipecat.pipeline.task import PipelineParams  # type: ignore[no-redef]
        from pipecat.pipeline.task import PipelineTask as Task  # type: ignore[no-redef]

    class Collector(FrameProcessor):
        def __init__(self) -> None:
            super().__init__()
            self.kinds: list[str] = []

        async def process_frame(self, frame, direction) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, VADUserStartedSpeakingFrame):
                self.kinds.append("speaking")
            elif isinstance(frame, VADUserStoppedSpeakingFrame):
                self.kinds.append("listening")
            await self.push_frame(frame, direction)

    pcm = clip()
    collector = Collector()
    pipeline = Pipeline([VADProcessor(vad_analyzer=TurnEngineVADAnalyzer()), collector])
    task = Task(pipeline, params=PipelineParams(audio_in_sample_rate=16000), enable_rtvi=False)

    async def go() -> None:
        async def feed() -> None:
            for i in range(0, pcm.shape[0] - 320 + 1, 320):
                await task.queue_frame(InputAudioRawFrame(audio=pcm[i:i + 320].tobytes(),
                                                          sample_rate=16000, num_channels=1))
            await task.queue_frame(EndFrame())

        runner = Runner(handle_sigint=False)
        if hasattr(runner, "add_workers"):
            await runner.add_workers(task)
            await asyncio.wait_for(asyncio.gather(runner.run(), feed()), 120)
        else:
            await asyncio.wait_for(asyncio.gather(runner.run(task), feed()), 120)

    asyncio.run(go())
    want = native(pcm, 16000, **pipecat_as_engine_options(VADParams()))
    assert collector.kinds == [k for k, _ in want]
