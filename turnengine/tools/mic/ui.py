"""What ``turnengine mic`` shows: a live rich panel on a terminal (user and agent state, the
VAD probability against the activation threshold, counts, the last events), or plain event
lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ...events import Event
from ..format import format_event
from .session import QUIET_EVENTS, MicSession

__all__ = ["render", "run_live"]


def _bar(p: float, activation: float, deactivation: float, width: int = 40) -> Any:
    from rich.text import Text

    filled = int(round(max(0.0, min(1.0, p)) * width))
    color = "green" if p >= activation else ("yellow" if p > deactivation else "grey50")
    bar = Text()
    mark = int(round(activation * width))
    for i in range(width):
        if i < filled:
            bar.append("█", style=color)
        elif i == mark:
            bar.append("│", style="red")
        else:
            bar.append("·", style="grey35")
    bar.append(f" {p:.2f}")
    return bar


def render(session: MicSession, header: str, note: str = "") -> Any:
    """A rich renderable of the session's state (user, agent, VAD bar, last events)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    eng = session.engine
    o = eng.options
    user_style = {"speaking": "bold green", "away": "bold magenta"}.get(eng.user_state, "cyan")
    agent_style = {"speaking": "bold yellow", "thinking": "yellow"}.get(eng.agent_state, "cyan")
    grid = Table.grid(padding=(0, 2))
    grid.add_row(Text(f"audio {session.audio_s:7.1f}s"),
                 Text.assemble("user ", (eng.user_state.upper(), user_style)),
                 Text.assemble("agent ", (eng.agent_state.upper(), agent_style)))
    s = session.summary()
    mean = s.mean_end_of_utterance_delay
    stats = (f"turns {s.turns}   interruptions {s.interruptions}   false {s.false_interruptions}"
             f"   backchannels {s.backchannels}"
             + (f"   mean end_of_utterance_delay {mean:.3f}s" if mean is not None else ""))
    vad = Text.assemble("VAD ", _bar(session.probability, o.activation_threshold,
                                     o.effective_deactivation_threshold),
                        (f"   (activation {o.activation_threshold:g}, red mark)", "grey50"))
    lines = [Text(format_event(ev), overflow="ellipsis", no_wrap=True) for ev in session.recent]
    extra = [Text(note, style="grey50")] if note else []
    body = Group(*extra, grid, vad, Text(stats, style="grey70"), Text(""),
                 *(lines or [Text("(no events yet: say something)", style="grey50")]))
    return Panel(body, title=header, subtitle="Ctrl-C to stop", title_align="left")


def run_live(session: MicSession, *, header: str, note: str = "", out: TextIO | None = None,
             max_seconds: float | None = None, live: bool | None = None) -> bool:
    """Run ``session`` with a live rich display on a terminal, or event lines otherwise.

    Parameters
    ----------
    session : MicSession
    header : str
        Title of the display (device, rate, VAD).
    note : str
        A line shown under the title (the simulated agent's settings).
    out : text stream, optional
        Where to write; default ``sys.stdout``.
    max_seconds : float, optional
        Stop after this much audio.
    live : bool, optional
        Force the live display on or off; default: on when ``out`` is a terminal.

    Returns
    -------
    bool
        True when stopped by Ctrl-C.  The session is finished (:meth:`MicSession.finish`, so
        the simulated agent's last reply ends unless stopped by Ctrl-C) when this returns.
    """
    out = out if out is not None else sys.stdout
    use_live = out.isatty() if live is None else live
    if use_live:
        return _run_panel(session, header, note, out, max_seconds)
    return _run_lines(session, header, note, out, max_seconds)


def _run_lines(session: MicSession, header: str, note: str, out: TextIO,
               max_seconds: float | None) -> bool:
    """``run_live`` without a terminal: the header, then one line per event as it comes."""
    print(f"# {header}", file=out, flush=True)
    if note:
        print(f"# {note}", file=out, flush=True)

    def print_events(_: MicSession, produced: list[Event]) -> None:
        for ev in produced:
            if not isinstance(ev, QUIET_EVENTS):
                print(format_event(ev), file=out, flush=True)

    interrupted = session.run(on_update=print_events, max_seconds=max_seconds)
    before = len(session.events)
    session.finish(let_agent_finish=not interrupted)
    print_events(session, session.events[before:])
    return interrupted


def _run_panel(session: MicSession, header: str, note: str, out: TextIO,
               max_seconds: float | None) -> bool:
    """``run_live`` on a terminal: a rich panel redrawn on each event, or every 80 ms."""
    from rich.console import Console
    from rich.live import Live

    console = Console(file=out)
    last = [0.0]
    with Live(render(session, header, note), console=console, auto_refresh=False,
              redirect_stdout=False, redirect_stderr=False, transient=False) as display:

        def refresh(_: MicSession, produced: list[Event]) -> None:
            now = time.monotonic()
            if produced or now - last[0] >= 0.08:
                last[0] = now
                display.update(render(session, header, note), refresh=True)

        interrupted = session.run(on_update=refresh, max_seconds=max_seconds)
        session.finish(let_agent_finish=not interrupted)
        display.update(render(session, header, note), refresh=True)
    return interrupted
