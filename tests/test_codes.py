"""The Python IntEnums mirror the cdef enums of ext/_common.pxd exactly.

Checked twice: against the text of ``_common.pxd``, and against the values the compiled kernels
were built with (``_compiled_codes()``, from ``ext/_codes.pxi``, in every kernel that cimports
``_common``), so a stale build or a renumbered member is caught either way.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from turnengine._kernels import codes, load

PXD = Path(__file__).parent.parent / "ext" / "_common.pxd"
#: The compiled kernels that cimport _common.pxd.
COMMON_KERNELS = ("pcm", "hysteresis", "timers", "vad_energy")

ENUMS = {
    "EventCode": (codes.EventCode, "EV_"),
    "UserState": (codes.UserState, "US_"),
    "AgentState": (codes.AgentState, "AS_"),
    "TurnDetection": (codes.TurnDetection, "TD_"),
    "WindowFlag": (codes.WindowFlag, "WF_"),
    "KernelError": (codes.KernelError, "KE_"),
}


def _parse_pxd() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    current = None
    for line in PXD.read_text().splitlines():
        m = re.match(r"cdef enum (\w+):", line)
        if m:
            current = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"\s+(\w+) = (-?\d+)", line)
        if m and current is not None:
            current[m.group(1)] = int(m.group(2))
        elif not line.startswith(" "):
            current = None
    return out


def test_every_enum_matches_the_pxd():
    parsed = _parse_pxd()
    assert set(parsed) == set(ENUMS)
    for name, (enum, prefix) in ENUMS.items():
        py = {prefix + m.name: m.value for m in enum}
        assert py == parsed[name], name


def test_agent_state_order_matches_state_names():
    from turnengine.events import AGENT_STATES, USER_STATES

    assert [m.name.lower() for m in codes.AgentState] == list(AGENT_STATES)
    assert [m.name.lower() for m in codes.UserState] == list(USER_STATES)


@pytest.mark.parametrize("name", COMMON_KERNELS)
def test_compiled_enum_values_match_the_python_enums(name):
    compiled = load(name, reference=False)._compiled_codes()
    assert set(compiled) == set(ENUMS)
    for enum_name, (enum, _) in ENUMS.items():
        assert compiled[enum_name] == {m.name: m.value for m in enum}, (name, enum_name)


def test_every_kernel_that_uses_common_codes_reports_them():
    ext = PXD.parent
    users = {p.stem for p in ext.glob("*.pyx") if "from _common cimport" in p.read_text()}
    assert users == set(COMMON_KERNELS)
