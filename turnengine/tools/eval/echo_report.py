"""Pool echo-set scores overall and per echo level, and print them (``turnengine eval`` on an
echo set; the metric is in :mod:`.echo`)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .echo import EchoClipScore

__all__ = ["EchoPooled", "EchoResult", "format_echo_table", "pool_echo"]


@dataclass(frozen=True)
class EchoPooled:
    """Summed counts of a group of samples (``label``: ``"all"`` or an echo level).

    Attributes mirror :class:`~.echo.EchoClipScore` (summed; latencies concatenated) plus
    ``n_clips``.
    """

    label: str
    n_clips: int
    agent_minutes: float
    n_agent_utterances: int
    n_utterances_cut: int
    n_barge_ins: int
    n_hits: int
    latencies_s: tuple[float, ...]
    n_backchannels: int
    n_backchannel_interruptions: int
    n_false: int
    n_false_in_user_speech: int
    n_near_onset: int
    n_preempted: int

    @property
    def false_per_agent_minute(self) -> float | None:
        return self.n_false / self.agent_minutes if self.agent_minutes > 0 else None

    @property
    def recall(self) -> float | None:
        return self.n_hits / self.n_barge_ins if self.n_barge_ins else None

    @property
    def median_latency_s(self) -> float | None:
        return statistics.median(self.latencies_s) if self.latencies_s else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["latencies_s"] = list(self.latencies_s)
        out.update(false_per_agent_minute=self.false_per_agent_minute, recall=self.recall,
                   median_latency_s=self.median_latency_s)
        return out


def pool_echo(scores: Sequence[EchoClipScore], label: str = "all") -> EchoPooled:
    """Sum the counts of ``scores`` (agent-minutes too, so the rate is per pooled minute)."""
    def total(name: str) -> int:
        return sum(int(getattr(s, name)) for s in scores)

    return EchoPooled(
        label=label, n_clips=len(scores), agent_minutes=sum(s.agent_minutes for s in scores),
        n_agent_utterances=total("n_agent_utterances"),
        n_utterances_cut=total("n_utterances_cut"), n_barge_ins=total("n_barge_ins"),
        n_hits=sum(s.n_hits for s in scores),
        latencies_s=tuple(t for s in scores for t in s.hit_latencies_s),
        n_backchannels=total("n_backchannels"),
        n_backchannel_interruptions=total("n_backchannel_interruptions"),
        n_false=total("n_false"), n_false_in_user_speech=total("n_false_in_user_speech"),
        n_near_onset=total("n_near_onset"), n_preempted=total("n_preempted"))


def _level_label(db: float | None) -> str:
    if db is None:
        return "level ?"
    return f"{db:+g} dB"


@dataclass(frozen=True)
class EchoResult:
    """Per-sample scores, the pooled figures per echo level (lowest first) and overall."""

    clips: list[EchoClipScore]
    levels: list[EchoPooled]
    overall: EchoPooled

    @classmethod
    def from_clips(cls, clips: Sequence[EchoClipScore]) -> EchoResult:
        keys = sorted({c.echo_to_user_db for c in clips},
                      key=lambda d: (d is None, d if d is not None else 0.0))
        levels = [pool_echo([c for c in clips if c.echo_to_user_db == k], _level_label(k))
                  for k in keys]
        return cls(list(clips), levels, pool_echo(clips))

    def to_dict(self) -> dict[str, Any]:
        return {"metric": "echo", "overall": self.overall.to_dict(),
                "per_echo_level": [p.to_dict() for p in self.levels],
                "clips": [c.to_dict() for c in self.clips]}


_HEADER = ("| group | clips | agent min | false | false/agent-min | false in user speech "
           "| utterances cut | recall | median latency (s) | backchannel int. | pre-empted "
           "| near onset |")


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _row(p: EchoPooled) -> str:
    return (f"| {p.label} | {p.n_clips} | {p.agent_minutes:.2f} | {p.n_false} "
            f"| {_fmt(p.false_per_agent_minute, '.1f')} | {p.n_false_in_user_speech} "
            f"| {p.n_utterances_cut}/{p.n_agent_utterances} | {p.n_hits}/{p.n_barge_ins} "
            f"| {_fmt(p.median_latency_s, '.3f')} "
            f"| {p.n_backchannel_interruptions}/{p.n_backchannels} "
            f"| {p.n_preempted}/{p.n_barge_ins} | {p.n_near_onset} |")


def format_echo_table(result: EchoResult, per_clip: bool = True) -> str:
    """Markdown: one row per sample (``per_clip``), one per echo level, then ``all``."""
    rows = [_HEADER, "|" + "---|" * _HEADER.count(" | ") + "---|"]
    if per_clip:
        rows += [_row(pool_echo([c], c.clip)) for c in result.clips]
    rows += [_row(p) for p in result.levels] + [_row(result.overall)]
    return "\n".join(rows) + "\n"
