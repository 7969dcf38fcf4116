"""The kernels' public classes and functions, fuzzed directly (``turnengine._kernels.load``):
valid arguments drawn for each object's state, mutated most of the time
(:func:`fuzz_inputs.mutate`), judged as :mod:`fuzz_targets` says (twins, snapshots)."""

from __future__ import annotations

from types import SimpleNamespace as Side
from typing import Any

import numpy as np
from fuzz_inputs import out_of, pick
from fuzz_targets import RATES, KernelTarget, Method

W = 512  # window of the hysteresis and timers objects (16 kHz Silero)


def _f32(rng: np.random.Generator, shape: Any, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return rng.uniform(lo, hi, shape).astype(np.float32)


def _views(args: tuple) -> tuple:
    """What a ``bind`` took, as arrays over the same memory (it may take any buffer)."""
    return tuple(x if x is None else np.asarray(memoryview(x)) for x in args)


def _put(bound: np.ndarray, values: np.ndarray) -> None:
    """New inputs into a bound array (a read-only or odd one a mutated ``bind`` took stays as
    it is)."""
    if bound.flags.writeable and bound.flags.c_contiguous:
        flat = bound.reshape(-1)
        k = min(flat.shape[0], values.shape[0])
        flat[:k] = values[:k]


def _probs(rng: np.random.Generator, n: int) -> np.ndarray:
    """Speech probabilities, now and then with a value no VAD gives (NaN, inf, < 0, > 1)."""
    p = rng.random(n).astype(np.float32)
    if n and rng.random() < 0.1:
        p[int(rng.integers(n))] = pick(rng, (np.nan, np.inf, -1.0, 2.0))
    return p


class PcmTarget(KernelTarget):
    name = "pcm"

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        super().__init__(rng, mod, twin_mod)
        self.methods = [
            Method("Intake.process", self._process_args, self._process, weight=4.0),
            Method("Intake.max_output", self._count_args, lambda s, a: s.k.max_output(*a),
                   post=self._max_output_exact),
            Method("Intake.reset", lambda r, s: (), lambda s, a: s.k.reset(), weight=0.05),
            Method("Intake()", lambda r, s: (int(pick(r, RATES)), None),
                   lambda s, a: s.mod.Intake(*a).output_rate_hz, weight=0.3),
            Method("window_rms", self._rms_args, lambda s, a: (s.mod.window_rms(*a), a[2])),
            Method("intake_many", self._many_args, self._many),
        ]

    def build(self, rng: np.random.Generator) -> Any:
        rate = int(pick(rng, RATES))
        return Side(k=self.mod.Intake(rate), many=[self.mod.Intake(rate) for _ in range(2)])

    @staticmethod
    def _count_args(rng: np.random.Generator, s: Any) -> tuple:
        return (int(pick(rng, (rng.integers(0, 10**6), 2**62 + int(rng.integers(0, 10**6))))),)

    @staticmethod
    def _max_output_exact(s: Any, a: tuple, before: Any) -> str | None:
        """``ceil(n * up / down)``, exactly (Python ints do not overflow)."""
        n = a[0]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            return None
        want, got = -(-int(n) * s.k.up // s.k.down), s.k.max_output(n)
        return None if got == want else f"max_output overflowed: {got} for n={n}, not {want}"

    @staticmethod
    def _process_args(rng: np.random.Generator, s: Any) -> tuple:
        n, ch = int(rng.integers(1, 3000)), int(pick(rng, (1, 1, 2)))
        x = (rng.integers(-32768, 32768, (n, ch)).astype(np.int16) if rng.random() < 0.5
             else _f32(rng, (n, ch)))
        if ch == 1 and rng.random() < 0.5:
            x = x.reshape(-1)
        return x, np.zeros(s.k.max_output(n) + int(rng.integers(0, 3)), np.float32)

    @staticmethod
    def _process(s: Any, a: tuple) -> Any:
        k = s.k.process(*a)
        return k, out_of(a[1], k)

    @staticmethod
    def _rms_args(rng: np.random.Generator, s: Any) -> tuple:
        win = int(pick(rng, (1, 160, 512)))
        n = int(rng.integers(0, 8))
        return _f32(rng, n * win), win, np.zeros(n + int(rng.integers(0, 2)), np.float32)

    @staticmethod
    def _many_args(rng: np.random.Generator, s: Any) -> tuple:
        m = int(rng.integers(1, 1200))
        cap = max(i.max_output(m) for i in s.many) + int(rng.integers(0, 4))
        frames = rng.integers(-32768, 32768, (2, m)).astype(np.int16)
        return (s.many, frames, np.zeros((2, cap), np.float32), np.zeros(2, np.int64),
                np.zeros(2, np.int64))

    def _many(self, s: Any, a: tuple) -> Any:
        s.mod.intake_many(*a)
        return out_of(a[2]), out_of(a[3])

    def snapshot(self, s: Any) -> Any:
        return [(i.consumed, i.produced) for i in (s.k, *s.many)]

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        args = self._process_args(rng, self.a)
        return self._process(self.a, args), self._process(self.b, (args[0], args[1].copy()))


class HysteresisTarget(KernelTarget):
    name = "hysteresis"

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        super().__init__(rng, mod, twin_mod)
        self.methods = [
            Method("Hysteresis.process", self._process_args, self._process, weight=3.0),
            Method("Hysteresis.bind", self._bind_args, self._bind),
            Method("Hysteresis.step", self._step_args, self._step, weight=3.0),
            Method("Hysteresis.force_silence", lambda r, s: (), lambda s, a: s.k.force_silence(),
                   weight=0.1),
            Method("Hysteresis.reset", lambda r, s: (), lambda s, a: s.k.reset(), weight=0.05),
            Method("Hysteresis()", self._ctor_args, lambda s, a: s.mod.Hysteresis(*a).window_size,
                   weight=0.5),
            Method("step_many", self._many_args, self._many),
        ]

    @staticmethod
    def _ctor_args(rng: np.random.Generator, s: Any = None) -> tuple:
        act = float(rng.uniform(0.1, 0.9))
        return (W, act, max(act - 0.15, 0.01), int(rng.integers(1, 4)), int(rng.integers(1, 20)),
                float(pick(rng, (0.0, 0.35))), float(pick(rng, (0.0, 0.0, 0.01))))

    def build(self, rng: np.random.Generator) -> Any:
        args = self._ctor_args(rng)
        s = Side(k=self.mod.Hysteresis(*args), bound=None, clock=0, gated=args[-1] > 0)
        self._bind(s, self._bind_args(rng, s))
        return s

    @staticmethod
    def _bind_args(rng: np.random.Generator, s: Any) -> tuple:
        cap = int(rng.integers(1, 65))
        return (np.zeros(cap, np.float32), np.zeros(cap, np.float32), np.zeros(cap, np.uint8),
                np.zeros(cap, np.float32), np.zeros(cap, np.int32), np.zeros(cap, np.int64),
                np.zeros(cap, np.int64), np.zeros((cap, 2), np.int64))

    @staticmethod
    def _bind(s: Any, a: tuple) -> None:
        s.k.bind(*a)
        s.bound = _views(a)

    @staticmethod
    def _fill(rng: np.random.Generator, s: Any) -> int:
        cap = s.bound[0].shape[0]
        _put(s.bound[0], _probs(rng, cap))
        _put(s.bound[1], _f32(rng, cap, 0.0, 0.1))
        return cap

    def _step_args(self, rng: np.random.Generator, s: Any) -> tuple:
        cap = self._fill(rng, s)
        return int(rng.integers(0, cap + 1)), s.clock

    @staticmethod
    def _step(s: Any, a: tuple) -> Any:
        k = s.k.step(*a)
        s.clock = min(max(s.clock, int(a[1])), 2**62)
        n = min(int(a[0]), s.bound[0].shape[0])
        return k, s.bound[2][:n].copy(), s.bound[3][:n].copy(), s.bound[4][:k].copy(), \
            s.bound[5][:k].copy(), s.bound[6][:k].copy()

    @staticmethod
    def _process_args(rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(1, 65))
        rms = None if rng.random() < 0.5 and not s.gated else _f32(rng, n, 0.0, 0.1)
        runs = None if rng.random() < 0.5 else np.zeros((n, 2), np.int64)
        return (_probs(rng, n), rms, s.clock, np.zeros(n, np.uint8), np.zeros(n, np.float32),
                np.zeros(n, np.int32), np.zeros(n, np.int64), np.zeros(n, np.int64), runs)

    @staticmethod
    def _process(s: Any, a: tuple) -> Any:
        k = s.k.process(*a[:8], runs_out=a[8])
        s.clock = min(max(s.clock, int(a[2])), 2**62)
        outs = [out_of(x, k if i >= 5 else None) for i, x in enumerate(a[3:8], 3)]
        return k, outs, None if a[8] is None else out_of(a[8])

    def _many_args(self, rng: np.random.Generator, s: Any) -> tuple:
        cap = self._fill(rng, s)
        return ([s.k], np.array([rng.integers(0, cap + 1)], np.int64),
                np.array([s.clock], np.int64), np.zeros(1, np.int64))

    def _many(self, s: Any, a: tuple) -> Any:
        s.mod.step_many(*a)
        return out_of(a[3]), s.bound[2].copy(), s.bound[3].copy()

    def snapshot(self, s: Any) -> Any:
        return s.k.speaking, s.k.speech_run, s.k.silence_run, s.k.window_size

    def sane(self, s: Any) -> str | None:
        return None if s.k.speech_run >= 0 and s.k.silence_run >= 0 else "negative run"

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        seed = int(rng.integers(2**63))
        got = [self._process(s, self._process_args(np.random.default_rng(seed), s))
               for s in (self.a, self.b)]
        return got[0], got[1]


_TIMER_PROPS = ("now", "user_state", "agent_state", "endpoint_deadline", "away_deadline",
                "last_speaking", "speech_start", "turn_open", "interrupt_pending",
                "false_interruption_deadline", "aec_until", "speech_interruptible",
                "endpoint_delay", "awaiting_model", "model_answered", "vad_segment_open")
_NO_ARG_CALLS = ("settle_interruption", "final_transcript", "transcripts_fed", "mark_backchannel",
                 "user_back", "force_end", "commit")


def _flags(rng: np.random.Generator, n: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Window flags (RAW_SPEECH, SPEAKING, now and then START or END) and one back-dated
    boundary per START/END window."""
    f = ((rng.random(n) < 0.5) * 1 | (rng.random(n) < 0.5) * 2).astype(np.uint8)
    edge = rng.random(n)
    f[edge < 0.06] |= 4
    f[(edge >= 0.06) & (edge < 0.12)] |= 8
    marked = np.flatnonzero(f & 12)
    t = min(int(start), 2**62) + (marked + 1) * W  # (a clock near int64's end: no overflow)
    return f, np.maximum(0, t - rng.integers(0, 20000, marked.shape[0])).astype(np.int64)


class TimersTarget(KernelTarget):
    name = "timers"

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        super().__init__(rng, mod, twin_mod)
        call = self._call
        self.methods = [
            Method("Timers.process", self._process_args, self._process, weight=3.0),
            Method("Timers.bind", self._bind_args, self._bind, weight=0.5),
            Method("Timers.step", self._step_args, self._step, weight=3.0),
            Method("Timers.advance", self._advance_args, call("advance"), post=self._advanced),
            Method("Timers.set_agent_state", lambda r, s: (int(r.integers(0, 4)), bool(
                r.random() < 0.5)), call("set_agent_state")),
            Method("Timers.set_words", lambda r, s: (int(r.integers(0, 9)),), call("set_words")),
            Method("Timers.model_answer", lambda r, s: (int(r.integers(0, 50000)),),
                   call("model_answer")),
            Method("Timers.set_endpoint_delay", lambda r, s: (int(r.integers(0, 20000)),),
                   call("set_endpoint_delay"), weight=0.5),
            *(Method(f"Timers.{name}", lambda r, s: (), call(name), weight=0.2)
              for name in _NO_ARG_CALLS),
            Method("Timers()", self._ctor_args, lambda s, a: s.mod.Timers(*a).now, weight=0.5),
            Method("clocks", lambda r, s: ([s.k], np.zeros(1, np.int64)), self._clocks),
            Method("step_many", self._many_args, self._many),
        ]
        self._prev_now = 0

    @staticmethod
    def _advance_args(rng: np.random.Generator, s: Any) -> tuple:
        return (int(pick(rng, (rng.integers(0, 50000), 2**62, 2**63 - 1 - s.k.now))),)

    @staticmethod
    def _advanced(s: Any, a: tuple, before: Any) -> str | None:
        """The clock moved by exactly the samples asked for."""
        if not isinstance(a[0], (int, np.integer)):
            return f"took a non-integer: advance({a[0]!r}) left the clock at {s.k.now}"
        if s.k.now != before[0] + int(a[0]):
            return f"clock did not move: advance({a[0]}) from {before[0]} left it at {s.k.now}"
        return None

    @staticmethod
    def _call(name: str) -> Any:
        return lambda s, a: getattr(s.k, name)(*a)

    @staticmethod
    def _ctor_args(rng: np.random.Generator, s: Any = None) -> tuple:
        def off_or(hi: int) -> int:
            return -1 if rng.random() < 0.3 else int(rng.integers(0, hi))

        return (W, int(rng.integers(0, 16000)), int(rng.integers(0, 16000)), off_or(240000),
                int(rng.integers(0, 3)), bool(rng.random() < 0.8), int(rng.integers(0, 3)),
                off_or(48000), off_or(32000), bool(rng.random() < 0.5), off_or(6400),
                bool(rng.random() < 0.5), int(rng.integers(1, 4)), off_or(6400))

    def build(self, rng: np.random.Generator) -> Any:
        s = Side(k=self.mod.Timers(*self._ctor_args(rng)), bound=None)
        self._bind(s, self._bind_args(rng, s))
        return s

    def _bind_args(self, rng: np.random.Generator, s: Any) -> tuple:
        cap = int(rng.integers(1, 65))
        m = self.mod.MAX_EVENTS_PER_WINDOW * cap
        return (np.zeros(cap, np.uint8), np.zeros(cap, np.int64), np.zeros(m, np.int32),
                np.zeros(m, np.int64), np.zeros(m, np.int64))

    @staticmethod
    def _bind(s: Any, a: tuple) -> None:
        s.k.bind(*a)
        s.bound = _views(a)

    def _process_args(self, rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(1, 65))
        start = s.k.now + W * int(pick(rng, (0, 0, 1, 7)))
        flags, aux = _flags(rng, n, start)
        m = s.mod.MAX_EVENTS_PER_WINDOW * n
        return (flags, aux, start, np.zeros(m, np.int32), np.zeros(m, np.int64),
                np.zeros(m, np.int64))

    @staticmethod
    def _process(s: Any, a: tuple) -> Any:
        k = s.k.process(*a)
        return k, [out_of(x, k) for x in a[3:]]

    @staticmethod
    def _step_args(rng: np.random.Generator, s: Any) -> tuple:
        cap = s.bound[0].shape[0]
        flags, aux = _flags(rng, cap, s.k.now)
        _put(s.bound[0], flags)
        _put(s.bound[1], np.concatenate([aux, np.zeros(cap, np.int64)])[:s.bound[1].shape[0]])
        n = int(rng.integers(0, cap + 1))
        return 0, n, 0, int((flags[:n] & 12 != 0).sum()), s.k.now, bool(rng.random() < 0.5)

    @staticmethod
    def _step(s: Any, a: tuple) -> Any:
        got = s.k.step(*a)
        return got, [x[: got[0]].copy() for x in s.bound[2:]]

    def _clocks(self, s: Any, a: tuple) -> Any:
        s.mod.clocks(*a)
        return out_of(a[1])

    def _many_args(self, rng: np.random.Generator, s: Any) -> tuple:
        _, n, _, n_h, _, _ = self._step_args(rng, s)
        ones = [np.zeros(1, np.int64) for _ in range(3)]
        return [s.k], np.array([n], np.int64), np.array([n_h], np.int64), *ones

    def _many(self, s: Any, a: tuple) -> Any:
        s.mod.step_many(*a)
        return [out_of(x) for x in a[3:]], [x.copy() for x in s.bound[2:]]

    def snapshot(self, s: Any) -> Any:
        return tuple(getattr(s.k, p) for p in _TIMER_PROPS)

    def sane(self, s: Any) -> str | None:
        now, prev = s.k.now, self._prev_now
        self._prev_now = now
        if now < 0 <= prev:
            return f"clock wrapped past int64: from {prev} to {now}"
        if now < prev:
            return f"clock went back from {prev} to {now}"
        return None

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        if self.a.k.now > 2**62:  # a clock at int64's end: the snapshots say it all
            return None, None
        seed = int(rng.integers(2**63))
        got = [self._process(s, self._process_args(np.random.default_rng(seed), s))
               for s in (self.a, self.b)]
        return got[0], got[1]
