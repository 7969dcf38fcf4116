"""What the fuzzer calls, and how it judges each call (``benchmarks/fuzz_engine.py``).

Every target keeps two identical objects, ``a`` and its twin ``b``.  A fuzzed call goes to
``a``; only when ``a`` accepts it does ``b`` get the same call (rebuilt from the same seed), and
the two results must be equal.  So the twin has never seen a rejected call, and:

- a rejected call may raise only ``TypeError``/``ValueError`` (``ALLOWED``), and must leave
  ``a``'s state snapshot as it was;
- every ``verify_every`` calls a valid call goes to both, and its results and snapshots must be
  equal: hidden state a rejected call changed shows up there;
- ``push_audio`` chunks are also judged against the documented rule
  (:func:`fuzz_inputs.expect_push`): accepted or refused, and with which exception.

A crash (segfault) ends the process; ``fuzz_engine.py`` enables :mod:`faulthandler` and prints
the batch to replay.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from fuzz_inputs import BAD_SCALARS, expect_push, mutate, pick, random_chunk, same

from turnengine import TurnEngine
from turnengine.engine import EngineClosedError
from turnengine.options import TurnEngineOptions
from turnengine.streams import TurnEngineGroup

ALLOWED: tuple[type[Exception], ...] = (TypeError, ValueError)
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SPEECH = sf.read(DATA / "C2_composed_real_multi_clean.wav", dtype="int16")[0]
RATES = (8000, 16000, 24000, 32000, 44100, 48000)
#: What the kernels do that their docstrings do not say, reported to the kernel owner (issue
#: 13; tests/test_fuzz_small.py holds a strict xfail test for each): counted apart, they do not
#: fail a run.  An engine target never has known findings.
KNOWN_KERNEL = (
    "OverflowError escaped",          # a Python int outside the C argument's range
    "BufferError escaped",            # a read-only non-array (numpy scalar, bytes) as an output
    "took a non-integer",             # Timers.advance(1.5) truncates (the twin keeps 1.5)
    "clock did not move",             # Timers.advance past int64: silently nothing
    "clock wrapped past int64",       # Timers.process/step from a start near int64's end
    "max_output overflowed",          # Intake.max_output(n) for n * up past int64
    "MemoryError escaped",            # SileroBatch(model, 2**31 - 1): no documented maximum
)


@dataclass
class Stats:
    """What a run did and found."""

    inputs: int = 0
    accepted: int = 0
    checks: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    per_target: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    known: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def finding(self, key: str, detail: str) -> None:
        known = not key.startswith("engine") and any(k in key for k in KNOWN_KERNEL)
        (self.known if known else self.findings)[key] += 1
        self.examples.setdefault(key, detail[:400])

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass
class Method:
    """One fuzzed call: ``make(rng, side)`` builds valid arguments for ``side``'s state,
    ``call(side, args)`` makes the call and returns what the twins must agree on.  With
    probability ``p_bad`` the arguments are mutated (:func:`fuzz_inputs.mutate`);
    ``expect(args)``, when given, is the documented outcome (None: accepted)."""

    name: str
    make: Callable[[np.random.Generator, Any], tuple]
    call: Callable[[Any, tuple], Any]
    p_bad: float = 0.7
    expect: Callable[[tuple], type[Exception] | None] | None = None
    weight: float = 1.0
    also: tuple[type[Exception], ...] = ()  # exceptions documented besides ALLOWED
    #: ``post(side, args, snapshot_before)``: what is wrong after an accepted call, or None.
    post: Callable[[Any, tuple, Any], str | None] | None = None


class Target:
    """Two identical objects and the methods fuzzed on them (subclasses fill these in)."""

    name = "target"
    methods: list[Method]
    verify_every = 50
    parity = False
    #: How far apart the compiled kernel and its pure-Python twin may be in a parity run (the
    #: float tolerance their own parity tests use; 0: bit for bit).
    parity_atol = 0.0

    @property
    def atol(self) -> float:
        return self.parity_atol if self.parity else 0.0

    def __init__(self, rng: np.random.Generator) -> None:
        seed = int(rng.integers(2**63))
        self.a = self.build(np.random.default_rng(seed))
        self.b = self.build(np.random.default_rng(seed))

    def build(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def snapshot(self, side: Any) -> Any:
        """The side's observable state."""
        return None

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        """A valid call on both sides; their results (to be equal)."""
        return None, None

    def sane(self, side: Any) -> str | None:
        """What is wrong with ``side``'s state after an accepted call, or None."""
        return None


