"""Random inputs for the fuzzer (``benchmarks/fuzz_engine.py``) and its seeded CI run
(``tests/test_fuzz_small.py``): chunks a host might push, bad argument values, and mutations
of valid argument tuples.  Everything draws from a ``numpy.random.Generator``, so a seed
replays a run exactly.

:func:`expect_push` is the documented rule for ``TurnEngine.push_audio`` (SPEC 2 and
``turnengine.audio.as_frames``): which chunks are accepted, and which exception the others
raise.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

#: dtypes of random arrays, the two PCM ones first (drawn more often).
DTYPES: tuple[Any, ...] = (np.int16, np.float32, np.float64, np.int8, np.uint8, np.int32,
                           np.int64, np.float16, np.complex64, np.bool_, np.uint16, ">i2", ">f4",
                           object)
#: memoryview formats a raw buffer is cast to (what ``memoryview.cast`` allows).
CAST_FORMATS = ("B", "b", "c", "h", "H", "i", "f", "d", "q", "?")
#: Scalars that are wrong for almost every argument.
BAD_SCALARS: tuple[Any, ...] = (
    None, "x", b"\x00\x01", 1.5, -1, 0, 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**70,
    float("nan"), float("inf"), -float("inf"), True, False, [1, 2], (3,), {}, object(),
    np.int64(-1), np.int32(7), np.float32(0.5), np.uint64(2**64 - 1), complex(1, 1),
)
MAX_CHANNELS = 32  # turnengine.audio.MAX_CHANNELS
_PCM_FORMATS = {"B": None, "h": np.int16, "<h": np.int16, "=h": np.int16,
                "f": np.float32, "<f": np.float32, "=f": np.float32}


def pick(rng: np.random.Generator, seq: Any) -> Any:
    """One element of ``seq``."""
    return seq[int(rng.integers(len(seq)))]


def random_values(rng: np.random.Generator, dtype: Any, n: int) -> np.ndarray:
    """``n`` values of ``dtype``: ordinary, tiny, huge, and for floats NaN/inf now and then."""
    dt = np.dtype(dtype)
    if dt.kind == "O":
        return np.array([pick(rng, BAD_SCALARS) for _ in range(n)] + [None], dtype=object)[:n]
    if dt.kind in "fc":
        scale = pick(rng, (0.0, 1e-4, 0.3, 1.0, 1.0001, 3e4, 1e30))
        x = rng.normal(0.0, scale, n)
        if n and rng.random() < 0.2:
            x[rng.integers(n)] = pick(rng, (np.nan, np.inf, -np.inf, 1e39))
        with np.errstate(over="ignore", invalid="ignore"):
            return x.astype(dt)
    if dt.kind == "b":
        return rng.random(n) < 0.5
    info = np.iinfo(dt)
    return rng.integers(info.min, int(info.max) + 1, n, dtype=np.int64).astype(dt)


def random_shape(rng: np.random.Generator, ndim: int, max_len: int) -> tuple[int, ...]:
    if ndim == 0:
        return ()
    first = int(pick(rng, (0, 1, 2, 3, 160, 511, 512, int(rng.integers(1, max_len + 1)))))
    rest = [int(pick(rng, (0, 1, 1, 1, 2, 2, 3, 33))) for _ in range(ndim - 1)]
    return (first, *rest)


def layout(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    """``a`` as it is, or strided, Fortran-ordered, read-only or unaligned."""
    r = rng.random()
    if r < 0.55 or a.dtype == object:
        return a
    if r < 0.65 and a.ndim:
        return np.repeat(a, 2, axis=0)[::2]  # strided, same values
    if r < 0.72 and a.ndim == 2:
        return np.asfortranarray(a)
    if r < 0.85:
        b = a.copy()
        b.flags.writeable = False
        return b
    raw = np.zeros(a.nbytes + 1, np.uint8)  # unaligned: the same values one byte further on
    b = raw[1:].view(a.dtype).reshape(a.shape) if a.nbytes else a
    b[...] = a
    return b


def random_array(rng: np.random.Generator, max_len: int = 2048, dtype: Any = None,
                 ndim: int | None = None) -> np.ndarray:
    """An array of a random (or the given) dtype, dimension count, shape and layout."""
    if dtype is None:
        dtype = pick(rng, DTYPES[:2]) if rng.random() < 0.6 else pick(rng, DTYPES)
    if ndim is None:
        ndim = int(pick(rng, (1, 1, 1, 2, 2, 0, 3)))
    shape = random_shape(rng, ndim, max_len)
    n = int(np.prod(shape)) if shape else 1
    return layout(rng, random_values(rng, dtype, n).reshape(shape))


def random_memoryview(rng: np.random.Generator, max_len: int) -> memoryview:
    """A memoryview of an array, a slice of one, or a raw buffer cast to another format."""
    r = rng.random()
    if r < 0.5:
        a = random_array(rng, max_len)  # strided, read-only, unaligned ones too
        view = memoryview(a)
        return view[::2] if a.ndim == 1 and rng.random() < 0.1 else view
    raw = bytearray(rng.integers(0, 256, int(rng.integers(0, 2 * max_len)), dtype=np.uint8))
    fmt = pick(rng, CAST_FORMATS)
    size = np.dtype("S1" if fmt == "c" else fmt).itemsize
    raw = raw[: len(raw) - len(raw) % size]
    view = memoryview(raw).cast(fmt)
    if rng.random() < 0.2 and len(view) >= 4 and len(view) % 2 == 0:
        view = view.cast("B").cast(fmt, [len(view) // 2, 2])  # 2-D
    return view


def random_chunk(rng: np.random.Generator, max_len: int = 2048) -> Any:
    """Anything a host might pass to ``push_audio``."""
    r = rng.random()
    if r < 0.45:
        return random_array(rng, max_len)
    if r < 0.55:
        n = int(pick(rng, (0, 1, 2, 3, 319, 320, int(rng.integers(0, 2 * max_len)))))
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        return data if rng.random() < 0.7 else bytearray(data)
    if r < 0.78:
        return random_memoryview(rng, max_len)
    if r < 0.83:
        a = random_array(rng, max_len, dtype=pick(rng, (np.int16, np.float32)), ndim=1)
        return np.ma.masked_array(a, mask=rng.random(a.shape) < 0.5)
    if r < 0.87:
        a = random_array(rng, max_len, dtype=pick(rng, (np.int16, np.float32)), ndim=2)
        if a.ndim != 2:
            return a.view(_Tagged)
        with warnings.catch_warnings():  # np.matrix is pending deprecation: still a subclass
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.asmatrix(a)
    if r < 0.93:
        vals = random_values(rng, pick(rng, (np.int16, np.float32)), int(rng.integers(0, 64)))
        return vals.tolist() if rng.random() < 0.7 else tuple(vals.tolist())
    return pick(rng, BAD_SCALARS)


class _Tagged(np.ndarray):
    """An ndarray subclass (a library's own array type)."""


def expect_push(chunk: Any) -> type[Exception] | None:
    """The documented outcome of ``push_audio(chunk)``: None (accepted) or the exception class.

    SPEC 2 and ``turnengine.audio.as_frames``: int16 little-endian bytes (even, non-empty
    count); memoryviews of format ``h``/``f`` (samples) or ``B`` (PCM bytes), C-contiguous;
    numpy arrays (subclasses read as plain arrays, masked arrays refused) of native int16 or
    float32, 1-D or 2-D with at most 32 channels, non-empty, float32 finite within [-1, 1].
    Wrong container, dtype or format: ``TypeError``; anything else wrong: ``ValueError``."""
    if isinstance(chunk, memoryview):
        if chunk.format not in _PCM_FORMATS:
            return TypeError
        if not chunk.c_contiguous:
            return ValueError
        dtype = _PCM_FORMATS[chunk.format]
        if dtype is not None:
            shape = chunk.shape if chunk.ndim else (-1,)
            return expect_push(np.frombuffer(chunk, dtype=dtype).reshape(shape))
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        n = memoryview(chunk).nbytes
        return ValueError if n % 2 or n == 0 else None
    if not isinstance(chunk, np.ndarray) or isinstance(chunk, np.ma.MaskedArray):
        return TypeError
    a = np.asarray(chunk)
    if a.dtype != np.int16 and a.dtype != np.float32:
        return TypeError
    if a.ndim not in (1, 2) or a.size == 0 or (a.ndim == 2 and a.shape[1] > MAX_CHANNELS):
        return ValueError
    if a.dtype == np.float32 and not (np.isfinite(a).all() and np.abs(a).max() <= 1.0):
        return ValueError
    return None


def bad_value(rng: np.random.Generator, like: Any) -> Any:
    """A wrong value in place of the argument ``like``."""
    if not isinstance(like, np.ndarray) or rng.random() < 0.2:
        integer = isinstance(like, (int, np.integer)) and not isinstance(like, bool)
        if integer and rng.random() < 0.5:
            return int(like) + int(pick(rng, (-1, 1, -(2**40), 2**40, -(2**62), 2**62)))
        return pick(rng, BAD_SCALARS)
    r = int(rng.integers(10))
    if r == 0:
        return like.astype(pick(rng, DTYPES[2:-1]))
    if r == 1:
        return like.reshape(-1, 1) if like.ndim == 1 else like.reshape(-1)
    if r == 2:
        return like[:0]
    if r == 3:
        return like[: like.shape[0] // 2] if like.ndim else like
    if r == 4:
        return np.repeat(like, 2, axis=0)[::2] if like.ndim else like
    if r == 5:
        b = like.copy()
        b.flags.writeable = False
        return b
    if r == 6 and like.dtype.kind == "f":
        b = like.copy()
        if b.size:
            b.flat[int(rng.integers(b.size))] = pick(rng, (np.nan, np.inf, -5.0, 1e30))
        return b
    if r == 7 and like.dtype.kind in "iu":
        b = like.copy()
        if b.size:
            info = np.iinfo(b.dtype)
            b.flat[int(rng.integers(b.size))] = pick(rng, (info.min, info.max, info.min // 2))
        return b
    if r == 8:
        return like.tolist()
    return np.concatenate([like, like]) if like.ndim == 1 else like.T


def mutate(rng: np.random.Generator, args: tuple) -> tuple:
    """``args`` with one or two of them replaced by :func:`bad_value`."""
    if not args:
        return args
    out = list(args)
    for _ in range(1 + int(rng.random() < 0.3)):
        i = int(rng.integers(len(out)))
        out[i] = bad_value(rng, out[i])
    return tuple(out)


def out_of(x: Any, k: int | None = None) -> Any:
    """A copy of what a call wrote into the output ``x`` (its first ``k`` entries); an output
    that a mutation made something else, as its repr."""
    try:
        a = np.array(x, copy=True)
    except Exception:  # noqa: BLE001 - whatever the mutation put there
        return repr(x)
    return a if k is None or a.ndim == 0 else a[:k]


def same(a: Any, b: Any, atol: float = 0.0) -> bool:
    """Equal results of the two twins (arrays bit for bit, or float arrays within ``atol``;
    NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if atol and a.dtype.kind == "f":
            return bool(np.allclose(a, b, rtol=0.0, atol=atol, equal_nan=True))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y, atol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return bool(a == b)
