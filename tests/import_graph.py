"""The import graph of the project's own packages, read from the source (no module is imported).

An edge ``M -> T`` means "importing or running M may load T":

* every ``import`` / ``from ... import`` of a project module, at module level or
  inside a function or method (a deferred import is still a dependency);
* importing ``a.b.c`` from outside package ``a`` first runs ``a/__init__.py``
  (and ``a/b/__init__.py``), so M also loads what those package ``__init__``
  files import *at module level*. (Their function-level imports run only when
  called; ``zoo/__init__.py`` resolves its public names lazily that way.)

:data:`LAYERS` is the architecture of docs/architecture.md#layers; every module
belongs to the layer of its longest listed prefix. ``tests/test_architecture.py``
fails on a cycle, an upward edge or a module in no layer;
``python -m tests.import_graph --picture docs/images/architecture_layers.png``
draws the layers and the measured edges between them.
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("zoo", "datamodules", "benchmarks")
TOP_LEVEL_MODULES = ("hubconf",)  # single files at the repository root, when present

#: (layer name, what it is, module prefixes); lowest first. Imports may point down or sideways only.
LAYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("core", "plain torch: networks, losses, metrics, images, weights files, the registries",
     ("zoo.registry", "zoo.paths", "zoo.random_state", "zoo.nn", "zoo.losses", "zoo.metrics", "zoo.images", "zoo.weights",
      "zoo.state_dicts", "zoo.precision")),
    ("data", "DataModules (Lightning), by name", ("datamodules",)),
    ("models", "GANModule and one file per variant; loading", (
        "zoo.strategies", "zoo.models", "zoo.checkpoints", "zoo.api")),
    ("training", "callbacks, loggers, checkpoint files", ("zoo.callbacks", "zoo.loggers", "zoo.checkpoint_io")),
    ("entry points", "commands, the package facade, benchmarks", (
        "zoo.fit", "zoo.fit_cli", "zoo.fit_setup", "zoo.help_cache", "zoo.resume", "zoo.commands", "zoo.evaluate", "zoo.translate", "zoo.translation_files", "zoo.sample",
        "zoo.export", "zoo", "benchmarks", "hubconf")),
)


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    eager: set[str] = field(default_factory=set)  # imported when the module is imported
    deferred: set[str] = field(default_factory=set)  # imported inside functions


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def find_modules(repo: Path = REPO) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    files = [p for package in PACKAGES for p in sorted((repo / package).rglob("*.py"))]
    files += [repo / f"{name}.py" for name in TOP_LEVEL_MODULES if (repo / f"{name}.py").is_file()]
    for path in files:
        name = _module_name(path)
        modules[name] = Module(name, path, path.name == "__init__.py")
    return modules


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, module: Module, known: dict[str, Module]) -> None:
        self.module, self.known, self.depth = module, known, 0

    def _resolve(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts:
            if ".".join(parts) in self.known:
                return ".".join(parts)
            parts.pop()
        return None

    def _add(self, dotted: str) -> None:
        target = self._resolve(dotted)
        if target is not None and target != self.module.name:
            (self.module.deferred if self.depth else self.module.eager).add(target)

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return  # never runs
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.name.split(".")
            if not self.module.is_package:
                base = base[:-1]
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:  # `from pkg import submodule` imports the submodule
            if self._resolve(f"{source}.{alias.name}") == f"{source}.{alias.name}":
                self._add(f"{source}.{alias.name}")
            else:
                self._add(source)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def build_graph(repo: Path = REPO) -> dict[str, set[str]]:
    """``{module: modules it may load}`` (see the module docstring for the rules)."""
    modules = find_modules(repo)
    for module in modules.values():
        _ImportVisitor(module, modules).visit(ast.parse(module.path.read_text(), str(module.path)))
    graph: dict[str, set[str]] = {}
    for name, module in modules.items():
        edges = set(module.eager | module.deferred)
        for target in list(edges):
            for parent in _parents(target):
                if parent in modules and not name.startswith(parent + "."):
                    edges |= modules[parent].eager  # running the package __init__ first
        edges.discard(name)
        graph[name] = edges
    return graph


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of the longest prefix matching ``module``."""
    best, best_length = None, -1
    for index, (_, _, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    """``"M (layer) -> T (layer)"`` for every edge into a higher layer."""
    bad = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            ls, lt = layer_of(source), layer_of(target)
            if ls is not None and lt is not None and lt > ls:
                bad.append(f"{source} ({LAYERS[ls][0]}) -> {target} ({LAYERS[lt][0]})")
    return bad


def layer_edges(graph: dict[str, set[str]]) -> Counter:
    """How many module edges go from each layer to each other layer (``(from, to) -> count``)."""
    counts: Counter = Counter()
    for source, targets in graph.items():
        for target in targets:
            ls, lt = layer_of(source), layer_of(target)
            if ls is not None and lt is not None and ls != lt:
                counts[ls, lt] += 1
    return counts


def draw_layers(graph: dict[str, set[str]], path: Path) -> None:
    """A PNG of the layers (top: entry points) and the measured edges between them (Pillow only).

    Boxes on the left; on the right one downward arrow per pair of layers, labelled with the
    number of module-to-module imports it stands for. No arrow points up: that is the rule.
    """
    from PIL import Image, ImageDraw, ImageFont

    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    box_w, box_h, gap, margin, column = 560, 70, 40, 20, 44
    counts = layer_edges(graph)
    n = len(LAYERS)
    width = margin * 3 + box_w + column * max(len(counts), 1)
    height = margin * 2 + n * box_h + (n - 1) * gap
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    members = Counter(layer_of(m) for m in graph)
    top = {index: margin + (n - 1 - index) * (box_h + gap) for index in range(n)}
    for index, (name, what, prefixes) in enumerate(LAYERS):
        y = top[index]
        draw.rounded_rectangle([margin, y, margin + box_w, y + box_h], radius=10,
                               outline=(40, 70, 120), width=2, fill=(232, 240, 252))
        draw.text((margin + 12, y + 8), f"{name} ({members[index]} modules)", fill=(20, 30, 60), font=font)
        draw.text((margin + 12, y + 30), what, fill=(60, 60, 60), font=small)
        shown = ", ".join(p for p in prefixes if any(m == p or m.startswith(p + ".") for m in graph))
        draw.text((margin + 12, y + 48), shown, fill=(60, 60, 60), font=small)
    x = margin * 2 + box_w + column // 2
    for (source, target), count in sorted(counts.items(), key=lambda item: (-item[0][0], -item[0][1])):
        y0, y1 = top[source] + box_h // 2, top[target] + box_h // 2
        draw.line([margin + box_w, y0, x, y0], fill=(170, 170, 170), width=1)
        draw.line([x, y0, x, y1], fill=(120, 40, 40), width=2)
        draw.line([x, y1, margin + box_w + 6, y1], fill=(120, 40, 40), width=2)
        draw.polygon([(margin + box_w, y1), (margin + box_w + 9, y1 - 5), (margin + box_w + 9, y1 + 5)],
                     fill=(120, 40, 40))
        draw.text((x + 4, y1 - 16), str(count), fill=(120, 40, 40), font=small)
        x += column
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def layer_table(graph: dict[str, set[str]]) -> str:
    """The layers and which lower layers each imports, as text (the block in docs/architecture.md).
    Edge counts change with every import; they are in the picture, not in this block."""
    counts = layer_edges(graph)
    lines = []
    for index in reversed(range(len(LAYERS))):
        name, _, prefixes = LAYERS[index]
        uses = ", ".join(LAYERS[t][0] for t in reversed(range(index)) if counts[index, t])
        lines.append(f"{name:<13} {' '.join(prefixes)}")
        lines.append(f"{'':<13} imports: {uses or 'nothing of the project'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picture", type=Path, help="write the layer picture (PNG) here")
    args = parser.parse_args()
    graph = build_graph()
    print(layer_table(graph))
    print(f"cycles: {cycles(graph) or 'none'}; upward edges: {upward_edges(graph) or 'none'}")
    if args.picture:
        draw_layers(graph, args.picture)
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
