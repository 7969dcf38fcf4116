# Declarations shared by every kernel: event codes, states and fixed-width types.
# Mirrored in turnengine/_kernels/codes.py as IntEnums; tests/test_codes.py checks they agree.

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t

cdef enum EventCode:
    EV_NONE = 0
    EV_START_OF_SPEECH = 1      # hysteresis: speech segment starts (aux = back-dated start sample)
    EV_END_OF_SPEECH = 2        # hysteresis: speech segment ends (aux = back-dated end sample)
    EV_USER_TURN_COMPLETED = 3  # timers: endpointing delay expired (aux = last_speaking sample)
    EV_AGENT_INTERRUPTED = 4    # timers: user speech long enough to interrupt (aux = speech start)
    EV_USER_AWAY = 5            # timers: away deadline reached (aux = deadline sample)
    EV_USER_BACKCHANNEL = 6     # timers: speech during agent speech that did not interrupt (aux = its start)
    EV_AGENT_FALSE_INTERRUPTION = 7  # timers: no transcript after an interruption (aux = 1 + resumed agent state, or 0)
    EV_EOT_PREDICT = 8          # timers: silence reached the prediction point (aux = last voiced sample)
    EV_EOT_RESUMED = 9          # timers: voice ended a pause the model was asked about (aux = sample)

cdef enum UserState:
    US_LISTENING = 0
    US_SPEAKING = 1
    US_AWAY = 2

cdef enum AgentState:
    AS_INITIALIZING = 0
    AS_LISTENING = 1
    AS_THINKING = 2
    AS_SPEAKING = 3

cdef enum TurnDetection:
    TD_VAD = 0
    TD_STT = 1
    TD_MANUAL = 2

# Per-window flag bits written by the hysteresis kernel and read by the timers kernel.
cdef enum WindowFlag:
    WF_RAW_SPEECH = 1     # the (smoothed, volume-gated) probability counted as speech
    WF_SPEAKING = 2       # published speaking state after this window
    WF_START = 4          # START_OF_SPEECH decided at the end of this window
    WF_END = 8            # END_OF_SPEECH decided at the end of this window

# Error codes returned by nogil workers (negative); the def layer turns them into exceptions.
cdef enum KernelError:
    KE_OK = 0
    KE_NONFINITE = -1
    KE_OUTPUT_TOO_SMALL = -2
    KE_BAD_LENGTH = -3
