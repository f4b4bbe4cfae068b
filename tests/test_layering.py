"""How the apps depend on each other (issue 15): the audit app imports nothing of the
catalog, and no two modules import each other. Every import counts, also one inside a
function (a function-local import hides a cycle, it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("audit", "catalog", "project")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (the longest known module of each name)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            for target in _imported(node, name, path.name == "__init__.py"):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def test_the_audit_app_imports_nothing_of_the_catalog():
    graph = import_graph()
    crossing = sorted(
        (source, target)
        for source, targets in graph.items()
        if source.startswith("audit")
        for target in targets
        if target.startswith("catalog")
    )
    assert crossing == []


def test_no_two_modules_import_each_other():
    graph = import_graph()
    mutual = {
        tuple(sorted((source, target)))
        for source, targets in graph.items()
        for target in targets
        if source in graph.get(target, ())
    }
    assert mutual == set()
