"""The inventory is the one list of functions, topics and jobs: every folder is in it, every
reader follows it, and each function's main.py calls the service it names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from common import inventory
from common.errors import ConfigError, NotFound
from infra.deploy.config import DeployConfig
from infra.local.config import DEFAULT_CONFIG, load_config

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "main.py").is_file())


def test_every_function_folder_is_in_the_inventory_and_back() -> None:
    assert sorted(fn.name for fn in inventory.FUNCTIONS) == FOLDERS


@pytest.mark.parametrize("fn", inventory.FUNCTIONS, ids=lambda fn: fn.name)
def test_main_defines_the_target_and_calls_the_named_service(fn: inventory.Function) -> None:
    tree = ast.parse((ROOT / "functions" / fn.source / "main.py").read_text())
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert fn.target in defined, f"functions/{fn.source}/main.py defines no {fn.target}()"
    decorators = {ast.unparse(d) for d in defined[fn.target].decorator_list}
    assert decorators == {f"functions_framework.{'http' if fn.trigger == 'http' else 'cloud_event'}"}
    if fn.service is None:
        return
    module, _, name = fn.service.partition(":")
    imported = {(node.module, a.name) for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert (module, name) in imported, f"main.py of {fn.name} does not import {fn.service}"
    called = {ast.unparse(c.func) for c in ast.walk(defined[fn.target]) if isinstance(c, ast.Call)}
    args = {ast.unparse(a) for c in ast.walk(defined[fn.target]) if isinstance(c, ast.Call) for a in c.args}
    assert "run_event" in called and name in args
    assert callable(inventory.load_service(fn))


def test_topics_triggers_and_schedules_are_consistent() -> None:
    for fn in inventory.FUNCTIONS:
        assert (fn.trigger == "pubsub") == bool(fn.topic), fn.name
        assert fn.topic in ("", *inventory.TOPICS)
        assert set(fn.publishes) <= set(inventory.TOPICS)
    assert {job.topic for job in inventory.SCHEDULES} <= set(inventory.TOPICS)
    assert inventory.subscribers(inventory.REGISTRY_CHANGE) == (inventory.function("on_registry_change"),)
    with pytest.raises(NotFound, match="no function 'nope'"):
        inventory.function("nope")
    with pytest.raises(ConfigError, match="HTTP function"):
        inventory.load_service(inventory.function("predict"))


def test_deploy_plan_and_local_stack_read_the_inventory() -> None:
    cfg = DeployConfig(project="nba-props-platform", region="us-west2")
    assert cfg.functions == inventory.FUNCTIONS and cfg.topics == inventory.TOPICS
    assert [job.job for job in cfg.schedules] == [job.job for job in inventory.SCHEDULES]
    stack = load_config(DEFAULT_CONFIG)
    assert [(f.name, f.signature) for f in stack.functions] == [(f.name, f.signature_type) for f in inventory.FUNCTIONS]
    assert sorted((s.function, s.trigger, s.topic) for s in stack.subscriptions) == sorted(
        (f.name, f.trigger, f.topic or None) for f in inventory.FUNCTIONS if f.trigger != "http"
    )


def test_a_broken_service_path_fails_loudly() -> None:
    broken = inventory.Function(
        "x", "x", "pubsub", "common.services.register_model:no_such_service", topic=inventory.GRADED_GAMES
    )
    with pytest.raises(ConfigError, match="cannot load common.services.register_model:no_such_service"):
        inventory.load_service(broken)
