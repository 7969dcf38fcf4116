"""The host-call half of :class:`~turnengine.TurnEngine`'s public API: what the agent does,
what the user's STT said, typed input, backchannels, commits, the audio-stall watchdog and the
STT gate's audio (validation here, semantics in
:mod:`turnengine._core.host_calls`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..events import AGENT_STATES, Event
from ..options import TurnEngineOptions
from .threads import locked

if TYPE_CHECKING:
    from .bus import EventBus
    from .host_calls import HostCalls
    from .pipeline import Pipeline
    from .session import Session

logger = logging.getLogger("turnengine")


class HostCallsAPI:
    """Public host calls; mixed into :class:`~turnengine.TurnEngine`."""

    _bus: EventBus
    _host: HostCalls
    _pipe: Pipeline
    _session: Session
    _stall_watchdog: bool
    _last_audio_wall: float
    _lock: Any

    @property
    def options(self) -> TurnEngineOptions:
        raise NotImplementedError

    @property
    def user_state(self) -> str:
        raise NotImplementedError

    def _check_open(self) -> None:
        raise NotImplementedError

    def _check_not_in_callback(self, call: str) -> None:
        raise NotImplementedError

    def _raise_held(self) -> None:
        """Raise what a callback raised beyond ``Exception`` during the call (outermost call
        only; see :class:`~turnengine._core.guard.CallbackGuard`)."""
        raise NotImplementedError

    @locked
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
        self._raise_held()
        return out

    def agent_started_speaking(self, *, allow_interruptions: bool | None = None) -> list[Event]:
        """Shorthand for ``set_agent_state("speaking", allow_interruptions=...)``."""
        return self.set_agent_state("speaking", allow_interruptions=allow_interruptions)

    @locked
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
        self._raise_held()
        return out

    @locked
    def push_transcript(self, text: str, is_final: bool, confidence: float | None = None,
                        language: str | None = None, speaker_id: str | None = None) -> list[Event]:
        """Feed what the user's speech-to-text said.

        Emits ``user_input_transcribed``.  Words of the current utterance (its finals plus the
        latest interim) count toward ``min_interruption_words``.  A non-empty final transcript
        joins the current turn's transcript (before ``user_input_transcribed`` is announced, so
        a callback that commits the turn commits it), makes a pending interruption real (no
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
        self._raise_held()
        return out

    @locked
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
        self._raise_held()
        return out

    @locked
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

    @locked
    def commit_user_turn(self) -> list[Event]:
        """End the user's turn now (``turn_detection="manual"``, or to force it in any mode).

        Returns
        -------
        list of Event
            ``user_turn_completed`` (``reason="manual"``), its ``EOUMetrics`` and
            ``conversation_item_added``, unless there was no user speech and no transcript since
            the last turn (then nothing); while the user speaks, ``user_state_changed`` to
            ``listening`` first.

        Notes
        -----
        A commit while the user speaks ends the utterance there, as a turn committed inside
        the VAD's hangover does (SPEC 5): the end of speech is back-dated to the last voiced
        window and the VAD's own end of that segment is swallowed, so voice that goes on is a
        new utterance and a new turn; the committed speech is never a turn again, nor a
        backchannel (speech under the agent's that the host commits is a turn).  An end-of-turn
        model question in flight is settled (a late answer is dropped); ``eot_probability`` is
        reported only when the model answered this pause.
        """
        self._check_open()
        with self._bus.collect() as out:
            self._host.commit_user_turn()
        self._raise_held()
        return out

    @locked
    def check_audio_stall(self, now: float | None = None) -> list[Event]:
        """The audio-stall watchdog (SPEC 2): close a speaking state when audio stopped flowing.

        Call it from a wall-clock timer (for example every 0.5 s). When the engine was built with
        ``audio_stall_watchdog=True``, the user is ``speaking`` and no audio arrived for
        ``audio_stall_timeout`` seconds of wall clock, the utterance ends as if the VAD had
        ended it: ``user_state_changed`` (speaking -> listening, back-dated to the last voiced
        window) at the current engine clock, then whatever follows an end of speech (the turn,
        when its delay has passed; call :meth:`advance` to let later timers fire).

        Parameters
        ----------
        now : float, optional
            ``time.monotonic()`` reading to use (tests); default: the current one.

        Returns
        -------
        list of Event

        Raises
        ------
        RuntimeError
            If the engine was built without ``audio_stall_watchdog=True``.
        """
        self._check_open()
        self._check_not_in_callback("check_audio_stall")
        if not self._stall_watchdog:
            raise RuntimeError("build the engine with TurnEngine(..., audio_stall_watchdog=True) "
                               "to use check_audio_stall()")
        now = time.monotonic() if now is None else now
        with self._bus.collect() as out:
            if (self.user_state == "speaking"
                    and now - self._last_audio_wall >= self.options.audio_stall_timeout):
                logger.warning("no audio for %.1f s of wall clock while the user was speaking; "
                               "closing the speaking state", now - self._last_audio_wall)
                self._pipe.hysteresis.force_silence()
                self._session.run_fired(self._pipe.timers.force_end())
        self._raise_held()
        return out

    @locked
    def stt_audio(self) -> Iterator[np.ndarray]:
        """Yield the audio to forward to a streaming STT since the last call (SPEC 8).

        Yields
        ------
        numpy.ndarray of int16, shape (n,)
            Model-rate (16 kHz, or 8 kHz) mono PCM: speech with ``prefix_padding_duration``
            before its onset, through the end-of-speech decision; silence of the same length
            while the agent speaks uninterruptibly (``discard_audio_if_uninterruptible``).

        Raises
        ------
        RuntimeError
            If the engine was built without ``stt_gate=True``.
        """
        gate = self._session.gate
        if gate is None:
            raise RuntimeError("build the engine with TurnEngine(..., stt_gate=True) to use "
                               "stt_audio()")
        return iter(list(gate.drain()))  # (taken under the lock: push_audio may run meanwhile)
