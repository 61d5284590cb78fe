"""The shape rules of the house style, checked on the tree: small modules and functions,
no import cycle in ``common/`` (between modules, and between subpackages and top-level
modules), no runtime code (what a function reaches) importing tools code (CLI, training,
legacy import, synthetic data, demo), and ``common/`` never reaching into ``functions/``,
``infra/``, ``tests/`` or ``bench/``. The import graph is :mod:`infra.deploy.closure`'s, the one
the staging ships by."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from common import inventory
from infra.deploy.closure import Tree, is_tool, shipment

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
CHECKED = ("common", "functions", "infra")


def _modules() -> list[Path]:
    return sorted(p for top in CHECKED for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


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
    tree = Tree.of(ROOT)
    offenders = {
        f"{tree.files[m].relative_to(ROOT)}:{imp.line}": imp.name
        for m in tree.files
        for imp in tree.imports(m)
        if imp.name.split(".")[0] in ("functions", "infra", "tests", "bench")
    }
    assert offenders == {}


def _graph(granularity: Callable[[str], str]) -> dict[tuple[str, str], list[str]]:
    """Edges node → node of ``common`` (each module mapped by ``granularity``), each with the imports
    that make it ("common/x.py:12 imports common.y"). Every import counts, lazy ones too; not a
    ``"module:attr"`` string a backend or service is loaded by when called for, nor ``if TYPE_CHECKING:``."""
    tree = Tree.of(ROOT)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in tree.files:
        for imp in tree.imports(module):
            target = tree.resolve(imp.name, imp.reference)
            if target and not imp.reference and granularity(target) != granularity(module):
                where = f"{tree.files[module].relative_to(ROOT)}:{imp.line} imports {imp.name}"
                edges[granularity(module), granularity(target)].append(where)
    return edges


def _cycles(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    """Each cycle once, as its path with the first import of each step."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    found: dict[frozenset[str], str] = {}
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start and frozenset(path) not in found:
                    steps = zip(path, [*path[1:], start], strict=True)
                    found[frozenset(path)] = " → ".join(edges[step][0] for step in steps)
                elif nxt not in path and nxt > start:  # each cycle from its smallest node only
                    stack.append((nxt, [*path, nxt]))
    return sorted(found.values())


def test_no_import_cycle_between_common_modules() -> None:
    """Every module of ``common`` (top-level ones included): no cycle between modules."""
    cycles = _cycles(_graph(lambda module: module))
    assert not cycles, "import cycles between modules:\n" + "\n".join(cycles)


def test_no_import_cycle_between_common_subpackages() -> None:
    """Each subpackage of ``common`` one node, each top-level module its own node: no cycle."""
    cycles = _cycles(_graph(lambda module: ".".join(module.split(".")[:2])))
    assert not cycles, "import cycles between subpackages / top-level modules:\n" + "\n".join(cycles)


def test_no_runtime_code_imports_tools_code() -> None:
    """Runtime = every module a function reaches (its staged closure); tools = TOOLS (the CLI,
    training, the legacy import, the synthetic data, the demo). No runtime module imports a tool."""
    tree = Tree.of(ROOT)
    runtime = {m for fn in inventory.FUNCTIONS for m in shipment(fn.name).modules}
    offenders = [
        f"{tree.files[m].relative_to(ROOT)}:{imp.line} imports {target} (tools code; runtime modules may not)"
        for m in sorted(runtime)
        if not is_tool(m)  # the way in names the offence; what the tool imports in turn does not
        for imp in tree.imports(m)
        if (target := tree.resolve(imp.name, imp.reference)) and is_tool(target)
    ]
    assert not offenders, "runtime code imports tools code:\n" + "\n".join(offenders)
    assert "common.worker.worker" in runtime and "common.cli.main" in tree.files  # both sides are really there
