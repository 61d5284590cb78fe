"""Staging: one self-contained source folder per function, ``dist/<function>/``.

Cloud Functions (and Cloud Run from source) upload one folder with ``main.py`` and
``requirements.txt``. Each staged folder gets the function's own files, the pinned
runtime ``requirements.txt``, and the ``common/`` and ``migrations/`` the tests
import (``common/sql.py`` finds migrations next to ``common/``), so a deployed
function runs exactly the code the suite ran. No tests, no caches.

    python -m infra.deploy.stage [--dist dist] [register_model ...]   # default: every function
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from common.errors import AppError, ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py", "*_test.py", ".*")
# gcloud uploads what is not ignored; the staged folder already holds only what must ship.
GCLOUDIGNORE = ".gcloudignore\n__pycache__/\n*.pyc\n"


def available_functions(root: Path = REPO_ROOT) -> list[str]:
    """Function folders with a main.py, sorted."""
    return sorted(p.parent.name for p in (root / "functions").glob("*/main.py"))


def stage_function(source: str, dist: Path, root: Path = REPO_ROOT) -> Path:
    """Build ``dist/<source>/`` from scratch and return it; the old folder is replaced at the end."""
    src = root / "functions" / source
    if not (src / "main.py").is_file():
        raise ConfigError(f"functions/{source}/main.py not found: nothing to stage for {source!r}")
    dist.mkdir(parents=True, exist_ok=True)
    tmp = dist / f".{source}.staging"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=IGNORE)
    shutil.copy2(root / "requirements.txt", tmp / "requirements.txt")
    shutil.copytree(root / "common", tmp / "common", ignore=IGNORE)
    shutil.copytree(root / "migrations", tmp / "migrations", ignore=IGNORE)
    (tmp / ".gcloudignore").write_text(GCLOUDIGNORE)
    out = dist / source
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def stage(sources: Sequence[str], dist: Path, root: Path = REPO_ROOT) -> list[Path]:
    """Stage each of ``sources`` (all of them are checked first, so a typo stages nothing)."""
    missing = [s for s in sources if not (root / "functions" / s / "main.py").is_file()]
    if missing:
        raise ConfigError(f"no functions/<name>/main.py for: {', '.join(missing)}")
    return [stage_function(source, dist, root) for source in sources]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy.stage", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--dist", default=str(REPO_ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("functions", nargs="*", help="folders under functions/ (default: all)")
    args = parser.parse_args(argv)
    dist = Path(args.dist)
    if not dist.is_absolute():
        dist = Path.cwd() / dist
    try:
        for path in stage(args.functions or available_functions(), dist):
            print(f"staged {path}")
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
