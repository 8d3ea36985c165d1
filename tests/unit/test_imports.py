"""Import hygiene: the modules of ``webapp/`` never import each other in a cycle.

Every import statement counts, at module level or inside a function: an import put in
a function to dodge a cycle still leaves the cycle (the two modules still need each
other, only later). Imports under ``if TYPE_CHECKING:`` never run and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module under ``root/webapp``."""
    modules = {}
    for path in sorted((root / "webapp").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if package else parts)] = (path, package)
    return modules


def _import_nodes(tree: ast.Module):
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path = ROOT) -> nx.DiGraph:
    """Module -> module it imports (``from a import b`` names ``a.b`` when it is a module)."""
    modules = _modules(root)
    graph = nx.DiGraph()
    for name, (path, package) in modules.items():
        graph.add_node(name)
        here = name if package else name.rpartition(".")[0]
        for node in _import_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    parts = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """One cycle of each group of modules that import each other, shortest first."""
    found = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1:
            found.append(nx.find_cycle(graph.subgraph(group)))
    return sorted(([a for a, _ in cycle] for cycle in found), key=len)


def test_no_import_cycle_between_webapp_modules():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in found)


def test_live_events_is_a_leaf():
    graph = import_graph()
    assert "webapp.live.events" in graph
    assert list(graph.successors("webapp.live.events")) == [], "it imports nothing of webapp"


def test_a_cycle_hidden_in_a_function_is_found(tmp_path):
    package = tmp_path / "webapp"
    (package / "services").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "services" / "__init__.py").write_text("")
    (package / "realtime.py").write_text("def f():\n    from webapp.services import kiosk\n")
    (package / "services" / "kiosk.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from webapp import extensions\n"
        "def revoke():\n    from webapp import realtime\n"
    )
    (package / "extensions.py").write_text("from .services import kiosk\n")
    (cycle,) = cycles(import_graph(tmp_path))
    assert sorted(cycle) == ["webapp.realtime", "webapp.services.kiosk"], "not the typing one"
