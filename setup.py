"""Build the Cython kernels in ``ext/`` as ``turnengine._kernels.<name>``.

Compiler directives are set once here for every kernel (STYLE.md, point 7).  Set
``TURNENGINE_DEBUG_BUILD=1`` to turn bounds checks, wraparound checks and line tracing back on
(the test suite runs on such a build too).  ``TURNENGINE_EXTENSIONS=pcm,timers`` restricts the
build to some kernels (development only).

Cython warnings, with the extra checks of ``cython -Wextra`` (maybe-uninitialised variables,
unreachable code, unused entries), are errors in CI (``CI`` set, and ``.ci/run`` exports
``TURNENGINE_CYTHON_WERROR=1``) and wherever ``TURNENGINE_CYTHON_WERROR=1``; a user's install
only prints them, so a newer Cython with new warnings cannot break ``pip install``.
``TURNENGINE_CYTHON_WERROR=0`` keeps them as warnings anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from Cython.Compiler import Options
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
DEBUG = os.environ.get("TURNENGINE_DEBUG_BUILD", "") not in ("", "0")
ONLY = {name for name in os.environ.get("TURNENGINE_EXTENSIONS", "").split(",") if name}
_WERROR = os.environ.get("TURNENGINE_CYTHON_WERROR", "1" if os.environ.get("CI") else "0")
Options.warning_errors = _WERROR not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "cdivision": not DEBUG,
    "initializedcheck": DEBUG,
    "embedsignature": True,
    "linetrace": DEBUG,
    # What ``cython -Wextra`` turns on (Cython.Compiler.Options.extra_warnings).
    "warn.maybe_uninitialized": True,
    "warn.unreachable": True,
    "warn.unused": True,
}
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))
compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]


def _extensions() -> list[Extension]:
    sources = sorted((HERE / "ext").glob("*.pyx"))
    # C headers under ext/ (e.g. silero_simd.h, the SIMD code of vad_silero.pyx): on the include
    # path, and dependencies of every kernel so that editing one rebuilds.
    headers = sorted(str(h.relative_to(HERE)) for h in (HERE / "ext").glob("*.h"))
    return [
        Extension(
            f"turnengine._kernels.{src.stem}",
            [str(src.relative_to(HERE))],
            include_dirs=[numpy.get_include(), "ext"],
            depends=headers,
            define_macros=macros,
            extra_compile_args=compile_args,
            language="c",
        )
        for src in sources
        if not ONLY or src.stem in ONLY
    ]


class BuildExt(build_ext):
    """Rebuild everything when the flavour (debug/release) changed since the last build.

    In-place builds of both flavours write the same ``.so`` files; without this, a release build
    right after a debug build would keep the (newer) debug binaries.
    """

    def finalize_options(self) -> None:
        super().finalize_options()
        marker = HERE / "build" / "flavour"
        flavour = "debug" if DEBUG else "release"
        if not marker.exists() or marker.read_text() != flavour:
            self.force = True
        marker.parent.mkdir(exist_ok=True)
        marker.write_text(flavour)


setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=cythonize(
        _extensions(),
        compiler_directives=directives,
        include_path=["ext"],
        # Separate C output per flavour: Cython's timestamp check ignores directive changes.
        build_dir="build/cython-debug" if DEBUG else "build/cython",
        annotate=False,
    ),
)
