"""Modules over 800 lines and functions over 80 in ``src/metropilot``: a reader holds a module in
mind and a function on a screen. Prints what is over; exits 1 if anything is.

Exempt: the Alembic revisions (history, never rewritten) and the tables of data listed in
``DATA``. Run ``python scripts/sizes.py``; ``tests/unit/test_sizes.py`` runs the same check.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MODULE_LINES = 800
FUNCTION_LINES = 80
SOURCE = Path(__file__).resolve().parent.parent / "src" / "metropilot"
EXEMPT_DIRECTORIES = ("db/migrations/versions",)
# Tables of data, long because the data is: (module, function or "" for the whole module).
DATA: frozenset[tuple[str, str]] = frozenset()


def oversized(root: Path = SOURCE) -> Iterator[str]:
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name.startswith(EXEMPT_DIRECTORIES):
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MODULE_LINES and (name, "") not in DATA:
            yield f"{name}: {lines} lines (module limit {MODULE_LINES})"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES and (name, node.name) not in DATA:
                    yield (
                        f"{name}:{node.lineno}: {node.name} is {length} lines "
                        f"(function limit {FUNCTION_LINES})"
                    )


def main() -> int:
    found = list(oversized())
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
