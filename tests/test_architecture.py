"""The import structure of the package, read from its own source with :mod:`ast`: imports run one
way, down the layers of ``docs/architecture.md``, and close no circle.

Every ``import infolens...`` / ``from infolens... import ...`` counts, at module level or inside a
function (a function-level import is still a dependency), except those under
``if TYPE_CHECKING:`` (annotations only: nothing is imported at run time). ``from infolens import
name`` counts as an edge to the module that defines ``name`` (the lazy table of
``infolens/__init__.py``). The page lists every module exactly once under its layer, top layer
first; a module may import its own layer or any layer below it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PAGE = ROOT / "docs" / "architecture.md"
_LAYER = re.compile(r"^## (?:\d+\. )?(.+?)\s*$")
_ENTRY = re.compile(r"^- `(infolens(?:\.[\w.]+)?)`")


def modules(src: Path = SRC) -> dict[str, Path]:
    """Dotted name -> file of every module of the package under ``src`` (packages by their
    ``__init__``)."""
    found = {}
    for path in sorted((src / "infolens").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _lazy_names(init: Path) -> dict[str, str]:
    """The ``_LAZY`` table of ``infolens/__init__.py``: public name -> defining module."""
    for node in ast.parse(init.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "_LAZY":
            return ast.literal_eval(node.value)
    return {}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package modules it imports (anywhere in its source but under TYPE_CHECKING)."""
    mods = modules(src)
    lazy = _lazy_names(mods["infolens"])
    graph = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        skipped = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                for alias in node.names:
                    if f"{base}.{alias.name}" in mods:
                        targets.add(f"{base}.{alias.name}")
                    elif base == "infolens" and alias.name in lazy:
                        targets.add(lazy[alias.name])
                    else:
                        targets.add(base)
        graph[name] = {t for t in targets if t in mods and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module."""
    names = sorted(graph)
    index = {n: i for i, n in enumerate(names)}
    rows = [index[a] for a in names for _ in graph[a]]
    cols = [index[b] for a in names for b in graph[a]]
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for name, label in zip(names, labels, strict=True):
        groups.setdefault(int(label), []).append(name)
    return sorted(g for g in groups.values() if len(g) > 1)


def edges_between(graph: dict[str, set[str]], source: str, target: str) -> list[tuple[str, str]]:
    """Edges from modules named ``source`` or under it to modules named ``target`` or under it."""
    def inside(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if inside(a, source) and inside(b, target))


def documented_layers(page: Path = PAGE) -> list[tuple[str, list[str]]]:
    """The layers of the architecture page, top first, each with the modules listed under it."""
    layers: list[tuple[str, list[str]]] = []
    for line in page.read_text().splitlines():
        if (heading := _LAYER.match(line)) is not None:
            layers.append((heading.group(1), []))
        elif (entry := _ENTRY.match(line)) is not None and layers:
            layers[-1][1].append(entry.group(1))
    return layers


def test_the_graph_sees_function_level_imports(tmp_path):
    package = tmp_path / "infolens"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('_LAZY = {"thing": "infolens.low"}\n')
    (package / "low.py").write_text("thing = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from infolens.high import X\n"
        "def f():\n    from . import b\n    from infolens import thing\n")
    (package / "sub" / "b.py").write_text("import infolens.high\n")
    (package / "high.py").write_text("from infolens.sub.a import f\n")
    graph = import_graph(tmp_path)
    assert graph["infolens.sub.a"] == {"infolens.sub.b", "infolens.low"}  # not the TYPE_CHECKING one
    assert circles(graph) == [["infolens.high", "infolens.sub.a", "infolens.sub.b"]]
    assert edges_between(graph, "infolens.sub", "infolens.high") == [("infolens.sub.b", "infolens.high")]


def test_no_import_circle():
    assert circles(import_graph()) == []


def test_experiments_never_import_reports_and_displays_never_import_the_report_package():
    graph = import_graph()
    assert edges_between(graph, "infolens.experiments", "infolens.report") == []
    assert edges_between(graph, "infolens._html", "infolens.report") == []


def test_the_architecture_page_lists_every_module_once():
    listed = [m for _, names in documented_layers() for m in names]
    assert len(documented_layers()) >= 5
    duplicated = sorted({m for m in listed if listed.count(m) > 1})
    assert duplicated == []
    assert sorted(set(modules()) - set(listed)) == [], "modules missing from docs/architecture.md"
    assert sorted(set(listed) - set(modules())) == [], "docs/architecture.md lists modules that do not exist"


def test_imports_run_down_the_layers():
    rank = {m: depth for depth, (_, names) in enumerate(documented_layers()) for m in names}
    upward = sorted((a, b) for a, targets in import_graph().items() for b in targets
                    if a in rank and b in rank and rank[b] < rank[a])
    assert upward == [], "imports that run upward (importer, imported)"
