"""Python mirrors of the ``cdef enum`` declarations in ``ext/_common.pxd``.

``tests/test_codes.py`` checks that each member equals the compiled value.
"""

from __future__ import annotations

from enum import IntEnum


class EventCode(IntEnum):
    NONE = 0
    START_OF_SPEECH = 1
    END_OF_SPEECH = 2
    USER_TURN_COMPLETED = 3
    AGENT_INTERRUPTED = 4
    USER_AWAY = 5
    USER_BACKCHANNEL = 6
    AGENT_FALSE_INTERRUPTION = 7
    EOT_PREDICT = 8
    EOT_RESUMED = 9


class UserState(IntEnum):
    LISTENING = 0
    SPEAKING = 1
    AWAY = 2


class AgentState(IntEnum):
    INITIALIZING = 0
    LISTENING = 1
    THINKING = 2
    SPEAKING = 3


class TurnDetection(IntEnum):
    VAD = 0
    STT = 1
    MANUAL = 2


class WindowFlag(IntEnum):
    RAW_SPEECH = 1
    SPEAKING = 2
    START = 4
    END = 8


class KernelError(IntEnum):
    OK = 0
    NONFINITE = -1
    OUTPUT_TOO_SMALL = -2
    BAD_LENGTH = -3
