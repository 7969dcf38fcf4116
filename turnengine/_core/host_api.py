"""The host-call half of :class:`~turnengine.TurnEngine`'s public API: what the agent does,
what the user's STT said, typed input, backchannels and commits (validation here, semantics in
:mod:`turnengine._core.host_calls`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import AGENT_STATES, Event
from ..options import TurnEngineOptions

if TYPE_CHECKING:
    from .bus import EventBus
    from .host_calls import HostCalls
    from .pipeline import Pipeline


class HostCallsAPI:
    """Public host calls; mixed into :class:`~turnengine.TurnEngine`."""

    options: TurnEngineOptions
    _bus: EventBus
    _host: HostCalls
    _pipe: Pipeline

    def _check_open(self) -> None:
        raise NotImplementedError

    def set_agent_state(self, state: str, *,
                        allow_interruptions: bool | None = None) -> list[Event]:
        """Tell the engine what the agent is doing.

        Parameters
        ----------
        state : {"initializing", "listening", "thinking", "speaking"}
        allow_interruptions : bool, optional
            For ``"speaking"``: whether this speech may be interrupted (default: the
            ``allow_interruptions`` option).

        Returns
        -------
        list of Event
            ``agent_state_changed`` (when the state changes) and any interruption it causes (a
            user already speaking long enough).

        Raises
        ------
        ValueError
            Unknown state, or a closed engine.
        TypeError
            ``allow_interruptions`` not a bool.
        """
        self._check_open()
        if state not in AGENT_STATES:
            raise ValueError(f"unknown agent state {state!r}; expected one of {AGENT_STATES}")
        if allow_interruptions is not None and not isinstance(allow_interruptions, bool):
            raise TypeError(f"allow_interruptions expects a bool, got {allow_interruptions!r}")
        interruptible = (self.options.allow_interruptions if allow_interruptions is None
                         else allow_interruptions)
        with self._bus.collect() as out:
            self._host.set_agent_state(state, interruptible)
        return out

    def agent_started_speaking(self, *, allow_interruptions: bool | None = None) -> list[Event]:
        """Shorthand for ``set_agent_state("speaking", allow_interruptions=...)``."""
        return self.set_agent_state("speaking", allow_interruptions=allow_interruptions)

    def agent_stopped_speaking(self, text: str | None = None, *,
                               interrupted: bool = False) -> list[Event]:
        """The agent's speech ended: played out, or cut short (``interrupted``).

        Parameters
        ----------
        text : str, optional
            What the agent said (or the part that was played); adds an assistant message to
            the chat history, dated at the start of the speech and marked ``interrupted`` when
            the host says so or the engine interrupted it.
        interrupted : bool
            True when the speech was cut short.

        Returns
        -------
        list of Event
            ``conversation_item_added`` (with ``text``) and ``agent_state_changed``.
        """
        self._check_open()
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text expects a str, got {type(text).__name__}")
        if not isinstance(interrupted, bool):
            raise TypeError(f"interrupted expects a bool, got {interrupted!r}")
        with self._bus.collect() as out:
            self._host.agent_stopped_speaking(text, interrupted)
        return out

    def push_transcript(self, text: str, is_final: bool, confidence: float | None = None,
                        language: str | None = None, speaker_id: str | None = None) -> list[Event]:
        """Feed what the user's speech-to-text said.

        Emits ``user_input_transcribed``.  Words of the current utterance (its finals plus the
        latest interim) count toward ``min_interruption_words``.  A non-empty final transcript
        joins the current turn's transcript, makes a pending interruption real (no
        ``agent_false_interruption``), opens the end-of-turn decision in ``"stt"`` mode, and
        brings an ``away`` user back to ``listening``.  Transcripts that arrive after a
        backchannel and before new speech belong to that backchannel, not to the next turn.

        Parameters
        ----------
        text : str
        is_final : bool
        confidence : float, optional
            In [0, 1]; the turn reports the mean over its finals as ``transcript_confidence``.
        language, speaker_id : str, optional
            Passed through on the event.

        Raises
        ------
        TypeError
            ``text`` not a str, ``is_final`` not a bool.
        ValueError
            ``confidence`` outside [0, 1], or a closed engine.
        """
        self._check_open()
        if not isinstance(text, str):
            raise TypeError(f"text expects a str, got {type(text).__name__}")
        if not isinstance(is_final, bool):
            raise TypeError(f"is_final expects a bool, got {is_final!r}")
        if confidence is not None and (isinstance(confidence, bool) or not isinstance(
                confidence, (int, float)) or not 0.0 <= confidence <= 1.0):
            raise ValueError(f"confidence must be in [0, 1] or None, got {confidence!r}")
        with self._bus.collect() as out:
            self._host.push_transcript(text, is_final, confidence, language, speaker_id)
        return out

    def push_text_input(self, text: str) -> list[Event]:
        """Typed user input: interrupts the agent as a voice turn would and commits a turn now.

        Emits, in order: ``agent_interrupted`` and ``agent_state_changed`` (when the agent was
        speaking interruptibly), then ``user_turn_completed`` (``reason="text"``, the text as
        transcript), its ``EOUMetrics`` and ``conversation_item_added`` with ``source="text"``.
        An agent message the host reports afterwards for the speech this text cut off is dated
        at that speech's start, so the history reads in the order things happened.

        Raises
        ------
        TypeError
            ``text`` not a str.
        ValueError
            Empty ``text``, or a closed engine.
        """
        self._check_open()
        if not isinstance(text, str):
            raise TypeError(f"text expects a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("expected non-empty text input, got an empty string")
        with self._bus.collect() as out:
            self._host.push_text_input(text)
        return out

    def mark_backchannel(self) -> bool:
        """Say that the user's current utterance is a backchannel ("mm-hm", a cough).

        It will not interrupt the agent and opens no turn (SPEC 6: "or when the host marks it
        so"); ``user_backchannel`` follows when it ends.

        Returns
        -------
        bool
            True when an utterance was in progress and had not interrupted yet.
        """
        self._check_open()
        return bool(self._pipe.timers.mark_backchannel())

    def commit_user_turn(self) -> list[Event]:
        """End the user's turn now (``turn_detection="manual"``, or to force it in any mode).

        Returns
        -------
        list of Event
            ``user_turn_completed`` (``reason="manual"``), its ``EOUMetrics`` and
            ``conversation_item_added``, unless there was no user speech and no transcript since
            the last turn (then nothing).

        Notes
        -----
        The committed speech is not a turn again: when the VAD still says speaking (its
        hangover) and no voice follows, its end opens no second turn; voice after the commit
        is a new turn.  An end-of-turn model question in flight is settled (a late answer is
        dropped); ``eot_probability`` is reported only when the model answered this pause.
        """
        self._check_open()
        with self._bus.collect() as out:
            self._host.commit_user_turn()
        return out
