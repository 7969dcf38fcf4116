"""The boundary between the compiled kernels and the Python package.

The compiled kernels take their constants, designs and argument checks from the ``*_spec``
modules, never from their reference twins.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from turnengine._kernels import KERNEL_NAMES


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_compiled_kernel_imports_no_reference_twin(name):
    code = (
        "import sys, turnengine._kernels as k\n"
        f"k.load({name!r}, reference=False)\n"
        "print(sorted(m for m in sys.modules if m.endswith('_ref')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
