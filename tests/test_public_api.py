"""The zoo reads no private attribute of a Lightning object, and its entry points never probe a model.

* **Public Lightning API only.** A private attribute (``obj._name``, ``getattr(obj, "_name")``) read in
  ``zoo/`` whose name Lightning defines privately (``self._name = ...`` or ``def _name`` anywhere in the
  installed ``lightning`` package) and the zoo does not define itself is an error: such names change
  without notice between Lightning releases (``fit_loop.epoch_loop._batches_that_stepped``,
  ``trainer._logger_connector``, ``strategy._ddp_kwargs``, ``module._trainer`` were all read once).
* **Declared, not probed.** In the entry points, callbacks and benchmarks, ``hasattr(model, ...)`` and
  ``getattr(model, ..., default)`` on a model (or model class) are errors: what a model is and can do is
  its class's ``capabilities`` (docs/architecture.md#declared-capabilities). ``getattr(model, name)``
  without a default (a network named in ``networks``) is a lookup, not a probe.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import lightning

from tests.conftest import REPO

ZOO = sorted((REPO / "zoo").rglob("*.py"))
ENTRY_POINTS = sorted([*(REPO / "zoo").glob("*.py"), *(REPO / "zoo" / "callbacks").glob("*.py"),
                       *(REPO / "benchmarks").glob("*.py"), REPO / "hubconf.py"])
MODEL_EXPRESSION = re.compile(r"(^|\.)(\w*model\w*|\w*module\w*|cls|trained)$", re.I)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def defined_private_names(paths) -> set[str]:
    """Private names a body of code defines: ``self._x = ...`` (also annotated / augmented), ``def _x``,
    and class-level ``_x = ...``."""
    names: set[str] = set()
    for path in paths:
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
                names.add(node.name)
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            if (isinstance(node, ast.Call) and ast.unparse(node.func) in ("setattr", "object.__setattr__")
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                    and isinstance(node.args[1].value, str) and _private(node.args[1].value)):
                names.add(node.args[1].value)
            for target in targets:
                if isinstance(target, ast.Attribute) and _private(target.attr):
                    names.add(target.attr)
                elif isinstance(target, ast.Name) and _private(target.id):
                    names.add(target.id)
    return names


def private_reads(path: Path) -> list[tuple[int, str, str]]:
    """``(line, name, expression)`` for every private attribute read in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.ctx, ast.Load):
            found.append((node.lineno, node.attr, ast.unparse(node)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value)):
            found.append((node.lineno, node.args[1].value, ast.unparse(node)))
    return found


def model_probes(path: Path) -> list[str]:
    """``hasattr(model, ...)`` / ``getattr(model, ..., default)`` calls on a model expression in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        probe = node.func.id == "hasattr" or (node.func.id == "getattr" and len(node.args) == 3)
        target = ast.unparse(node.args[0])
        if probe and MODEL_EXPRESSION.search(target) and "datamodule" not in target.lower():
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    return found


@functools.lru_cache(maxsize=1)
def lightning_private_names() -> frozenset[str]:
    return frozenset(defined_private_names(Path(lightning.__file__).parent.rglob("*.py")))


def test_no_private_attribute_of_lightning_is_read_in_zoo():
    lightning_private = lightning_private_names()
    ours = defined_private_names(ZOO)
    offenders = [f"{path.relative_to(REPO)}:{line}: {expression}"
                 for path in ZOO for line, name, expression in private_reads(path)
                 if name in lightning_private and name not in ours]
    assert offenders == [], "private Lightning attributes read (use the public API, or count it yourself):\n" \
        + "\n".join(offenders)


def test_the_checker_sees_what_it_must():
    """Guard the checker: the reads this test exists to stop are found, the zoo's own privates are not."""
    lightning_private = lightning_private_names()
    assert {"_batches_that_stepped", "_logger_connector", "_ddp_kwargs", "_trainer"} <= lightning_private
    assert "_ddp" in defined_private_names(ZOO)  # GANModule's own wrappers: not Lightning's
    sample = Path(__file__).with_name("fixture_private_reads.txt")
    sample.write_text("x = trainer.fit_loop.epoch_loop._batches_that_stepped\ny = getattr(t, '_logger_connector', None)\n")
    try:
        assert [name for _, name, _ in private_reads(sample)] == ["_batches_that_stepped", "_logger_connector"]
    finally:
        sample.unlink()


def test_entry_points_and_callbacks_never_probe_a_model():
    offenders = [probe for path in ENTRY_POINTS for probe in model_probes(path)]
    assert offenders == [], "declare it in the model's capabilities (or a method every model has):\n" \
        + "\n".join(offenders)


def test_the_probe_checker_sees_a_probe(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("a = hasattr(module, 'translate')\nb = getattr(cli.model, 'needs_labels', False)\n"
                      "c = getattr(pl_module, name)\nd = hasattr(datamodule_x, 'root')\n")
    sample = sample.rename(REPO / "tests" / "_probe_sample.py")
    try:
        found = model_probes(sample)
    finally:
        sample.unlink()
    assert [f.split(": ", 1)[1] for f in found] == ["hasattr(module, 'translate')",
                                                    "getattr(cli.model, 'needs_labels', False)"]