class KernelTarget(Target):
    """A kernel's objects: ``a`` built from the module ``mod``, its twin ``b`` from
    ``twin_mod`` (the same module; in a parity run, the other implementation: then a call ``a``
    refuses goes to ``b`` as well, which must refuse it with the same exception class).  Every
    side remembers its module as ``side.mod``."""

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        self.parity = twin_mod is not None and twin_mod is not mod
        seed = int(rng.integers(2**63))
        self.a = self._build(mod, seed)
        self.b = self._build(twin_mod or mod, seed)
        self.mod = mod

    def _build(self, mod: Any, seed: int) -> Any:
        self.mod = mod
        side = self.build(np.random.default_rng(seed))
        side.mod = mod
        return side


def _parity(target: Target, m: Method, seed: int, bad: bool, exc: Exception,
            stats: Stats) -> bool:
    """A parity run: the other implementation must refuse ``a``'s refused call alike."""
    where = f"{target.name}.{m.name}"
    try:
        m.call(target.b, _args(m, seed, bad, target.b))
    except Exception as other:  # noqa: BLE001
        if type(other) is not type(exc):
            stats.finding(f"{where}: twins raise {type(exc).__name__} and "
                          f"{type(other).__name__}", f"{exc!r} / {other!r}")
        return True
    stats.finding(f"{where}: the reference twin accepted what the compiled one refused "
                  f"({type(exc).__name__})", repr(exc))
    return False


def _args(m: Method, seed: int, bad: bool, side: Any) -> tuple:
    rng = np.random.default_rng(seed)
    args = m.make(rng, side)
    return mutate(rng, args) if bad else args


#: Print every call before it is made (``fuzz_engine.py --trace``: find the call that crashed).
TRACE = False


def run_call(target: Target, m: Method, rng: np.random.Generator, stats: Stats) -> bool:
    """One fuzzed call (see the module notes); False when the pair must be rebuilt."""
    seed, bad = int(rng.integers(2**63)), bool(rng.random() < m.p_bad)
    args = _args(m, seed, bad, target.a)
    where = f"{target.name}.{m.name}"
    if TRACE:
        print(f"{stats.inputs}: {where} {args!r:.2000}", flush=True)
    stats.inputs += 1
    stats.per_target[target.name] += 1
    want = m.expect(args) if m.expect is not None else None
    before = target.snapshot(target.a)
    try:
        got = m.call(target.a, args)
    except ALLOWED + m.also as exc:
        stats.rejected[f"{where}: {type(exc).__name__}"] += 1
        if not same(target.snapshot(target.a), before):
            stats.finding(f"{where}: state changed by a rejected call", repr(exc))
        if m.expect is not None and want is None:
            stats.finding(f"{where}: refused a valid input", f"{exc!r} for {args!r}")
        elif want is not None and not isinstance(exc, want):
            stats.finding(f"{where}: {type(exc).__name__} where {want.__name__} is documented",
                          f"{exc!r} for {args!r}")
        elif m.expect is None and not bad:
            stats.finding(f"{where}: refused a valid call", f"{exc!r} for {args!r}")
        return _parity(target, m, seed, bad, exc, stats) if target.parity else True
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        stats.finding(f"{where}: {type(exc).__name__} escaped", f"{exc!r} for {args!r}")
        if target.parity:
            _parity(target, m, seed, bad, exc, stats)
        return False
    stats.accepted += 1
    if want is not None:
        stats.finding(f"{where}: accepted an input documented as {want.__name__}", repr(args))
    try:
        got_b = m.call(target.b, _args(m, seed, bad, target.b))
    except Exception as exc:  # noqa: BLE001
        stats.finding(f"{where}: the twin refused what the first accepted", repr(exc))
        return False
    if not same(got, got_b, target.atol) or not same(
            target.snapshot(target.a), target.snapshot(target.b), target.atol):
        stats.finding(f"{where}: twins diverged on an accepted call", repr(args))
        return False
    problem = target.sane(target.a) or (m.post(target.a, args, before) if m.post else None)
    if problem:  # (the key is the problem's kind, what comes after a colon its detail)
        stats.finding(f"{where}: {problem.split(':', 1)[0]}", f"{problem} for {args!r}")
        return False
    return True


