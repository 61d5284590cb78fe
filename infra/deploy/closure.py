"""What one function ships: the ``common/`` modules it can reach, and the requirements they import.

A staged function holds its **import closure**: start from the function's folder
(``functions/<name>/*.py``) and the service the inventory names, and follow every import
statically (AST): top-level and lazy ones (inside functions), relative ones, and the
``"common.module:attr"`` strings that backends and services are loaded by
(``common/backends.py``, ``common/inventory.py``). Importing a module runs its package's
``__init__`` first, so every parent package is part of the closure too. Non-Python files next
to a shipped package (templates, static files, the builtin models) ship with it, and
``migrations/`` ships with ``common.sql``, which reads it.

Each third-party import maps to requirement lines through :data:`REQUIREMENTS`, the one map
from import name to distribution; the pins stay in ``requirements.txt``. An import the map
does not know stops staging with the module and line that needs it.

:data:`TOOLS` defines the tools side of ``common`` (the CLI, training, the legacy import, the
synthetic data, the demo): what runs on a workstation and never in a function.
``tests/test_structure.py`` checks that no function reaches it.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from common import inventory
from common.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "common"  # the shared code a function may import (the repo's other folders never ship)

#: module-name patterns of the tools side: workstation code no function may reach
TOOLS: tuple[str, ...] = (
    "common.cli",
    "common.cli.*",
    "common.training",
    "common.training.*",
    "common.registry.legacy_import",
    "common.data.synth",
    "common.data.synth_*",
    "infra.demo",
    "infra.demo.*",
)

#: import name (or dotted prefix; the longest one wins) → the requirements.txt distributions it needs
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "functions_framework": ("functions-framework",),
    "flask": ("functions-framework",),  # Flask and Werkzeug come with functions-framework
    "werkzeug": ("functions-framework",),
    "cloudevents": ("cloudevents",),
    "google.events": ("google-events",),
    "google.protobuf": ("google-events",),  # protobuf comes with google-events
    "google.cloud.pubsub_v1": ("google-cloud-pubsub",),
    "google.cloud.bigquery": ("google-cloud-bigquery",),
    "google.cloud.storage": ("google-cloud-storage",),
    # api_core and auth come with whichever google-cloud client the same module imports
    "google.api_core": (),
    "google.auth": (),
    "catboost": ("catboost",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "pandas": ("pandas",),
    "duckdb": ("duckdb", "pytz"),  # DuckDB hands timezone-aware timestamps to pandas through pytz
    "sqlglot": ("sqlglot",),
    "slack_sdk": ("slack-sdk",),
    "jinja2": ("Jinja2",),
    "markupsafe": ("Jinja2",),  # comes with Jinja2
    "rich": ("rich",),
    "tqdm": ("tqdm",),
    "matplotlib": ("matplotlib",),
}
ALWAYS = ("functions-framework",)  # the runtime that serves every function
#: repo folders a module reads at run time, shipped next to ``common/`` when it is in the closure
DATA_DIRS: dict[str, tuple[str, ...]] = {"common.sql": ("migrations",)}
_REFERENCE = re.compile(r"(common(?:\.\w+)+)(?::\w+)?")
_SKIP = {"__pycache__"}


def is_tool(module: str) -> bool:
    """Is ``module`` (a dotted name) on the tools side (:data:`TOOLS`)?"""
    return any(fnmatchcase(module, pattern) for pattern in TOOLS)


@dataclass(frozen=True)
class Import:
    """One import of ``source``: the dotted ``name`` at ``line``; a ``reference`` is a
    ``"common.module:attr"`` string, a module loaded by name when it is called for."""

    source: str
    name: str
    line: int
    reference: bool = False


@dataclass
class Tree:
    """The importable modules under some roots: dotted name → file."""

    files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def of(cls, root: Path = REPO_ROOT, extra: Path | None = None) -> Tree:
        """``PACKAGE`` under ``root``, plus the top-level modules of ``extra`` (a function folder)."""
        tree = cls()
        for path in _python_files(root / PACKAGE):
            tree.files[_dotted(path.relative_to(root))] = path
        if extra is not None:
            for path in _python_files(extra):
                tree.files[_dotted(path.relative_to(extra))] = path
        return tree

    def resolve(self, name: str, reference: bool = False) -> str | None:
        """The module ``name`` refers to: itself, or (unless a ``reference``, which names a module
        exactly) the longest prefix that is a module here."""
        if reference:
            return name if name in self.files else None
        bits = name.split(".")
        for n in range(len(bits), 0, -1):
            if (candidate := ".".join(bits[:n])) in self.files:
                return candidate
        return None

    def is_package(self, module: str) -> bool:
        return self.files[module].name == "__init__.py"

    def imports(self, module: str) -> tuple[Import, ...]:
        path = self.files[module]
        stat = path.stat()  # a file changed since it was parsed is parsed again
        return _parsed(path, module, self.is_package(module), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _parsed(path: Path, module: str, is_package: bool, _mtime_ns: int, _size: int) -> tuple[Import, ...]:
    return tuple(imports_of(path, module, is_package))


def _python_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        if not _SKIP & set(path.relative_to(folder).parts) and not path.name.startswith(("test_", ".")):
            yield path


def _dotted(relative: Path) -> str:
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str, is_package: bool = False) -> Iterator[Import]:
    """Every import in ``path`` at any depth, relative ones made absolute, plus ``common.*`` strings;
    not those under ``if TYPE_CHECKING:``, which never run.

    ``from a import b`` yields ``a.b`` (``b`` may be a module or a name in ``a``: resolve it).
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (Import(module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base != "__future__":
                yield from (Import(module, f"{base}.{a.name}" if base else a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _REFERENCE.fullmatch(node.value):
            yield Import(module, node.value.partition(":")[0], node.lineno, reference=True)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` (their ``else`` runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else test.id if isinstance(test, ast.Name) else ""
    return name == "TYPE_CHECKING"


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    bits = package.split(".") if package else []
    if node.level - 1 > len(bits):
        raise ConfigError(f"relative import beyond the top package in {package or 'a top-level module'}")
    base = bits[: len(bits) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def closure(tree: Tree, entries: Iterable[str]) -> set[str]:
    """Every module of ``tree`` that importing ``entries`` can load (parent packages included)."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parent = module.rpartition(".")[0]
        if parent and parent in tree.files:
            todo.append(parent)
        todo.extend(r for i in tree.imports(module) if (r := tree.resolve(i.name, i.reference)) and r not in seen)
    return seen


def externals(tree: Tree, modules: Iterable[str]) -> list[Import]:
    """The third-party imports of ``modules``: neither in ``tree`` nor in the standard library."""
    found = []
    for module in sorted(modules):
        for imp in tree.imports(module):
            top = imp.name.split(".")[0]
            if not imp.reference and tree.resolve(imp.name) is None and top not in (*sys.stdlib_module_names, PACKAGE):
                found.append(imp)
    return found


def distributions(imports: Iterable[Import]) -> list[str]:
    """The distributions ``imports`` need (plus :data:`ALWAYS`), in first-seen order."""
    wanted = dict.fromkeys(ALWAYS)
    for imp in imports:
        bits = imp.name.split(".")
        key = next((k for n in range(len(bits), 0, -1) if (k := ".".join(bits[:n])) in REQUIREMENTS), None)
        if key is None:
            raise ConfigError(
                f"{imp.source} (line {imp.line}) imports {imp.name}, which no requirement provides: "
                "add its distribution to REQUIREMENTS in infra/deploy/closure.py"
            )
        wanted.update(dict.fromkeys(REQUIREMENTS[key]))
    return list(wanted)


def requirement_lines(names: Iterable[str], root: Path = REPO_ROOT) -> list[str]:
    """The pinned lines of requirements.txt for the distributions ``names``, in the file's order."""
    lines = {}
    for line in (root / "requirements.txt").read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if spec:
            lines[_normal(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0])] = line
    missing = [n for n in names if _normal(n) not in lines]
    if missing:
        raise ConfigError(f"requirements.txt pins none of: {', '.join(missing)} (needed by the staged code)")
    wanted = {_normal(n) for n in names}
    return [line for key, line in lines.items() if key in wanted]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Shipment:
    """What ``dist/<function>/`` holds besides the function's own folder."""

    function: str
    modules: tuple[str, ...]  # the closure's modules of PACKAGE, sorted
    files: tuple[str, ...]  # repo-relative files to copy: those modules, their data, DATA_DIRS
    requirements: tuple[str, ...]  # requirements.txt lines, in the file's order


def shipment(name: str, root: Path = REPO_ROOT) -> Shipment:
    """The closure of function ``name`` (its folder's modules and its inventory service)."""
    folder = root / "functions" / name
    if not (folder / "main.py").is_file():
        raise ConfigError(f"functions/{name}/main.py not found: nothing to stage for {name!r}")
    tree = Tree.of(root, folder)
    entries = [m for m in tree.files if m.split(".")[0] != PACKAGE]
    listed = [fn for fn in inventory.FUNCTIONS if fn.name == name]
    if listed and listed[0].service:
        entries.append(listed[0].service.partition(":")[0])
    modules = closure(tree, entries)
    requirements = requirement_lines(distributions(externals(tree, modules)), root)
    shipped = sorted(m for m in modules if m.split(".")[0] == PACKAGE)
    files = [tree.files[m].relative_to(root).as_posix() for m in shipped]
    for package in (m for m in shipped if tree.is_package(m)):
        files.extend(_data_files(tree.files[package].parent, root))
    for module, folders in DATA_DIRS.items():
        if module in modules:
            files.extend(p.relative_to(root).as_posix() for d in folders for p in _data_files_all(root / d))
    return Shipment(name, tuple(shipped), tuple(sorted(files)), tuple(requirements))


def _data_files(package_dir: Path, root: Path) -> Iterator[str]:
    """Non-Python files of a package, and everything under its subfolders that are not packages."""
    for path in sorted(package_dir.iterdir()):
        if path.name in _SKIP or path.name.startswith("."):
            continue
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            yield path.relative_to(root).as_posix()
        elif path.is_dir() and not (path / "__init__.py").exists():
            yield from (p.relative_to(root).as_posix() for p in _data_files_all(path))


def _data_files_all(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        parts = set(path.relative_to(folder).parts)
        hidden = _SKIP & parts or any(p.startswith(".") for p in parts)
        if path.is_file() and not hidden and path.suffix != ".pyc":
            yield path
