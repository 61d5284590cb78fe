"""Staging: one self-contained source folder per function, ``dist/<function>/``.

Cloud Functions (and Cloud Run from source) upload one folder with ``main.py`` and
``requirements.txt``. Each staged folder gets the function's own files and only what they
run (:mod:`infra.deploy.closure`): the ``common/`` modules its import closure reaches, with
their data files, ``migrations/`` when ``common.sql`` is among them (it finds them next to
``common/``), and a ``requirements.txt`` of the pinned lines those modules import. No
tools (CLI, training, synthetic data), no tests, no caches.

    python -m infra.deploy.stage [--dist dist] [register_model ...]   # default: every function
    python -m infra.deploy.stage --list [register_model ...]          # what would ship, nothing written
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from common.errors import AppError, ConfigError
from infra.deploy.closure import REPO_ROOT, Shipment, shipment

FUNCTIONS_DIR = REPO_ROOT / "functions"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py", "*_test.py", ".*")
# gcloud uploads what is not ignored; the staged folder already holds only what must ship.
GCLOUDIGNORE = ".gcloudignore\n__pycache__/\n*.pyc\n"


def available_functions(root: Path = REPO_ROOT) -> list[str]:
    """Function folders with a main.py, sorted."""
    return sorted(p.parent.name for p in (root / "functions").glob("*/main.py"))


def stage_function(source: str, dist: Path, root: Path = REPO_ROOT, shipped: Shipment | None = None) -> Path:
    """Build ``dist/<source>/`` from scratch and return it; the old folder is replaced at the end."""
    src = root / "functions" / source
    if not (src / "main.py").is_file():
        raise ConfigError(f"functions/{source}/main.py not found: nothing to stage for {source!r}")
    dist.mkdir(parents=True, exist_ok=True)
    tmp = dist / f".{source}.staging"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=IGNORE)
    shipped = shipped or shipment(source, root)
    for name in shipped.files:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, tmp / name)
    (tmp / "requirements.txt").write_text("".join(f"{line}\n" for line in shipped.requirements))
    (tmp / ".gcloudignore").write_text(GCLOUDIGNORE)
    out = dist / source
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def stage(sources: Sequence[str], dist: Path, root: Path = REPO_ROOT) -> list[Path]:
    """Stage each of ``sources`` (all of them are checked and resolved first, so a typo stages nothing)."""
    missing = [s for s in sources if not (root / "functions" / s / "main.py").is_file()]
    if missing:
        raise ConfigError(f"no functions/<name>/main.py for: {', '.join(missing)}")
    shipments = [shipment(source, root) for source in sources]  # an unmapped import stages nothing
    return [stage_function(s.function, dist, root, s) for s in shipments]


def describe(path: Path) -> str:
    """One staged folder in a line: where, how many modules (and lines) of ``common``, which requirements."""
    modules = list((path / "common").rglob("*.py"))
    lines = sum(len(p.read_text().splitlines()) for p in modules)
    names = [line.split("==")[0] for line in (path / "requirements.txt").read_text().splitlines()]
    return f"staged {path}: {len(modules)} common modules ({lines} lines); requirements: {', '.join(names)}"


def listing(sources: Sequence[str], root: Path = REPO_ROOT) -> str:
    """What staging would write, per function: every file besides its own folder, then its
    requirements.txt (``--list``: nothing is written)."""
    out = []
    for source in sources:
        shipped = shipment(source, root)
        out.append(f"== {source}: {len(shipped.modules)} common modules, {len(shipped.files)} files")
        out.extend(f"  {name}" for name in shipped.files)
        out.append(f"== {source}/requirements.txt")
        out.extend(f"  {line}" for line in shipped.requirements)
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.stage", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--dist", default=str(REPO_ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--list", action="store_true", help="print what each function would ship; write nothing")
    parser.add_argument("functions", nargs="*", help="folders under functions/ (default: all)")
    args = parser.parse_args(argv)
    dist = Path(args.dist)
    if not dist.is_absolute():
        dist = Path.cwd() / dist
    try:
        if args.list:
            print(listing(args.functions or available_functions()))
            return 0
        for path in stage(args.functions or available_functions(), dist):
            print(describe(path))
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
