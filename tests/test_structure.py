"""The shape rules of the house style, checked on the tree: small modules and functions,
no import cycle between ``common/`` subpackages, and ``common/`` (what every function
deploys) never reaching into ``functions/``, ``infra/``, ``tests/`` or ``bench/``."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
CHECKED = ("common", "functions", "infra")


def _modules() -> list[Path]:
    return sorted(p for top in CHECKED for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_modules_stay_small() -> None:
    long = {
        str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_functions_stay_small() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert long == {}


def test_common_never_imports_the_deployment_shell() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in _imports(p) if m.split(".")[0] in ("functions", "infra", "tests", "bench")
        )
        for p in (ROOT / "common").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycle_between_common_subpackages() -> None:
    """Edges package → package from every import, at any depth (lazy imports count too)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in (ROOT / "common").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        source = parts[1] if len(parts) > 2 else "<top>"
        for name in _imports(path):
            bits = name.split(".")
            inside = bits[0] == "common" and len(bits) > 2 and (ROOT / "common" / bits[1]).is_dir()
            if inside and bits[1] != source:
                graph[source].add(bits[1])
    cycles = []
    for start in list(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" → ".join([*path, nxt]))
                elif nxt not in path:
                    stack.append((nxt, [*path, nxt]))
    assert sorted(set(cycles)) == []
