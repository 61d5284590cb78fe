"""Ship only what runs: each staged function folder (``infra/deploy/stage.py``) holds the
``common/`` modules its import closure reaches and the requirements they import, and runs
from that folder alone.

The run test starts every function with functions-framework from its staged folder, with no
``site`` (the venv's editable install of the repository is not seen) and a PYTHONPATH of the
folder and the installed packages, and sends each a sample event.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from common import inventory
from common.errors import ConfigError
from common.storage import FileBucket
from infra.deploy.closure import REPO_ROOT, TOOLS, Import, distributions, is_tool, shipment
from infra.deploy.stage import available_functions, stage
from infra.deploy.stage import main as stage_main
from infra.local.processes import http
from tests.support.events import pubsub_event, storage_event
from tests.support.fnproc import FunctionProcess, staged_env
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

NAMES = [fn.name for fn in inventory.FUNCTIONS]
# installed here (for the dev tools) and imported when present, but optional for what imports them
OPTIONAL = {"mypy-extensions"}  # sqlglot/helper.py: `try: from mypy_extensions import ...` (mypyc only)
TOOL_PATHS = ("common/cli/", "common/training/", "common/registry/legacy_import.py", "common/data/synth")


@pytest.fixture(scope="module")
def dist() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dist-") as tmp:
        out = Path(tmp) / "dist"
        stage(available_functions(), out)
        yield out


def shipped(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def requirement_names(folder: Path) -> list[str]:
    lines = (folder / "requirements.txt").read_text().splitlines()
    return [re.split(r"[=<>~ ]", line, maxsplit=1)[0] for line in lines]


# -- what each folder holds -------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_staged_folder_holds_its_closure_and_no_tools(dist: Path, name: str) -> None:
    folder = dist / name
    files = shipped(folder)
    plan = shipment(name)
    assert files == {"main.py", "requirements.txt", ".gcloudignore", *plan.files}
    assert not [f for f in files if f.startswith(TOOL_PATHS)], "a tools module shipped"
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f]
    assert {"common/__init__.py", "common/errors.py", "common/settings.py", "common/log.py"} <= files
    assert ("common/worker/worker.py" in files) == (name == "predict")
    assert ("common/dashboard/web.py" in files) == (name == "dashboard")
    assert ("common/dashboard/templates/models.html" in files) == (name == "dashboard")
    if "common/registry/fallback.py" in files:  # it reads the builtin models next to it
        assert "common/registry/builtin_models.json" in files
    if "common/sql.py" in files:  # it finds the migrations next to common/
        assert {f"migrations/{p.name}" for p in (REPO_ROOT / "migrations").glob("*.sql")} <= files
    function = inventory.function(name)
    if function.service:  # the service the inventory names ships (and what it reaches)
        assert function.service.partition(":")[0].replace(".", "/") + ".py" in files
    assert (folder / ".gcloudignore").read_text().startswith(".gcloudignore\n")


@pytest.mark.parametrize("name", NAMES)
def test_each_function_gets_its_own_requirements(dist: Path, name: str) -> None:
    lines = (dist / name / "requirements.txt").read_text().splitlines()
    pinned = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    assert lines and set(lines) <= set(pinned), "every line is a pinned line of requirements.txt"
    names = requirement_names(dist / name)
    assert names[0] == "functions-framework" and "rich" not in names and "tqdm" not in names
    assert ("Jinja2" in names) == (name == "dashboard")
    assert {"google-cloud-bigquery", "duckdb", "pytz", "sqlglot"} <= set(names)  # both registry engines


def test_predict_no_longer_ships_the_synthetic_generator(dist: Path) -> None:
    files = shipped(dist / "predict")
    assert {"common/worker/predictions.py", "common/data/store.py", "common/data/season.py"} <= files
    assert not [f for f in files if f.startswith("common/data/synth")]


@pytest.mark.parametrize("name", NAMES)
def test_every_staged_module_imports_from_the_folder_alone(dist: Path, name: str) -> None:
    """Import every shipped module with no ``site``: nothing may come from the repository, and
    every installed distribution the imports load must be a requirement (or one's dependency)."""
    folder = dist / name
    code = (
        "import importlib, json, pkgutil, sys, main, common, common.sql\n"
        f"assert callable(getattr(main, {name!r}))\n"
        "mods = [importlib.import_module(m.name) for m in pkgutil.walk_packages(common.__path__, 'common.')]\n"
        "from importlib import metadata\n"
        "dists = metadata.packages_distributions()\n"
        "tops = {n.split('.')[0] for n in sys.modules} - {'common', 'main'}\n"
        "ours = [m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'common']\n"
        "used = sorted({d for t in tops for d in dists.get(t, [])})\n"
        "print(json.dumps({'common': ours, 'migrations': str(common.sql.MIGRATIONS_DIR), 'dists': used}))"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", code], cwd=folder, env=staged_env(folder), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    assert all(Path(f).is_relative_to(folder) for f in out["common"]), "a module came from outside the folder"
    assert Path(out["migrations"]) == folder / "migrations"
    allowed = _with_dependencies(requirement_names(folder)) | OPTIONAL
    assert sorted(d for d in out["dists"] if _normal(d) not in allowed) == []


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _with_dependencies(names: list[str]) -> set[str]:
    """``names`` and everything they install (their non-extra requirements, transitively)."""
    seen: set[str] = set()
    todo = [_normal(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_normal(re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0]) for r in requires if "extra ==" not in r)
    return seen


# -- the closure's rules ----------------------------------------------------------------------
def test_an_import_no_requirement_provides_stops_staging_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"common\.x \(line 3\) imports yaml\.safe, which no requirement"):
        distributions([Import("common.x", "yaml.safe", 3)])


def test_lazy_relative_and_dotted_path_imports_are_followed(tmp_path: Path) -> None:
    (tmp_path / "functions" / "f").mkdir(parents=True)
    (tmp_path / "functions" / "f" / "main.py").write_text("def f():\n    from common.a import x\n")
    pkg = tmp_path / "common"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\nx = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("SCHEMES = {'s': 'common.sub.c:C'}\nimport numpy\n")
    (pkg / "sub" / "c.py").write_text("class C: ...\n")
    (pkg / "sub" / "data.json").write_text("{}")
    (pkg / "unused.py").write_text("import rich\n")
    (tmp_path / "requirements.txt").write_text("functions-framework==1\nnumpy==2  # arrays\nrich==3\n")
    plan = shipment("f", tmp_path)
    assert plan.modules == ("common", "common.a", "common.sub", "common.sub.b", "common.sub.c")
    assert "common/sub/data.json" in plan.files and "common/unused.py" not in plan.files
    assert plan.requirements == ("functions-framework==1", "numpy==2  # arrays")


def test_tools_are_the_cli_training_legacy_import_synthetic_data_and_demo() -> None:
    assert all(is_tool(m) for m in ("common.cli.main", "common.training", "common.data.synth_games"))
    assert all(is_tool(m) for m in ("common.registry.legacy_import", "infra.demo.sandbox"))
    assert not any(is_tool(m) for m in ("common.data.season", "common.data.store", "common.registry.store"))
    assert len(TOOLS) >= 5


# -- each function runs from its folder alone --------------------------------------------------
@pytest.fixture(scope="module")
def running(dist: Path) -> Iterator[tuple[dict[str, FunctionProcess], dict[str, Any]]]:
    """Every staged function served from its folder, on one migrated registry and one bucket."""
    work = dist.parent / "work"
    work.mkdir()
    registry, bucket = f"duckdb://{work / 'registry.duckdb'}", f"file://{work / 'bucket'}"
    migrated_store(registry)
    info = FileBucket(bucket).write("models/v9/m.cbm", tiny_model_bytes(tiny_card("v9"), seed=5))
    env = {
        "MODEL_REGISTRY_URL": registry,
        "MODEL_BUCKET_URL": bucket,
        "EVENT_BUS_URL": "inprocess://",
        "MODEL_CACHE_DIR": str(work / "model-cache"),
        "MODELCTL_ACTOR": "pytest",
    }
    with ThreadPoolExecutor(len(NAMES)) as pool:
        started = list(pool.map(lambda n: FunctionProcess.start(n, env, work, staged=dist / n), NAMES))
    procs = {p.name: p for p in started}
    try:
        yield procs, {"bucket": FileBucket(bucket), "object": info}
    finally:
        with ThreadPoolExecutor(len(procs)) as pool:
            list(pool.map(FunctionProcess.stop, procs.values()))


def outcome(proc: FunctionProcess, event_id: str) -> str:
    """The outcome ``run_event`` logged for ``event_id`` (a dropped event answers 200 too)."""
    found = [line for line in proc.output().splitlines() if f"event {event_id}: " in line]
    assert found, proc.output()[-3000:]
    return json.loads(found[0])["message"].removeprefix(f"event {event_id}: ")


def test_each_function_runs_from_its_staged_folder(running: tuple[dict[str, FunctionProcess], dict[str, Any]]) -> None:
    procs, ctx = running
    bucket, info = ctx["bucket"], ctx["object"]
    event = storage_event(bucket.name, info.name, info.generation, info.size)
    assert procs["register_model"].deliver(event) == 200
    assert outcome(procs["register_model"], event["id"]).startswith("registered")
    event = pubsub_event("pubsub_registry_change.json")
    assert procs["on_registry_change"].deliver(event) == 200
    # register_model's in-process bus already wrote the manifest this change asks for
    assert outcome(procs["on_registry_change"], event["id"]).startswith(("manifest written", "manifest unchanged"))
    event = pubsub_event("pubsub_scheduler_reminder.json")
    assert procs["retrain_reminder"].deliver(event) == 200
    assert "stale of" in outcome(procs["retrain_reminder"], event["id"])
    event = pubsub_event("pubsub_graded_games.json", {"game_date": "2026-02-20"})
    assert procs["update_performance"].deliver(event) == 200
    assert outcome(procs["update_performance"], event["id"]).startswith("graded 0 predictions")
    status, body = http("GET", procs["predict"].url + "status")
    assert status == 200 and "generation" in json.loads(body)
    status, body = http("POST", procs["predict"].url, {"game_date": "2026-01-15"}, timeout=60)
    # it loaded the manifest the in-process bus wrote: no champion in it yet, so nothing is scored
    assert status == 503 and "no champion" in json.loads(body)["error"]
    status, body = http("GET", procs["dashboard"].url, timeout=60)
    assert status == 200 and b"catboost_v9" in body
    for proc in procs.values():
        assert "Traceback" not in proc.output(), proc.output()[-3000:]


def test_list_prints_what_would_ship_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert stage_main(["--list", "--dist", "out", "dashboard"]) == 0
    out = capsys.readouterr().out
    assert "  common/dashboard/templates/models.html" in out and "  Jinja2==" in out and "  rich==" not in out
    assert not (tmp_path / "out").exists()
    assert stage_main(["--list", "no_such_function"]) == ConfigError.exit_code
    assert "functions/no_such_function/main.py not found" in capsys.readouterr().err
