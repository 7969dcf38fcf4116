"""Print the longest Python modules and functions (rooms of at most 600 and 60 lines).

Usage: ``python tools/longest.py [--top N] [--max-module 600] [--max-function 60] [PATH ...]``.
Scans ``turnengine/`` (not the compiled kernels in ``ext/``), ``tests/``, ``benchmarks/``,
``examples/`` and ``tools/`` by default. A function's length runs from its ``def`` (decorators
included) to its last line; nested functions count inside their parent too. Exits 1 when any
module or function is over its limit, so CI can run it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("turnengine", "tests", "benchmarks", "examples", "tools", "setup.py")


def _python_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = (ROOT / p) if not Path(p).is_absolute() else Path(p)
        if path.is_dir():
            files.extend(sorted(f for f in path.rglob("*.py") if "build" not in f.parts))
        elif path.suffix == ".py":
            files.append(path)
    return files


def measure(paths: list[str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Return (lines, module) and (lines, module:function) pairs, longest first."""
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for f in _python_files(paths):
        text = f.read_text(encoding="utf-8")
        rel = str(f.relative_to(ROOT)) if f.is_relative_to(ROOT) else str(f)
        modules.append((len(text.splitlines()), rel))
        for node in ast.walk(ast.parse(text, filename=str(f))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                end = node.end_lineno or node.lineno
                functions.append((end - first + 1, f"{rel}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    ap.add_argument("--top", type=int, default=10, help="rows of each list to print")
    ap.add_argument("--max-module", type=int, default=600)
    ap.add_argument("--max-function", type=int, default=60)
    args = ap.parse_args(argv)
    modules, functions = measure(args.paths)
    print(f"longest modules (limit {args.max_module} lines):")
    for n, name in modules[: args.top]:
        print(f"  {n:5d}  {name}")
    print(f"longest functions (limit {args.max_function} lines):")
    for n, name in functions[: args.top]:
        print(f"  {n:5d}  {name}")
    over = ([m for m in modules if m[0] > args.max_module]
            + [f for f in functions if f[0] > args.max_function])
    print(f"{len(over)} over the limits")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
