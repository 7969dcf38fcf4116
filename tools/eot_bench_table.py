"""The eot-bench table and curve of docs/end_of_turn.md: four end-of-turn policies, swept.

Usage: ``python tools/eot_bench_table.py DIR [DIR ...] [--curve OUT.png] [--json OUT.json]``.

With several directories it prints a table for each and one pooled over all of them (holds and
eot spans of every directory together), and checks the engine's defaults against the pooled
curves: no measured configuration of a family may dominate its default configuration (lower
mean latency with no more false cut-offs, or fewer false cut-offs at no more latency).

Each policy (a "family") is swept over its parameters with ``turnengine eval``'s sweep machinery
(:func:`turnengine.tools.eval.sweep.run_sweep`, Silero VAD, the engine's defaults otherwise);
the headline figures of each family are read off its own configurations as eot-bench does
(best configuration within the budget, mean latency; docs/end_of_turn.md).  Median and p90
latency are those of the family's configuration at ``min_endpointing_delay=0.5`` (and
``unlikely_threshold=0.5``).  LiveKit's published figures are printed beside them, marked as
measured on other data.  Smart Turn needs ``pip install '.[smart-turn]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from turnengine.options import TurnEngineOptions
from turnengine.tools.eval.grid import SweepAxis
from turnengine.tools.eval.operating import headline, pareto_front
from turnengine.tools.eval.sweep import SweepResult, run_sweep, sweep_configs

DELAYS = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0)
MODEL_DELAYS = (0.2, 0.3, 0.5, 0.8, 1.0)
THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9)

#: (name, turn detector, fixed options, swept axes)
FAMILIES: tuple[tuple[str, str | None, dict[str, Any], tuple[SweepAxis, ...]], ...] = (
    ("silence, from END_OF_SPEECH (LiveKit's timer; before issue 11)", None,
     {"endpointing_start": "end_of_speech"},
     (SweepAxis("min_endpointing_delay", DELAYS),)),
    ("silence, timer from the last voiced window (new)", None,
     {"endpointing_start": "silence"},
     (SweepAxis("min_endpointing_delay", DELAYS),)),
    ("Smart Turn v3.2, asked once a pause (before issue 11)", "smart-turn",
     {"endpointing_start": "end_of_speech", "eot_prediction_interval": None},
     (SweepAxis("min_endpointing_delay", MODEL_DELAYS), SweepAxis("unlikely_threshold",
                                                                   THRESHOLDS))),
    ("Smart Turn v3.2, re-scored every 0.1 s (new)", "smart-turn",
     {"endpointing_start": "silence", "eot_prediction_interval": 0.1},
     (SweepAxis("min_endpointing_delay", MODEL_DELAYS), SweepAxis("unlikely_threshold",
                                                                   THRESHOLDS))),
)

#: LiveKit eot-bench, English, as published (github.com/livekit/eot-bench README): other data.
PUBLISHED = (
    ("LiveKit eot-bench: VAD-silence baseline (published, other data)", "55.6 %", "", "", "",
     ""),
    ("LiveKit eot-bench: Smart Turn v3.2 (published, other data)", "35.2 %", "", "1051 ms", "",
     ""),
    ("LiveKit eot-bench: LiveKit cloud model (published, other data)", "9.9 %", "", "543 ms",
     "", ""),
)


Point = tuple[float | None, float | None]


def _pooled(per_dir: list[SweepResult]) -> list[dict[str, Any]]:
    """Each configuration's eot-bench figures over every directory's holds and spans."""
    out = []
    for runs in zip(*[r.runs for r in per_dir], strict=True):
        cut = sum(r.eotbench.n_holds_cut for r in runs)
        holds = sum(r.eotbench.n_holds for r in runs)
        lat = np.concatenate([np.asarray(r.eotbench.latencies_s, float) for r in runs])
        out.append({"params": runs[0].config.params, "fc": cut / holds if holds else None,
                    "mean": float(lat.mean()) if lat.size else None,
                    "median": float(np.median(lat)) if lat.size else None,
                    "p90": float(np.percentile(lat, 90)) if lat.size else None})
    return out


def _is_default(params: dict[str, Any], fixed: dict[str, Any]) -> bool:
    default = TurnEngineOptions()
    return all(getattr(default, k) == v for k, v in {**fixed, **params}.items())


def _dominators(points: list[dict[str, Any]], i: int) -> list[int]:
    """Configurations with lower latency and no more cut-offs, or fewer cut-offs at no more
    latency, than configuration ``i``."""
    fc, lat = points[i]["fc"], points[i]["mean"]
    return [j for j, q in enumerate(points) if j != i and q["fc"] is not None and (
        (q["mean"] < lat and q["fc"] <= fc) or (q["fc"] < fc and q["mean"] <= lat))]


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{1000 * v:.0f} ms"


def _draw(results: list[tuple[str, list[Point]]], out: Path, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for k, (name, points) in enumerate(results):
        pts = [(1000 * lat, 100 * fc) for fc, lat in points if fc is not None and lat is not None]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color=f"C{k}", alpha=0.45)
        front = [points[i] for i in pareto_front(points)]
        before = "before" in name  # drawn wide and dashed: the new policy may lie on top
        ax.step([1000 * lat for _, lat in front], [100 * fc for fc, _ in front],  # type: ignore
                where="post", color=f"C{k}", lw=3.2 if before else 1.6,
                ls="--" if before else "-", alpha=0.6 if before else 1.0, label=name)
    for x in (300, 600):
        ax.axvline(x, color="#999999", ls=":", lw=0.9)
    for y in (5, 10):
        ax.axhline(y, color="#999999", ls=":", lw=0.9)
    ax.set_xlabel("mean eot latency (ms)")
    ax.set_ylabel("false cut-off rate (% of holds)")
    right = max((lat for _, pts in results for _, lat in pts if lat is not None), default=3.0)
    ax.set_xlim(0, 1000 * right + 100)
    ax.set_ylim(bottom=0)
    ax.grid(color="#e6e6e6", lw=0.6)
    ax.legend(fontsize=8, loc="upper right", title="Pareto frontier of each policy's sweep",
              title_fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.savefig(str(out))


HEADER = ("| policy | FC @ 300 ms | FC @ 600 ms | latency @ 5 % FC | latency @ 10 % FC "
          "| median / p90 latency at 0.5 s |\n| --- | ---: | ---: | ---: | ---: | ---: |")


def _row(name: str, pooled: list[dict[str, Any]]) -> tuple[str, ...]:
    """The table row of a family's configurations (``_pooled`` over one directory or many):
    headline figures, and median / p90 latency at min_endpointing_delay=0.5
    (unlikely_threshold=0.5)."""
    head = headline([(p["fc"], p["mean"]) for p in pooled])
    ref = next((p for p in pooled if p["params"].get("min_endpointing_delay") == 0.5
                and p["params"].get("unlikely_threshold", 0.5) == 0.5), pooled[0])
    return (name, _pct(head.fc_at_300ms.value), _pct(head.fc_at_600ms.value),
            _ms(head.latency_at_5pct.value), _ms(head.latency_at_10pct.value),
            f"{_ms(ref['median'])} / {_ms(ref['p90'])}")


def _check_defaults(name: str, fixed: dict[str, Any], pooled: list[dict[str, Any]]) -> None:
    for i, p in enumerate(pooled):
        if not _is_default(p["params"], fixed):
            continue
        doms = _dominators(pooled, i)
        verdict = ("no configuration dominates it" if not doms else "dominated by "
                   + "; ".join(f"{pooled[j]['params']} ({_pct(pooled[j]['fc'])}, "
                               f"{_ms(pooled[j]['mean'])})" for j in doms))
        print(f"- {name}: the default {p['params']} pools to {_pct(p['fc'])} false cut-offs at "
              f"{_ms(p['mean'])} mean latency; {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+")
    parser.add_argument("--curve", type=Path, help="write the pooled curves (PNG)")
    parser.add_argument("--json", type=Path, help="write every sweep as JSON")
    parser.add_argument("--replot", type=Path,
                        help="draw --curve from a --json file of an earlier run (no replays)")
    args = parser.parse_args(argv)
    if args.replot is not None:
        saved = json.loads(args.replot.read_text())
        _draw([(n, [(p["fc"], p["mean"]) for p in v["pooled"]]) for n, v in saved.items()],
              args.curve or Path("eot_bench_curve.png"),
              f"false cut-offs vs mean latency, pooled over {', '.join(args.directories)}")
        return 0
    results: dict[str, list[SweepResult]] = {}
    for name, detector, fixed, axes in FAMILIES:
        configs = sweep_configs(axes, fixed, detector)
        results[name] = [run_sweep(d, configs, axes) for d in args.directories]
        print(f"# {name}: {len(configs)} configurations done", file=sys.stderr, flush=True)
    for k, d in enumerate(args.directories):
        print(f"\neot-bench over {d}\n\n{HEADER}")
        for row in [_row(n, _pooled([r[k]])) for n, r in results.items()] + list(PUBLISHED):
            print("| " + " | ".join(row) + " |")
    pooled = {n: _pooled(r) for n, r in results.items()}
    print(f"\neot-bench pooled over {', '.join(args.directories)}\n\n{HEADER}")
    for n, p in pooled.items():
        print("| " + " | ".join(_row(n, p)) + " |")
    print("\nDefaults against the pooled curves:")
    for name, _detector, fixed, _axes in FAMILIES:
        _check_defaults(name, fixed, pooled[name])
    if args.json:
        args.json.write_text(json.dumps({n: {"directories": [x.to_dict() for x in r],
                                             "pooled": pooled[n]} for n, r in results.items()},
                                        indent=1))
    if args.curve:
        _draw([(n, [(p["fc"], p["mean"]) for p in pl]) for n, pl in pooled.items()], args.curve,
              f"false cut-offs vs mean latency, pooled over {', '.join(args.directories)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
