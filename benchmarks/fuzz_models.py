"""The model kernels fuzzed directly: the energy VAD, the native Silero network (one stream and
batches) and the Smart Turn features (see :mod:`fuzz_targets` for how calls are judged)."""

from __future__ import annotations

import functools
from types import SimpleNamespace as Side
from typing import Any

import numpy as np
from fuzz_inputs import bad_value, out_of, pick
from fuzz_kernels import _f32
from fuzz_targets import KernelTarget, Method

from turnengine.vad import find_silero_model, read_silero_weights


class EnergyTarget(KernelTarget):
    name = "vad_energy"
    parity_atol = 1e-6

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        super().__init__(rng, mod, twin_mod)
        self.methods = [
            Method("EnergyVAD.process", self._process_args, self._process, weight=3.0),
            Method("EnergyVAD.reset", lambda r, s: (), lambda s, a: s.k.reset(), weight=0.05),
            Method("EnergyVAD()", lambda r, s: (int(pick(r, (8000, 16000))),),
                   lambda s, a: s.mod.EnergyVAD(*a).window_size, weight=0.3),
        ]

    def build(self, rng: np.random.Generator) -> Any:
        return Side(k=self.mod.EnergyVAD(int(pick(rng, (8000, 16000)))))

    @staticmethod
    def _process_args(rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(0, 40))
        scale = float(pick(rng, (1e-4, 0.05, 1.0)))
        return (_f32(rng, n * s.k.window_size, -scale, scale),
                np.zeros(n + int(rng.integers(0, 2)), np.float32))

    @staticmethod
    def _process(s: Any, a: tuple) -> Any:
        k = s.k.process(*a)
        return k, out_of(a[1], k)

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        args = self._process_args(rng, self.a)
        return self._process(self.a, args), self._process(self.b, (args[0], args[1].copy()))


@functools.cache
def silero_weights(rate: int) -> dict[str, np.ndarray]:
    return read_silero_weights(find_silero_model(), rate)


@functools.cache
def silero_model(mod: Any, rate: int) -> Any:
    return mod.SileroModel(rate, silero_weights(rate))


