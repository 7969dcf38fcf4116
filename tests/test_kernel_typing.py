"""mypy checks calls made through ``turnengine._kernels.load`` against the ``.pyi`` stubs.

Runs mypy (``mypy.api.run``) on small snippets, against a copy of ``turnengine/_kernels`` (its
``__init__.py``, ``modules.py`` and the stubs) in a temporary package, so the run is fast and
does not depend on the rest of the package.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

KERNELS_DIR = Path(__file__).parent.parent / "turnengine" / "_kernels"

RIGHT = """
import numpy as np
from turnengine._kernels import load

timers = load("timers").Timers(512, 8000, 8000, -1, 0, True, min_words=2)
fired: list[tuple[int, int, int]] = timers.model_answer(160)
hyst = load("hysteresis", reference=True).Hysteresis(512, 0.5, 0.35, 2, 3, 0.0)
n_events: int = hyst.step(4, 0)
out = np.zeros(3, np.float32)
n_windows: int = load("pcm").window_rms(np.zeros(480, np.float32), 160, out)
shapes: dict[str, tuple[int, ...]] = load("vad_silero").weight_shapes(16000)
"""

WRONG = """
import numpy as np
from turnengine._kernels import load

timers = load("timers").Timers(512, 8000, 8000, -1, 0, True, min_words="two")
fired: str = timers.model_answer(160)
hyst = load("hysteresis", reference=True).Hysteresis(512, 0.5, 0.35, 2, 3)
n_windows: int = load("pcm").window_rms(np.zeros(480, np.float32), "160", out=None)
load("vad_silero").no_such_function()
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("typed_kernels")
    pkg = root / "turnengine" / "_kernels"
    pkg.mkdir(parents=True)
    (root / "turnengine" / "__init__.py").write_text("")
    (root / "turnengine" / "py.typed").write_text("")
    for src in [KERNELS_DIR / "__init__.py", KERNELS_DIR / "modules.py",
                *KERNELS_DIR.glob("*.pyi")]:
        shutil.copy(src, pkg / src.name)
    (root / "mypy.ini").write_text("[mypy]\npython_version = 3.10\n")
    return root


def _mypy(root: Path, name: str, code: str) -> tuple[int, str]:
    path = root / name
    path.write_text(code)
    stdout, stderr, status = mypy_api.run([
        "--config-file", str(root / "mypy.ini"), "--cache-dir", str(root / ".mypy_cache"),
        "--no-error-summary", str(path)])
    return status, stdout + stderr


def test_right_kernel_calls_pass_mypy(workdir):
    status, out = _mypy(workdir, "right.py", RIGHT)
    assert status == 0, out


def test_wrong_kernel_calls_fail_mypy(workdir):
    status, out = _mypy(workdir, "wrong.py", WRONG)
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    lines = {int(line.split(":")[1]) for line in errors}
    # Every wrong line is reported: argument type, return type, missing argument, argument
    # types of a function, unknown member.
    assert lines == {5, 6, 7, 8, 9}, out
    assert 'Argument "min_words" to "Timers" has incompatible type "str"' in out


def test_a_wrong_stub_fails_the_right_calls(workdir, tmp_path):
    """mypy reads the stubs: change one parameter type in a stub and a right call fails."""
    broken = tmp_path / "broken"
    shutil.copytree(workdir, broken)
    stub = broken / "turnengine" / "_kernels" / "timers.pyi"
    text = stub.read_text()
    assert "        min_words: int = 0," in text
    stub.write_text(text.replace("        min_words: int = 0,", "        min_words: str = ...,"))
    status, out = _mypy(broken, "right.py", RIGHT)
    assert status == 1 and 'Argument "min_words" to "Timers"' in out, out


def test_the_engine_core_calls_the_kernels_through_their_stubs(tmp_path, monkeypatch):
    """The pipeline's kernel objects carry the stub types, so mypy checks every call the engine
    makes into a kernel (a wrong call in the core would fail the project's own mypy run)."""
    package = KERNELS_DIR.parent.parent
    code = (
        "from turnengine._core.pipeline import Pipeline\n"
        "def f(p: Pipeline) -> None:\n"
        "    reveal_type(p.timers)\n"
        "    reveal_type(p.hysteresis)\n"
        "    reveal_type(p.intake_kernel)\n"
        "    p.timers.set_endpoint_delay('0.5 s')\n"
    )
    monkeypatch.chdir(package)  # mypy finds this checkout's turnengine from here
    work = tmp_path
    path = work / "core_calls.py"
    path.write_text(code)
    stdout, stderr, status = mypy_api.run([
        "--config-file", str(package / "pyproject.toml"), "--cache-dir",
        str(work / ".mypy_cache"), "--no-error-summary", "--follow-imports", "silent",
        str(path)])
    out = stdout + stderr
    assert 'Revealed type is "turnengine._kernels.timers.Timers"' in out, out
    assert 'Revealed type is "turnengine._kernels.hysteresis.Hysteresis"' in out, out
    assert 'Revealed type is "turnengine._kernels.pcm.Intake"' in out, out
    assert 'Argument 1 to "set_endpoint_delay" of "Timers" has incompatible type "str"' in out
