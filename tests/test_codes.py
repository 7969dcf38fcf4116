"""The Python IntEnums mirror the cdef enums of ext/_common.pxd exactly."""

from __future__ import annotations

import re
from pathlib import Path

from turnengine._kernels import codes

PXD = Path(__file__).parent.parent / "ext" / "_common.pxd"

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
