"""Print the accuracy tables of docs/accuracy.md: per clip, per condition and pooled.

Usage: python tools/accuracy_table.py [DIR] [--vad NAME] [--<option-name> VALUE ...]
(DIR defaults to ../shared/audio).  Conditions are read from clip names (clean, pink20, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

from turnengine.tools.cli.args import add_option_flags, options_from_args
from turnengine.tools.eval import format_table, pool
from turnengine.tools.eval.runner import evaluate_directory

CONDITIONS = ("clean", "pink20", "pink10", "pink5", "babble10")


def condition(clip: str) -> str:
    for c in CONDITIONS:
        if clip.endswith("_" + c):
            return c
    return "real single-speaker (A, B)"


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", nargs="?",
                        default=str(Path(__file__).resolve().parents[2] / "shared" / "audio"))
    parser.add_argument("--vad", default="silero")
    add_option_flags(parser)
    args = parser.parse_args(argv)
    result = evaluate_directory(args.directory, vad=args.vad, options=options_from_args(args))
    groups: dict[str, list] = {}
    for score in result.clips:
        groups.setdefault(condition(score.clip), []).append(score)
    rows = []
    for name, scores in groups.items():
        d = pool(scores).to_dict()
        d["clip"] = f"{name} ({len(scores)} clips)"
        rows.append(d)
    pooled = result.pooled.to_dict()
    pooled["clip"] = f"**pooled ({len(result.clips)} clips)**"
    rows.append(pooled)
    cols = ("clip", "frame_precision", "frame_recall", "frame_f1", "decision_frame_f1",
            "end_latency_median_s", "end_latency_p90_s", "n_false_starts", "n_missed_segments",
            "turn_latency_median_s", "n_missed_turn_ends", "n_false_cutoffs")
    print(f"### By condition (vad={args.vad})\n")
    print(format_table(rows, cols))
    print("\n### Per clip\n")
    print(format_table([*result.clips, result.pooled]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
