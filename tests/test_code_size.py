"""No module over 400 lines in zoo/, datamodules/ and benchmarks/, and no function over 60 lines.

Every ``.py`` file of the three packages is read with :mod:`ast` (nothing is imported).
A module's size is its number of lines, every line counted (as ``wc -l``); a function's
or a method's is ``end_lineno - lineno + 1`` of its ``def`` (decorators not counted,
its docstring and nested functions counted, and a nested function measured on its own too).
Split what is over by concern (never into arbitrary halves): see docs/architecture.md.

:data:`KNOWN_OVER` lists what is still over while it is being shrunk; it can only
shrink: an entry that is no longer over (or no longer exists) fails the test until
it is removed. ``python -m tests.test_code_size`` prints every module and function
over its limit, listed or not.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("zoo", "datamodules", "benchmarks")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

#: Still over the limits, tolerated until shrunk: ``"path"`` for a module, ``"path:qualified.name"``
#: for a function or method (``Class.method``, ``outer.inner``). Remove an entry once it fits.
KNOWN_OVER: set[str] = set()


def _functions(tree: ast.Module) -> list[tuple[str, int]]:
    """``(qualified name, lines)`` of every function and method, nested ones included."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.end_lineno - child.lineno + 1))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def measure(repo: Path = REPO) -> dict[str, tuple[int, int]]:
    """``{entry: (lines, limit)}`` of every module and function over its limit (see :data:`KNOWN_OVER`)."""
    over: dict[str, tuple[int, int]] = {}
    for package in PACKAGES:
        for path in sorted((repo / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(repo).as_posix()
            lines = len(text.splitlines())
            if lines > MAX_MODULE_LINES:
                over[relative] = (lines, MAX_MODULE_LINES)
            for name, size in _functions(ast.parse(text, str(path))):
                if size > MAX_FUNCTION_LINES:
                    over[f"{relative}:{name}"] = (size, MAX_FUNCTION_LINES)
    return over


def format_table(over: dict[str, tuple[int, int]]) -> str:
    """One row per entry: lines, limit, and the entry (``path`` or ``path:function``)."""
    rows = [f"{'lines':>6} {'limit':>6}  module or function", f"{'-' * 6} {'-' * 6}  {'-' * 40}"]
    rows += [f"{lines:>6} {limit:>6}  {entry}" for entry, (lines, limit) in sorted(over.items())]
    return "\n".join(rows)


def test_no_module_or_function_over_its_limit():
    new = {entry: size for entry, size in measure().items() if entry not in KNOWN_OVER}
    assert not new, (
        f"over the limits ({MAX_MODULE_LINES} lines a module, {MAX_FUNCTION_LINES} a function):\n"
        f"{format_table(new)}\n"
        "split each by concern (a module into modules that each hold one thing, a function by extracting "
        "well-named helpers), never into arbitrary halves; python -m tests.test_code_size lists them all"
    )


def test_the_known_over_list_only_shrinks():
    over = measure()
    fitting = sorted(entry for entry in KNOWN_OVER if entry not in over)
    assert not fitting, (
        "these KNOWN_OVER entries fit their limit now (or no longer exist): remove them from "
        f"tests/test_code_size.py so that they stay within it:\n" + "\n".join(f"  {entry}" for entry in fitting)
    )


def test_the_reader_measures_defs_without_decorators_and_qualifies_methods():
    tree = ast.parse("@decorator\ndef f():\n    pass\n\n\nclass C:\n    def m(self):\n        def inner():\n"
                     "            pass\n        return inner\n")
    assert _functions(tree) == [("f", 2), ("C.m", 4), ("C.m.inner", 2)]


def main() -> int:
    over = measure()
    print(format_table(over))
    print(f"{len(over)} over the limits; {len(set(over) - KNOWN_OVER)} of them not in KNOWN_OVER")
    return 1 if set(over) - KNOWN_OVER else 0


if __name__ == "__main__":
    sys.exit(main())
