"""The deterministic figures of docs/ re-run: they fail when the code drifts from the docs.

docs/accuracy.md's per-clip table (default options, Silero, `python tools/accuracy_table.py`)
is recomputed for every clip of it that ships in tests/data, and, where the development set
sits beside the checkout (``../shared/audio``), for every clip and the pooled row.  The README's
`turnengine run` excerpt is checked against the command's output.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import DATA

from turnengine.tools.eval import format_table
from turnengine.tools.eval.runner import evaluate_clip, evaluate_directory

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "audio"


def _doc_rows(doc: str, heading: str) -> dict[str, str]:
    """``{first cell: whole row}`` of the body of the first table under ``heading``."""
    text = (ROOT / "docs" / doc).read_text()
    lines = text[text.index(heading):].splitlines()[1:]
    table = [ln.strip() for ln in lines[:next((i for i, ln in enumerate(lines)
                                                if ln.startswith("## ")), len(lines))]
             if ln.startswith("| ")]
    return {ln.split("|")[1].strip(): ln for ln in table[2:]}


def _table_rows(scores: list) -> dict[str, str]:
    lines = format_table(scores).splitlines()
    return {ln.split("|")[1].strip(): ln.strip() for ln in lines[2:]}


def test_accuracy_table_matches_the_docs():
    """Every documented clip that is at hand (tests/data always; the whole development set and
    its pooled row where it sits beside the checkout) scores as docs/accuracy.md says."""
    documented = _doc_rows("accuracy.md", "## Per clip")
    bundled = [p for p in sorted(DATA.glob("*.wav")) if p.stem in documented]
    assert len(bundled) >= 4, "docs/accuracy.md lists the clips in tests/data"
    if SHARED.is_dir():
        result = evaluate_directory(SHARED)
        got = _table_rows([*result.clips, result.pooled])
        assert got == documented
    got = _table_rows([evaluate_clip(p, p.with_suffix(".json")) for p in bundled])
    for clip in (p.stem for p in bundled):
        assert got[clip] == documented[clip], f"docs/accuracy.md drifted for {clip}"


def test_readme_timeline_excerpt_is_what_run_prints(capsys):
    from turnengine.tools.cli import main

    assert main(["run"]) == 0
    out = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    excerpt = readme[readme.index("`turnengine run` prints a timeline like:"):]
    block = excerpt[excerpt.index("```") + 3:]
    block = block[block.index("\n") + 1:block.index("```")]
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert lines and all(ln in out for ln in lines), (lines, out[:400])
    assert re.search(r"end_of_utterance_delay=\d", block)
