# The values of the cdef enums of _common.pxd as this module was compiled with them, for
# tests/test_codes.py (which compares them with the IntEnums of turnengine/_kernels/codes.py).
# Included by every kernel that cimports _common.

cimport _common


def _compiled_codes():
    """dict: ``{enum name: {member name: value}}`` of ``_common.pxd`` as compiled here."""
    return {
        "EventCode": {
            "NONE": _common.EV_NONE,
            "START_OF_SPEECH": _common.EV_START_OF_SPEECH,
            "END_OF_SPEECH": _common.EV_END_OF_SPEECH,
            "USER_TURN_COMPLETED": _common.EV_USER_TURN_COMPLETED,
            "AGENT_INTERRUPTED": _common.EV_AGENT_INTERRUPTED,
            "USER_AWAY": _common.EV_USER_AWAY,
            "USER_BACKCHANNEL": _common.EV_USER_BACKCHANNEL,
            "AGENT_FALSE_INTERRUPTION": _common.EV_AGENT_FALSE_INTERRUPTION,
            "EOT_PREDICT": _common.EV_EOT_PREDICT,
            "EOT_RESUMED": _common.EV_EOT_RESUMED,
        },
        "UserState": {
            "LISTENING": _common.US_LISTENING,
            "SPEAKING": _common.US_SPEAKING,
            "AWAY": _common.US_AWAY,
        },
        "AgentState": {
            "INITIALIZING": _common.AS_INITIALIZING,
            "LISTENING": _common.AS_LISTENING,
            "THINKING": _common.AS_THINKING,
            "SPEAKING": _common.AS_SPEAKING,
        },
        "TurnDetection": {
            "VAD": _common.TD_VAD,
            "STT": _common.TD_STT,
            "MANUAL": _common.TD_MANUAL,
        },
        "WindowFlag": {
            "RAW_SPEECH": _common.WF_RAW_SPEECH,
            "SPEAKING": _common.WF_SPEAKING,
            "START": _common.WF_START,
            "END": _common.WF_END,
        },
        "KernelError": {
            "OK": _common.KE_OK,
            "NONFINITE": _common.KE_NONFINITE,
            "OUTPUT_TOO_SMALL": _common.KE_OUTPUT_TOO_SMALL,
            "BAD_LENGTH": _common.KE_BAD_LENGTH,
        },
    }
