"""Every ``modelctl`` command: its name, the module that implements it, its one-line help.

The one home of the command list. ``modelctl`` imports a command's module only when that
command runs: ``modelctl --help`` (and building the parser for it) reads this table alone,
so none of the heavy clients (CatBoost, pandas, DuckDB, Google's) is imported for it.

Each module has ``register(subparsers, add)``, where ``add(sub, name, handler, help=None)``
creates a sub-command with the shared ``--json`` flag (its help from this table).
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    module: str
    help: str


def _commands(module: str, *rows: tuple[str, str]) -> dict[str, Command]:
    return {name: Command(f"common.cli.{module}", text) for name, text in rows}


COMMANDS: dict[str, Command] = {
    **_commands(
        "registry_cmds",
        ("migrate", "apply pending schema migrations (idempotent)"),
        ("feature-sets", "show the feature sets (--json: {name: [features]})"),
        ("register", "register a .cbm (local path, file:// or gs:// URL) as a disabled model"),
        ("list", "list models"),
        ("show", "show one model"),
        ("enable", "let a model serve (as a shadow unless champion)"),
        ("disable", "stop a shadow from serving"),
        ("promote", "make an enabled model the champion (old champion becomes a shadow)"),
        ("retire", "retire a model for good (it never serves again unless re-registered)"),
        ("history", "audit trail; --at DAY: champion by audit time; --game-date D: champion for D's games"),
        ("objective", "what each family is judged on: `objective` lists, `set` changes"),
        ("rejections", "models that could not be registered, and why"),
    ),
    **_commands(
        "events_cmds",
        ("watch", "turn new .cbm files in the local bucket into finalize events (Eventarc stand-in)"),
        ("upload", "copy a local .cbm into the models bucket; its trigger registers it (gcloud storage cp stand-in)"),
        ("remind", "show the retrain reminder of a day; --send delivers it (Cloud Scheduler stand-in)"),
    ),
    **_commands(
        "worker_cmds",
        ("predict", "score a game date's slate with the champion and every shadow, as of a moment"),
        ("workers", "what each worker last acknowledged serving, and whether the manifest is behind the registry"),
    ),
    **_commands(
        "grading_cmds",
        ("grade", "grade final game dates (what update_performance does on a graded-games message)"),
        ("compare", "paired challenger-vs-champion comparison with a verdict"),
        ("performance", "every active model's live figures side by side"),
    ),
    **_commands(
        "publish_cmds",
        ("publish", "publish a message through EVENT_BUS_URL (what a producer does)"),
        ("events", "CloudEvents for trying the functions locally"),
    ),
    **_commands(
        "training_cmds",
        ("data", "season data tables"),
        ("train", "train, evaluate and gate a model; upload and register it (disabled) if it passes"),
        ("retrain", "retrain families from the registry's configuration and the latest data"),
    ),
    **_commands(
        "legacy_cmds",
        ("import-legacy", "register the legacy MONTHLY_MODELS dict (exported as JSON) and set the champion"),
    ),
    **_commands("dashboard_cmds", ("dashboard", "serve the read-only dashboard (models, timeline, operations)")),
}

#: Commands that share one registry connection from start to end (``common.sql.engine_session``;
#: on DuckDB, where each operation otherwise opens the file: 10-20 opens of ~15 ms per command).
#: Short registry work only: ``watch`` and ``dashboard`` run until stopped, ``train``/``retrain``
#: fit models for seconds to minutes, and ``remind``, ``publish``, ``upload`` and ``import-legacy``
#: wait on Slack, a bus or a bucket; those keep opening the file per operation, so other
#: processes are never locked out of it for long.
ONE_CONNECTION = frozenset(
    {"migrate", "register", "list", "show", "enable", "disable", "promote", "retire", "history", "objective",
     "rejections", "predict", "workers", "grade", "compare", "performance", "data"}
)  # fmt: skip
