"""``modelctl import-legacy``: a thin wrapper over ``common.registry.legacy_import``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common.cli import render
from common.errors import InvalidArgument, NotFound
from common.settings import Settings


def cmd_import_legacy(args: argparse.Namespace, settings: Settings) -> int:
    from common.announce import batched_changes
    from common.app import registration_service
    from common.cli.registry_cmds import announced, converge_after
    from common.registry.legacy_import import (
        MAX_EXPORT_CHARS,
        apply_import,
        parse_monthly_models,
        plan_import,
        resolve_path,
    )

    source = Path(args.monthly_models)
    try:
        with source.open(encoding="utf-8") as file:
            text = file.read(MAX_EXPORT_CHARS + 1)  # one more: parse_monthly_models says it is too large
    except OSError as exc:
        raise NotFound(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{source} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    service = registration_service(settings)
    models = parse_monthly_models(text, source.resolve().parent)
    champion = resolve_path(args.champion, Path.cwd()) if args.champion else None
    plan = plan_import(service, models, champion, args.force)
    if args.dry_run:
        done = plan.changes
    else:
        heard = announced(service.registry)
        with batched_changes():  # the whole plan is applied, then one manifest rebuild (exit 8 if it fails)
            done = tuple(apply_import(service, plan))
        converge_after(settings, service.registry, heard, "import-legacy")  # nothing to import: still repair the lag
    if args.json:
        render.print_json({"dry_run": args.dry_run, "changes": [asdict(s) for s in done]})
        return 0
    if not done:
        render.console.print("Nothing to change: the registry already holds MONTHLY_MODELS and its champion.")
        return 0
    title = "Import plan (dry run: nothing changed)" if args.dry_run else "Imported from MONTHLY_MODELS"
    rows = plan.steps if args.dry_run else done
    render.table(title, ["model", "action", "detail"], [(s.model_id, s.action, s.detail) for s in rows])
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    """Add ``import-legacy`` to ``modelctl``."""
    p = add(sub, "import-legacy", cmd_import_legacy)
    p.add_argument("monthly_models", metavar="MONTHLY_MODELS.json", help="the legacy dict: {model_id: {model_path, …}}")
    p.add_argument(
        "--champion",
        metavar="PATH_OR_URL",
        help="the legacy champion's model file (CATBOOST_V9_MODEL_PATH): gs://…, file://… or a path",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a sitting champion with --champion without compare's evidence (an audited forced promotion)",
    )
