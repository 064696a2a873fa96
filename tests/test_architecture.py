"""The layers of docs/architecture.md#layers hold: imports point down (or sideways), never in a cycle."""

from __future__ import annotations

import ast
import re

from tests import import_graph as ig

GRAPH = ig.build_graph()

#: layers that must stay free of Lightning (plain torch: usable outside a Trainer)
PLAIN_TORCH = ("zoo.paths", "zoo.random_state", "zoo.nn", "zoo.losses", "zoo.images", "zoo.weights", "zoo.registry", "zoo.metrics")


def test_the_graph_sees_function_level_and_package_init_imports():
    """Guard the reader itself: a deferred import is an edge, and `datamodules.x -> zoo.images` also loads
    what zoo/__init__ imports at module level (nothing), not its lazy names."""
    assert "zoo.api" in GRAPH["zoo"]  # zoo.__getattr__ imports it inside a function
    assert "zoo.checkpoints" in GRAPH["zoo.api"]
    assert "zoo.images" in GRAPH["datamodules.folders"]
    assert "zoo.api" not in GRAPH["datamodules.folders"]
    assert len(GRAPH) > 50


def test_no_import_cycle():
    assert ig.cycles(GRAPH) == []


def test_every_module_has_a_layer():
    assert [m for m in GRAPH if ig.layer_of(m) is None] == []


def test_no_module_imports_a_layer_above_it():
    assert ig.upward_edges(GRAPH) == []


def test_models_never_import_datamodules():
    assert [f"{m} -> {t}" for m, ts in GRAPH.items() if m.startswith("zoo.models")
            for t in ts if t.startswith("datamodules")] == []


def test_the_plain_torch_layer_never_imports_lightning():
    offenders = []
    for module in ig.find_modules().values():
        if not module.name.startswith(PLAIN_TORCH):
            continue
        for node in ast.walk(ast.parse(module.path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{module.name}: {n}" for n in names if re.match(r"(lightning|pytorch_lightning)\b", n)]
    assert offenders == []


def test_importing_the_data_layer_does_not_load_the_models():
    import subprocess
    import sys

    code = "import sys, datamodules, zoo.nn, zoo.losses; print(sorted(m for m in sys.modules if m.startswith('zoo.models')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ig.REPO)
    assert out.stdout.strip() == "[]"


def test_docs_show_the_measured_layers():
    text = (ig.REPO / "docs" / "architecture.md").read_text()
    assert ig.layer_table(GRAPH) in text, "regenerate with: python -m tests.import_graph (block in docs/architecture.md)"
    assert "images/architecture_layers.png" in text
