"""LiveKit's eot-bench protocol in ``turnengine eval``: spans, scoring, operating points, the
``--sweep`` and ``--curve`` flags (on the AMI turns copied to tests/data/turns)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from eval_helpers import DATA_DIR, approx, hand_labels

from turnengine.options import TurnEngineOptions
from turnengine.replay import replay_file
from turnengine.tools.cli import main
from turnengine.tools.eval.eotbench import (
    Span,
    eotbench_spans,
    pool_eotbench,
    score_eotbench,
    score_spans,
)
from turnengine.tools.eval.grid import SweepAxis, sweep_grid
from turnengine.tools.eval.labels import Labels, load_labels
from turnengine.tools.eval.operating import fc_at_latency, headline, latency_at_fc, pareto_front

TURNS = DATA_DIR / "turns"


def _turn_labels() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(TURNS.glob("*.json"))}


# -- spans ------------------------------------------------------------------------------------

def test_turns_labels_give_hold_spans_and_the_eot_span() -> None:
    for name, raw in _turn_labels().items():
        holds, eots = eotbench_spans(load_labels(TURNS / f"{name}.json"))
        assert [(h.start_s, h.end_s) for h in holds] == [
            (h["start_s"], h["end_s"]) for h in raw["hold_spans"]], name
        assert [(e.start_s, e.end_s) for e in eots] == [
            (raw["eot_span"]["start_s"], raw["eot_span"]["end_s"])], name


def test_multi_turn_labels_give_pauses_and_scoreable_turn_ends() -> None:
    holds, eots = eotbench_spans(hand_labels())
    assert holds == [Span(2.0, 2.5)]
    # 4.0 -> next speaker at 5.0; 7.0 has a 0.1 s gap (not scoreable); 8.0 is final (clip end 12).
    assert eots == [Span(4.0, 5.0), Span(8.0, 12.0)]


def test_holds_outside_0_2_to_5_s_are_dropped_and_hold_spans_win() -> None:
    pauses = [{"start_s": 1.0, "end_s": 1.15}, {"start_s": 2.0, "end_s": 2.5},
              {"start_s": 3.0, "end_s": 8.5}]
    holds, _ = eotbench_spans(hand_labels(intra_turn_pauses=pauses))
    assert holds == [Span(2.0, 2.5)]
    labels = hand_labels(hold_spans=[{"start_s": 0.6, "end_s": 1.0}],
                         eot_span={"start_s": 9.0, "end_s": 12.0})
    assert eotbench_spans(labels) == ([Span(0.6, 1.0)], [Span(9.0, 12.0)])
    assert eotbench_spans(hand_labels(hold_spans=[]))[0] == []


@pytest.mark.parametrize("bad", [[1, 2], "x", {"start_s": 2.0}])
def test_a_bad_eot_span_is_a_one_line_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="eot_span"):
        hand_labels(eot_span=bad)


# -- scoring ----------------------------------------------------------------------------------

def test_a_hold_counts_once_and_latency_is_exact() -> None:
    holds = [Span(1.0, 1.8), Span(3.0, 3.5), Span(5.0, 5.4)]
    eots = [Span(2.0, 2.9), Span(6.0, 9.0)]
    # 1.2 and 1.7 in the first hold; 3.5 is the second hold's end (the user spoke again);
    # 0.5 is mid-speech; 2.45 ends the first eot span, 6.3 and 7.0 the second (first counts).
    clip = score_spans(holds, eots, [7.0, 1.7, 0.5, 1.2, 3.5, 2.45, 6.3], clip="c")
    assert [h.cut for h in clip.holds] == [True, False, False]
    assert clip.holds[0].commit_s == 1.2
    assert [e.commit_s for e in clip.eots] == [2.45, 6.3]
    assert [e.latency_s for e in clip.eots] == approx([0.45, 0.3])
    pooled = pool_eotbench([clip])
    assert (pooled.n_holds, pooled.n_holds_cut, pooled.fc_rate) == (3, 1, approx(1 / 3))


def test_a_span_without_a_commit_counts_its_whole_length() -> None:
    clip = score_spans([], [Span(2.0, 2.9), Span(4.0, 7.5)], [3.0, 7.6])
    assert [e.commit_s for e in clip.eots] == [None, None]
    assert [e.latency_s for e in clip.eots] == approx([0.9, 3.5])
    pooled = pool_eotbench([clip])
    assert pooled.n_eot_missed == 2 and pooled.fc_rate is None


def test_hold_tail_extends_a_hold() -> None:
    assert score_spans([Span(1.0, 1.5)], [], [1.6]).holds[0].cut is False
    assert score_spans([Span(1.0, 1.5)], [], [1.6], hold_tail_s=0.25).holds[0].cut is True
    with pytest.raises(ValueError, match="hold_tail_s"):
        score_spans([], [], [], hold_tail_s=-1)
    with pytest.raises(ValueError, match="commits"):
        score_spans([], [], [float("nan")])


def test_pooled_figures_over_clips() -> None:
    a = score_eotbench(hand_labels(), [2.2, 2.4, 4.3, 9.0])
    b = score_spans([Span(0.5, 1.0), Span(2.0, 2.6)], [Span(3.0, 6.0)], [2.1, 3.8], clip="b")
    pooled = pool_eotbench([a, b])
    assert pooled.clips == ("hand", "b")
    assert (pooled.n_holds, pooled.n_holds_cut) == (3, 2)
    lat = [0.3, 1.0, 0.8]  # 4.3 - 4.0, 9.0 - 8.0, 3.8 - 3.0
    assert pooled.latencies_s == approx(lat)
    assert pooled.latency_mean_s == approx(0.7)
    assert pooled.latency_median_s == approx(0.8)
    assert pooled.latency_p90_s == approx(0.8 + 0.8 * (1.0 - 0.8))  # linear between order stats
    d = pooled.to_dict()
    assert d["fc_rate"] == approx(2 / 3) and d["n_eot_spans"] == 3


# -- operating points -------------------------------------------------------------------------

# (fc_rate, mean latency s): a made-up curve plus a dominated point and one without holds.
CURVE = [(0.50, 0.25), (0.20, 0.40), (0.30, 0.90), (0.08, 0.70), (0.03, 1.20), (None, 0.1)]


def test_pareto_front_of_a_made_up_curve() -> None:
    assert pareto_front(CURVE) == [0, 1, 3, 4]


def test_headline_reads_the_best_point_within_each_budget() -> None:
    head = headline(CURVE)
    assert (head.fc_at_300ms.value, head.fc_at_300ms.index) == (0.50, 0)
    assert (head.fc_at_600ms.value, head.fc_at_600ms.index) == (0.20, 1)
    assert (head.latency_at_5pct.value, head.latency_at_5pct.index) == (1.20, 4)
    assert (head.latency_at_10pct.value, head.latency_at_10pct.index) == (0.70, 3)


def test_headline_is_a_step_not_a_line_between_points() -> None:
    # 0.5 s lies between 0.40 (FC 20 %) and 0.70 (FC 8 %): the measured 20 %, not 15.3 %.
    assert fc_at_latency(CURVE, 0.5).value == 0.20
    assert latency_at_fc(CURVE, 0.15).value == 0.70


def test_headline_outside_the_measured_range_is_none() -> None:
    assert fc_at_latency(CURVE, 0.2).value is None  # faster than any configuration
    assert latency_at_fc(CURVE, 0.01).value is None  # fewer cut-offs than any configuration
    assert headline([]).fc_at_600ms.index is None
    assert fc_at_latency(CURVE, 0.25).value == 0.50  # the budget itself is within it


def test_sweep_grid_is_a_cartesian_product_first_axis_slowest() -> None:
    grid = sweep_grid([SweepAxis("a", (1, 2)), SweepAxis("b", ("x", "y", "z"))])
    assert grid[:3] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}]
    assert len(grid) == 6 and grid[-1] == {"a": 2, "b": "z"}
    assert sweep_grid([]) == [{}]
    with pytest.raises(ValueError, match="twice"):
        sweep_grid([SweepAxis("a", (1,)), SweepAxis("a", (2,))])


# -- the command ------------------------------------------------------------------------------

def _commits(clip: str, delay: float) -> list[float]:
    """Decision times of a replay of ``clip``, made here without the eval code."""
    result = replay_file(TURNS / f"{clip}.wav",
                         options=TurnEngineOptions(min_endpointing_delay=delay))
    return [e.stream_time for e in result.events if e.type == "user_turn_completed"]


def test_eval_sweep_json_on_the_turns(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(TURNS), "--sweep", "min_endpointing_delay=0.5,1.0", "--json",
                 "--quiet"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    labels = _turn_labels()
    n_holds = sum(len(raw["hold_spans"]) for raw in labels.values())
    assert [c["params"] for c in out["configs"]] == [{"min_endpointing_delay": 0.5},
                                                     {"min_endpointing_delay": 1.0}]
    for config in out["configs"]:
        bench = config["eotbench"]
        assert (bench["n_holds"], bench["n_eot_spans"]) == (n_holds, len(labels))
        for clip in bench["per_clip"]:  # the commits are the replay's own decisions
            commits = _commits(clip["clip"], config["params"]["min_endpointing_delay"])
            eot = clip["eots"][0]
            first = [c for c in commits if eot["start_s"] <= c <= eot["end_s"]]
            assert eot["commit_s"] == (first[0] if first else None)
            assert eot["latency_s"] == approx(first[0] - eot["start_s"] if first
                                              else eot["end_s"] - eot["start_s"])
            cut = [any(h["start_s"] <= c < h["end_s"] for c in commits) for h in clip["holds"]]
            assert [h["cut"] for h in clip["holds"]] == cut
        assert bench["latency_mean_s"] == approx(np.mean(bench["latencies_s"]))
    fast, slow = (c["eotbench"] for c in out["configs"])
    assert slow["latency_mean_s"] > fast["latency_mean_s"] and slow["fc_rate"] <= fast["fc_rate"]
    feasible = [c["eotbench"]["latency_mean_s"] for c in out["configs"]
                if c["eotbench"]["fc_rate"] <= 0.10]
    assert out["headline"]["latency_at_10pct"]["value"] == (min(feasible) if feasible else None)


def test_eval_sweep_text_and_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "curve.png"
    assert main(["eval", str(TURNS), "--sweep", "min-endpointing-delay=0.4,0.8", "--quiet",
                 "--curve", str(png)]) == 0
    text = capsys.readouterr().out
    for needle in ("min_endpointing_delay=0.4", "min_endpointing_delay=0.8", "FC @ 300 ms",
                   "FC @ 600 ms", "latency @ 5 % FC", "latency @ 10 % FC"):
        assert needle in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_plain_eval_also_prints_the_eot_bench_figures(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(TURNS), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "pooled (4 clips)" in text and "eot-bench: false cut-offs" in text
    png = tmp_path / "one.png"
    assert main(["eval", str(TURNS), "--quiet", "--json", "--curve", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"pooled", "clips", "eotbench"} <= set(out)
    assert len(out["eotbench"]["per_clip"]) == 4 and png.is_file()


@pytest.mark.parametrize("argv, needle", [
    (["--sweep", "no_such_option=1,2"], "unknown name 'no_such_option'"),
    (["--sweep", "min_endpointing_delay=0.2,fast"], "expected a float, got 'fast'"),
    (["--sweep", "min_endpointing_delay"], "expected NAME=V1,V2"),
    (["--sweep", "min_endpointing_delay=0.2,,0.4"], "comma-separated"),
    (["--sweep", "turn_detector=magic"], "expected smart-turn or none"),
    (["--sweep", "min_endpointing_delay=4.0"], "max_endpointing_delay"),
    (["--sweep", "min_endpointing_delay=0.2", "--min-endpointing-delay", "0.3"], "conflicts"),
    (["--sweep", "min_endpointing_delay=0.2", "--sweep", "min_endpointing_delay=0.3"], "twice"),
])
def test_bad_sweep_is_one_line_and_exit_2(argv: list[str], needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(TURNS), "--quiet", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("turnengine: error:") and needle in lines[0]


def test_labels_keep_the_eot_bench_keys() -> None:
    raw = _turn_labels()["dev00_04_MEE009"]
    labels = Labels.from_dict(raw)
    assert labels.hold_spans is not None and len(labels.hold_spans) == len(raw["hold_spans"])
    assert labels.eot_span is not None and labels.eot_span.end_s == raw["eot_span"]["end_s"]
    assert hand_labels().hold_spans is None and hand_labels().eot_span is None


def test_curve_lines_join_configurations_that_differ_in_one_parameter() -> None:
    from turnengine.tools.eval.curve import curve_groups

    axes = [SweepAxis("turn_detector", (None,)), SweepAxis("a", (0.2, 0.4, 0.6)),
            SweepAxis("b", (True, False))]
    primary, lines = curve_groups(axes, sweep_grid(axes))
    assert primary == "a"
    assert lines == [("turn_detector=none, b=true", [0, 2, 4]),
                     ("turn_detector=none, b=false", [1, 3, 5])]
    single = [SweepAxis("a", (1,))]
    assert curve_groups(single, sweep_grid(single)) == (None, [("a=1", [0])])
