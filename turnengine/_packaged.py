"""Files shipped inside installed packages, found without importing those packages.

Both model finders (:func:`turnengine.vad.find_silero_model`,
:func:`turnengine.eot.find_smart_turn_model`) look here.  A package is located with
:func:`importlib.util.find_spec` on its top-level name, which does not import it: importing
``pipecat`` logs a banner and, on Python < 3.12, replaces ``asyncio.wait_for`` process-wide,
which a library must not do to its host (:mod:`importlib.resources` imports the package, so it
is not used).  The wheel's file list (:mod:`importlib.metadata`) is the fallback.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path


def package_file_candidates(package: str, resource: str,
                            distribution: str | None = None) -> list[Path] | None:
    """Where ``resource`` of ``package`` would be, for each place the package is installed.

    Parameters
    ----------
    package : str
        Import name, dotted for a subpackage (``"pipecat.audio.vad"``); only the top-level
        package is looked up, and nothing is imported.
    resource : str
        Path of the file inside ``package``, with ``/`` separators (``"data/silero_vad.onnx"``).
    distribution : str, optional
        The distribution that ships the package (``"pipecat-ai"``); its recorded file location
        is the last candidate.

    Returns
    -------
    list of pathlib.Path or None
        Candidate paths in order (they may not exist: check ``is_file()``), or None when neither
        the package nor the distribution is installed.
    """
    top, _, sub = package.partition(".")
    inner = "/".join([*sub.split("."), resource]) if sub else resource
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    candidates: list[Path] = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(loc) / inner for loc in spec.submodule_search_locations]
    dist = None
    if distribution is not None:
        try:
            dist = importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            dist = None
    if dist is not None:
        candidates.append(Path(str(dist.locate_file(f"{top}/{inner}"))))
    if spec is None and dist is None:
        return None
    return candidates


def first_file(candidates: list[Path] | None) -> Path | None:
    """The first candidate that is an existing file, or None."""
    return next((path for path in candidates or [] if path.is_file()), None)