def verify(target: Target, rng: np.random.Generator, stats: Stats) -> bool:
    """A valid call on both twins: a rejected call changed no hidden state."""
    stats.checks += 1
    try:
        got_a, got_b = target.verify(rng)
    except Exception as exc:  # noqa: BLE001
        stats.finding(f"{target.name}.verify: {type(exc).__name__}", repr(exc))
        return False
    if not same(got_a, got_b, target.atol) or not same(
            target.snapshot(target.a), target.snapshot(target.b), target.atol):
        stats.finding(f"{target.name}: state differs from the twin after rejected calls", "")
        return False
    return True


# -- the engine -----------------------------------------------------------------------------------
_WALL_CLOCK = ("created_at", "started_speaking_at", "stopped_speaking_at", "timestamp",
               "inference_duration_total", "idle_time")


def event_key(ev: Any) -> Any:
    """An event without its wall-clock fields (the twins started at different times)."""
    d = ev.to_dict()
    for key in _WALL_CLOCK:
        d.pop(key, None)
    if "item" in d:
        d["item"] = {k: v for k, v in d["item"].items() if k != "created_at"}
    if "metrics" in d:
        d["metrics"] = {k: v for k, v in d["metrics"].items() if k not in _WALL_CLOCK}
    return repr(d)


def _speech(rng: np.random.Generator, rate: int, n: int) -> np.ndarray:
    start = int(rng.integers(0, SPEECH.shape[0] - n))
    x = SPEECH[start:start + n]
    return x if rate == 16000 else np.resize(x, max(1, n * rate // 16000))


class EngineTarget(Target):
    """``TurnEngine.push_audio`` with anything a host might push; some host-call arguments."""

    name = "engine"
    verify_every = 20

    def __init__(self, rng: np.random.Generator) -> None:
        self.rate = int(pick(rng, RATES))
        self.vad = pick(rng, ("silero", "silero", "energy"))
        super().__init__(rng)
        self.methods = [
            Method("push_audio", lambda r, e: (random_chunk(r),), self._push, p_bad=0.0,
                   expect=lambda args: expect_push(args[0]), weight=8.0),
            Method("advance", lambda r, e: (float(pick(r, (0.0, 0.01, 0.5))),),
                   lambda e, a: [event_key(ev) for ev in e.advance(*a)]),
            Method("set_agent_state", lambda r, e: (pick(r, ("listening", "speaking")), None),
                   lambda e, a: [event_key(ev) for ev in e.set_agent_state(
                       a[0], allow_interruptions=a[1])]),
            Method("push_transcript", lambda r, e: ("yes", bool(r.random() < 0.5), None),
                   lambda e, a: [event_key(ev) for ev in e.push_transcript(*a)]),
            Method("schedule", lambda r, e: (e.stream_time + 0.5,), self._schedule),
            Method("update_options", self._option_args, self._update_options),
        ]

    def build(self, rng: np.random.Generator) -> TurnEngine:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return TurnEngine(sample_rate=self.rate, vad=self.vad)

    @staticmethod
    def _push(e: TurnEngine, args: tuple) -> Any:
        return [event_key(ev) for ev in e.push_audio(args[0])]

    @staticmethod
    def _option_args(rng: np.random.Generator, e: TurnEngine) -> tuple:
        name = pick(rng, ("min_silence_duration", "activation_threshold", "min_endpointing_delay",
                          "user_away_timeout", "turn_detection", "allow_interruptions"))
        value = {"min_silence_duration": 0.3, "activation_threshold": 0.6,
                 "min_endpointing_delay": 0.8, "user_away_timeout": None,
                 "turn_detection": "stt", "allow_interruptions": False}[name]
        return name, value

    @staticmethod
    def _update_options(e: TurnEngine, args: tuple) -> Any:
        name, value = args
        if not isinstance(name, str):
            name = "min_silence_duration"  # a mutated name: its value goes there
        return [event_key(ev) for ev in e.update_options(**{name: value})]

    @staticmethod
    def _schedule(e: TurnEngine, args: tuple) -> Any:
        e.schedule(args[0], lambda engine: engine.push_transcript("mm", False))

    def snapshot(self, e: TurnEngine) -> Any:
        return (e.stream_time, e.decision_time, e.user_state, e.agent_state, e.decision_pending,
                e.next_action_time, e.closed)

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        x = _speech(rng, self.rate, int(rng.integers(1, 3 * self.rate // 10)))
        return self._push(self.a, (x,)), self._push(self.b, (x,))


class EngineSetupTarget(Target):
    """Constructors with wrong rates, backends and option values; calls after ``close()``;
    ``TurnEngineGroup.push_audio``.  Nothing here has a twin to keep in step."""

    name = "engine_setup"
    verify_every = 10**9

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.methods = [
            Method("TurnEngine()", self._make_args, self._construct, p_bad=0.8),
            Method("closed.push_audio", lambda r, e: (random_chunk(r),), self._closed_push,
                   p_bad=0.0, weight=0.5),
            Method("group.push_audio", self._group_args, self._group_push, p_bad=0.5),
        ]
        self.closed = TurnEngine(vad="energy")
        self.closed.close()

    def build(self, rng: np.random.Generator) -> Any:
        return TurnEngineGroup(2, vad="silero")

    @staticmethod
    def _make_args(rng: np.random.Generator, _: Any) -> tuple:
        name = pick(rng, TurnEngineOptions.option_names())
        value = getattr(TurnEngineOptions(), name)
        return (int(pick(rng, RATES)), pick(rng, ("silero", "energy")), name, value)

    @staticmethod
    def _construct(_: Any, args: tuple) -> Any:
        rate, vad, name, value = args
        if not isinstance(name, str) or name not in TurnEngineOptions.option_names():
            name = "min_endpointing_delay"  # a mutated option name: its value goes there
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            engine = TurnEngine(sample_rate=rate, vad=vad, **{name: value})
        return engine.sample_rate

    def _closed_push(self, _: Any, args: tuple) -> Any:
        try:
            self.closed.push_audio(args[0])
        except EngineClosedError:
            return "closed"
        raise AssertionError("a closed engine accepted audio")

    @staticmethod
    def _group_args(rng: np.random.Generator, _: Any) -> tuple:
        n = int(rng.integers(1, 800))
        return (_speech(rng, 16000, n), _speech(rng, 16000, int(rng.integers(1, 800))))

    @staticmethod
    def _group_push(group: Any, args: tuple) -> Any:
        return [[event_key(ev) for ev in evs] for evs in group.push_audio(list(args))]

    def snapshot(self, group: Any) -> Any:
        return tuple((e.stream_time, e.user_state) for e in group)


ENGINE_TARGETS: tuple[type[Target], ...] = (EngineTarget, EngineSetupTarget)
__all__ = ["ALLOWED", "BAD_SCALARS", "ENGINE_TARGETS", "KernelTarget", "Method", "Stats", "Target",
           "run_call", "verify"]
