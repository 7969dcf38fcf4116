"""The fuzzer of ``benchmarks/fuzz_engine.py``, small and seeded (issue 13, done-when 5), and
what its full runs found: a regression test for each fix, a strict ``xfail`` for each kernel
finding left to the kernel owner (it passes, and so fails here, once the kernel is fixed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from fuzz_engine import KERNEL_TARGETS, fuzz, report  # noqa: E402
from fuzz_inputs import expect_push, random_chunk  # noqa: E402
from fuzz_targets import KernelTarget, Method, Stats, run_call  # noqa: E402

from turnengine import TurnEngine, _kernels  # noqa: E402
from turnengine.options import TurnEngineOptions  # noqa: E402


def test_a_seeded_small_fuzz_run_finds_nothing():
    stats = fuzz(4000, seed=20251208)
    assert not stats.findings, report(stats, 1.0)
    assert stats.inputs == 4000 and stats.checks >= 50
    assert stats.accepted > 1000 and stats.n_rejected > 1000
    assert set(stats.per_target) == {"engine", "engine_setup", *KERNEL_TARGETS}


def test_push_audio_accepts_exactly_what_the_documented_rule_says():
    rng = np.random.default_rng(7)
    outcomes = set()
    for _ in range(600):
        chunk = random_chunk(rng)
        want = expect_push(chunk)
        try:
            TurnEngine(vad="energy").push_audio(chunk)
            got = None
        except (TypeError, ValueError) as exc:
            got = type(exc)
        assert got is want or (want is not None and issubclass(got, want)), (chunk, got, want)
        outcomes.add(want)
    assert outcomes == {None, TypeError, ValueError}


class _Counter:
    def __init__(self) -> None:
        self.n = 0


class _Leaky(KernelTarget):
    """A kernel whose rejected call still moves its state: the fuzzer must say so."""

    name = "leaky"

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng, None)
        self.methods = [Method("bump", lambda r, s: (1,), self._bump, p_bad=0.0)]

    def build(self, rng: np.random.Generator) -> _Counter:
        return _Counter()

    @staticmethod
    def _bump(s: _Counter, a: tuple) -> int:
        s.n += 1
        raise ValueError("refused, but counted")

    def snapshot(self, s: _Counter) -> int:
        return s.n


def test_the_fuzzer_sees_a_rejected_call_that_changed_the_state():
    stats, target = Stats(), _Leaky(np.random.default_rng(0))
    run_call(target, target.methods[0], np.random.default_rng(1), stats)
    assert "leaky.bump: state changed by a rejected call" in stats.findings


# -- fixed: a regression test each (they fail on main b7909eb) ------------------------------------
@pytest.mark.parametrize("name", [f["name"] for f in TurnEngineOptions.describe()
                                  if f["type"] in ("float", "int")])
def test_an_option_too_large_for_the_kernels_is_a_value_error(name):
    """``TurnEngine(min_silence_duration=1e18)`` raised OverflowError from a kernel
    constructor (seconds in int64 samples); every duration and count now has a bound."""
    value = 2**70 if name == "min_interruption_words" else 1e18
    with pytest.raises(ValueError, match=name):
        TurnEngine(vad="energy", **{name: value})


def _in_subprocess(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_timers_step_far_past_the_bound_arrays_is_refused_not_a_crash():
    """``Timers.step(first=2**63 - 1, n=33, ...)``: ``first + n`` wrapped round int64, passed
    the range check and the kernel read far outside the bound flags (segfault)."""
    got = _in_subprocess("""
        import numpy as np
        from turnengine import _kernels
        t = _kernels.load("timers", reference=False).Timers(512, 8000, 8000, -1, 0, True)
        t.bind(np.zeros(64, np.uint8), np.zeros(64, np.int64), np.zeros(512, np.int32),
               np.zeros(512, np.int64), np.zeros(512, np.int64))
        try:
            t.step(2**63 - 1, 33, 0, 6, 0)
        except ValueError as exc:
            print("refused:", exc)
        """)
    assert got.returncode == 0 and "refused" in got.stdout, (got.returncode, got.stderr[-500:])


def test_intake_many_with_pending_near_int64_max_is_refused_not_a_heap_overflow():
    """``pcm.intake_many`` with ``pending[i]`` near 2**63: the row-length check overflowed and
    the kernel wrote outside ``out`` ("double free or corruption" a few calls later)."""
    got = _in_subprocess("""
        import numpy as np
        from turnengine import _kernels
        pcm = _kernels.load("pcm", reference=False)
        pending = np.array([2**63 - 1, 0], np.int64)
        try:
            pcm.intake_many([pcm.Intake(16000), pcm.Intake(16000)], np.zeros((2, 100), np.int16),
                            np.zeros((2, 1000), np.float32), pending, np.zeros(2, np.int64))
        except ValueError as exc:
            print("refused:", exc)
        """)
    assert got.returncode == 0 and "refused" in got.stdout, (got.returncode, got.stderr[-500:])


# -- left to the kernel owner (benchmarks/README.md, "Fuzzing") -----------------------------------
def _timers():
    return _kernels.load("timers", reference=False).Timers(512, 8000, 8000, -1, 0, True)


@pytest.mark.xfail(strict=True, raises=OverflowError,
                   reason="kernel: a Python int outside a C argument's range raises "
                          "OverflowError, which the docstrings do not list")
def test_an_int_outside_a_kernel_arguments_range_is_a_value_error():
    with pytest.raises(ValueError):
        _timers().advance(2**64)


@pytest.mark.xfail(strict=True, raises=BufferError,
                   reason="kernel: a read-only non-array (numpy scalar, bytes) as an output "
                          "array raises BufferError")
def test_a_numpy_scalar_as_an_output_array_is_a_type_or_value_error():
    hyst = _kernels.load("hysteresis", reference=False).Hysteresis(512, 0.5, 0.35, 2, 17, 0.35)
    with pytest.raises((TypeError, ValueError)):
        hyst.process(np.zeros(3, np.float32), None, 0, np.zeros(3, np.uint8),
                     np.zeros(3, np.float32), np.int32(3), np.zeros(3, np.int64),
                     np.zeros(3, np.int64))


@pytest.mark.xfail(strict=True, reason="kernel: Timers.advance past int64 silently does nothing")
def test_timers_advance_past_int64_is_refused():
    t = _timers()
    t.advance(2**62)
    with pytest.raises(ValueError):
        t.advance(2**62)


@pytest.mark.xfail(strict=True, reason="kernel: Timers.process from a start near int64's end "
                                       "wraps the clock negative")
def test_timers_process_never_wraps_the_clock():
    t = _timers()
    flags = np.zeros(4, np.uint8)
    try:
        t.process(flags, np.zeros(0, np.int64), 2**63 - 1024, np.zeros(32, np.int32),
                  np.zeros(32, np.int64), np.zeros(32, np.int64))
    except ValueError:
        pass
    assert t.now >= 0


@pytest.mark.xfail(strict=True, reason="kernel: Timers.advance(1.5) truncates a float "
                                       "(the pure-Python twin moves its clock by 1.5)")
def test_timers_advance_takes_whole_samples_only():
    with pytest.raises(TypeError):
        _timers().advance(1.5)


@pytest.mark.xfail(strict=True, reason="kernel: Intake.max_output(n) overflows int64 for "
                                       "n * up past 2**63 (a negative bound)")
def test_intake_max_output_never_overflows():
    intake = _kernels.load("pcm", reference=False).Intake(8000, 16000)  # up 2, down 1
    try:
        assert intake.max_output(2**62 + 1) == 2**63 + 2
    except ValueError:
        pass


@pytest.mark.xfail(strict=True, raises=MemoryError,
                   reason="kernel: SileroBatch has no documented maximum n_streams; 2**31 - 1 "
                          "streams is a MemoryError from the allocation")
def test_a_silero_batch_far_too_large_is_a_value_error():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from fuzz_models import silero_model

    mod = _kernels.load("vad_silero", reference=False)
    with pytest.raises(ValueError):
        mod.SileroBatch(silero_model(mod, 16000), 2**31 - 1)