class SileroTarget(KernelTarget):
    name = "vad_silero"
    streams = 3
    parity_atol = 1e-4  # SPEC 3.1: the native network within 1e-4 of the reference

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        super().__init__(rng, mod, twin_mod)
        batch_also = (IndexError,)  # a stream index outside [0, n_streams) (documented)
        self.methods = [
            Method("SileroKernel.process", self._process_args, self._process, weight=2.0),
            Method("SileroKernel.set_state", self._state_args, lambda s, a: s.k.set_state(*a)),
            Method("SileroKernel.get_state", lambda r, s: (), lambda s, a: s.k.get_state(),
                   weight=0.2),
            Method("SileroKernel.reset", lambda r, s: (), lambda s, a: s.k.reset(), weight=0.05),
            Method("SileroBatch.process_batch", self._batch_args, self._batch),
            Method("SileroBatch.process_many", self._many_args, self._many),
            Method("SileroBatch.process_stream", self._stream_args, self._stream,
                   also=batch_also),
            Method("SileroBatch.set_state", self._batch_state_args,
                   lambda s, a: s.batch.set_state(*a), also=batch_also),
            Method("SileroBatch.get_state", lambda r, s: (int(r.integers(0, 3)),),
                   lambda s, a: s.batch.get_state(*a), also=batch_also, weight=0.3),
            Method("SileroBatch.reset", lambda r, s: (int(r.integers(0, 3)),),
                   lambda s, a: s.batch.reset(*a), also=batch_also, weight=0.1),
            Method("SileroBatch()", lambda r, s: (s.model, int(r.integers(1, 5))),
                   self._new_batch, weight=0.2),
            Method("SileroKernel()", lambda r, s: (s.model,),
                   lambda s, a: s.mod.SileroKernel(*a).window_size, weight=0.2),
            Method("SileroModel()", self._model_args,
                   lambda s, a: s.mod.SileroModel(*a).window_size, p_bad=1.0, weight=0.1),
        ]

    def build(self, rng: np.random.Generator) -> Any:
        model = silero_model(self.mod, int(pick(rng, (8000, 16000))))
        return Side(model=model, k=self.mod.SileroKernel(model),
                    batch=self.mod.SileroBatch(model, self.streams), w=model.window_size,
                    ctx=model.context_size)

    @staticmethod
    def _new_batch(s: Any, a: tuple) -> Any:
        model, n = a
        if isinstance(n, (int, np.integer)) and 64 < n < 2**31 - 1:
            n = 2**31 - 1  # (thousands of streams would be GBs of real memory: the largest int)
        return s.mod.SileroBatch(model, n).n_streams

    @staticmethod
    def _process_args(rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(0, 4))
        return _f32(rng, n * s.w), np.zeros(n + int(rng.integers(0, 2)), np.float32)

    @staticmethod
    def _process(s: Any, a: tuple) -> Any:
        k = s.k.process(*a)
        return k, out_of(a[1], k)

    @staticmethod
    def _state_args(rng: np.random.Generator, s: Any) -> tuple:
        return _f32(rng, (2, 1, 128), -0.5, 0.5), _f32(rng, s.ctx)

    def _batch_state_args(self, rng: np.random.Generator, s: Any) -> tuple:
        return (int(rng.integers(0, self.streams)), *self._state_args(rng, s))

    def _active(self, rng: np.random.Generator) -> Any:
        r = rng.random()
        if r < 0.4:
            return None
        return (rng.random(self.streams) < 0.6).astype(np.uint8 if r < 0.7 else np.bool_)

    def _batch_args(self, rng: np.random.Generator, s: Any) -> tuple:
        return (_f32(rng, (self.streams, s.w)), np.zeros(self.streams, np.float32),
                self._active(rng))

    @staticmethod
    def _batch(s: Any, a: tuple) -> Any:
        k = s.batch.process_batch(*a)
        return k, out_of(a[1])

    def _many_args(self, rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(1, 3))
        return (_f32(rng, (self.streams, n * s.w)), np.zeros((self.streams, n), np.float32),
                self._active(rng))

    @staticmethod
    def _many(s: Any, a: tuple) -> Any:
        k = s.batch.process_many(*a)
        return k, out_of(a[1])

    def _stream_args(self, rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(0, 3))
        return (int(rng.integers(0, self.streams)), _f32(rng, n * s.w),
                np.zeros(n, np.float32))

    @staticmethod
    def _stream(s: Any, a: tuple) -> Any:
        k = s.batch.process_stream(*a)
        return k, out_of(a[2], k)

    @staticmethod
    def _model_args(rng: np.random.Generator, s: Any) -> tuple:
        rate = s.model.sample_rate_hz
        weights = dict(silero_weights(rate))  # always bad (p_bad=1): here or by mutate()
        key = pick(rng, sorted(weights))
        r = rng.random()
        if r < 0.2:
            del weights[key]
        elif r < 0.7:
            weights[key] = bad_value(rng, weights[key])
        return rate, weights

    def snapshot(self, s: Any) -> Any:
        return s.k.get_state(), [s.batch.get_state(i) for i in range(self.streams)]

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        x = _f32(rng, 2 * self.a.w, -0.3, 0.3)
        win = _f32(rng, (self.streams, self.a.w), -0.3, 0.3)
        got = [(self._process(s, (x, np.zeros(2, np.float32))),
                self._batch(s, (win, np.zeros(self.streams, np.float32), None)))
               for s in (self.a, self.b)]
        return got[0], got[1]


class FeaturesTarget(KernelTarget):
    name = "features"
    verify_every = 200
    parity_atol = 1e-4

    def __init__(self, rng: np.random.Generator, mod: Any, twin_mod: Any = None) -> None:
        super().__init__(rng, mod, twin_mod)
        self.methods = [
            Method("WhisperFeatures.push", self._push_args, lambda s, a: s.k.push(*a),
                   weight=3.0),
            Method("WhisperFeatures.features", self._features_args, self._features,
                   weight=0.2),
            Method("WhisperFeatures.reset", lambda r, s: (), lambda s, a: s.k.reset(),
                   weight=0.05),
            Method("whisper_log_mel", self._mel_args, lambda s, a: s.mod.whisper_log_mel(*a),
                   weight=0.1),
        ]

    def build(self, rng: np.random.Generator) -> Any:
        return Side(k=self.mod.WhisperFeatures())

    @staticmethod
    def _push_args(rng: np.random.Generator, s: Any) -> tuple:
        n = int(rng.integers(0, 3000))
        return ((rng.integers(-32768, 32768, n).astype(np.int16) if rng.random() < 0.5
                 else _f32(rng, n)),)

    @staticmethod
    def _features_args(rng: np.random.Generator, s: Any) -> tuple:
        return np.zeros((80, 800), np.float32), bool(rng.random() < 0.8)

    @staticmethod
    def _features(s: Any, a: tuple) -> Any:
        k = s.k.features(*a)
        return k, out_of(a[0])

    def _mel_args(self, rng: np.random.Generator, s: Any) -> tuple:
        return self._push_args(rng, s)[0], bool(rng.random() < 0.8)

    def snapshot(self, s: Any) -> Any:
        return s.k.n_samples, s.k.n_frames, s.k.pending_samples

    def verify(self, rng: np.random.Generator) -> tuple[Any, Any]:
        x = self._push_args(rng, self.a)
        got = [(s.k.push(*x), self._features(s, (np.zeros((80, 800), np.float32), True)))
               for s in (self.a, self.b)]
        return got[0], got[1]
