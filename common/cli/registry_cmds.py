"""``modelctl`` registry commands: thin wrappers over ``common`` services."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rich.text import Text

from common.app import converge_serving, open_registry, registration_service
from common.cli import options as opt
from common.cli import render
from common.errors import InvalidArgument
from common.feature_sets import FEATURE_SETS
from common.registry.model import DEFAULT_OBJECTIVE
from common.registry.registration import RegistrationResult
from common.registry.service import RegistryChange, RegistryService
from common.runtime import runtime_for
from common.settings import Settings
from common.sql import engine_session


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    registry = runtime_for(settings).registry(check_schema=False, announce=False)
    applied = registry.migrate()
    version = registry.schema_version()
    if args.json:
        render.print_json({"registry": settings.registry_url, "applied": applied, "schema_version": version})
    elif applied:
        render.console.print(f"Applied {len(applied)} migration(s) to {settings.registry_url}: {', '.join(applied)}")
    else:
        render.console.print(f"Registry {settings.registry_url} is up to date (schema version {version}).")
    return 0


def cmd_feature_sets(args: argparse.Namespace, settings: Settings) -> int:
    if args.json:
        render.print_json({name: list(fs.features) for name, fs in FEATURE_SETS.items()})
        return 0
    render.table(
        "Feature sets",
        ["name", "version", "features", "by", "betting-line features"],
        [
            (fs.name, fs.version, len(fs), "name" if fs.by_name else "position", len(fs.betting_line_features))
            for fs in FEATURE_SETS.values()
        ],
    )
    return 0


def announced(registry: RegistryService) -> list[RegistryChange]:
    """The changes ``registry`` announces from now on (each one rebuilds the manifest)."""
    heard: list[RegistryChange] = []
    registry.subscribe(heard.append)
    return heard


def converge_after(settings: Settings, registry: RegistryService, heard: list[RegistryChange], command: str) -> None:
    """A registry command that announced nothing (it changed nothing) still repairs a serving
    manifest left behind by an earlier failed rebuild: the rerun converges."""
    if heard:
        return  # its own announcement rebuilt (or requested) the manifest from the whole registry
    lag = converge_serving(settings, registry, f"modelctl {command}")
    if lag.needs_rebuild:
        done = "rebuilt" if settings.event_bus_url.startswith("inprocess") else "rebuild requested (registry-change)"
        render.err_console.print(f"note: {lag.detail}; serving manifest {done}", markup=False, highlight=False)


def cmd_register(args: argparse.Namespace, settings: Settings) -> int:
    with engine_session(settings.registry_url):  # one registry connection for the whole command
        result = _register(args, settings)
    if args.json:
        render.print_json({"outcome": result.outcome, "model": result.record.to_json_dict()})
    else:
        render.console.print(f"{result.outcome.replace('_', ' ')}: {result.record.model_id}")
        render.record_panel(result.record)
    return 0


def _register(args: argparse.Namespace, settings: Settings) -> RegistrationResult:
    service = registration_service(settings)
    heard = announced(service.registry)
    target = args.path_or_url
    bucket = service.bucket
    parsed = urlparse(target)
    if parsed.scheme == "gs":
        if parsed.netloc != bucket.name:
            raise InvalidArgument(f"{target} is not in the models bucket {settings.bucket_url}")
        result = service.register_object(parsed.path.lstrip("/"))
    else:
        path = Path(parsed.path if parsed.scheme == "file" else target)
        result = service.register_file(path)
    if args.enable and not result.record.enabled:
        from dataclasses import replace

        result = replace(result, record=service.registry.enable(result.record.model_id, reason="register --enable"))
    converge_after(settings, service.registry, heard, "register")
    return result


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    models = open_registry(settings).list(family=args.family, enabled=True if args.enabled else None)
    if args.json:
        render.print_json([m.to_json_dict() for m in models])
    else:
        render.models_table(models)
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    model = open_registry(settings).get(args.model_id)
    if args.json:
        render.print_json(model.to_json_dict())
    else:
        render.record_panel(model)
    return 0


def cmd_transition(args: argparse.Namespace, settings: Settings) -> int:
    registry = open_registry(settings)
    heard = announced(registry)
    model_id = args.model_id
    action = args.command
    if action == "retire":
        model = registry.retire(model_id, args.reason)
    elif action == "promote":
        model = registry.promote(model_id, reason=args.reason, force=args.force)
        _warn_if_forced(registry, model_id)
        if not args.json:
            _promoted_on(registry, model_id)
    else:
        model = getattr(registry, action)(model_id, reason=getattr(args, "reason", None))
    converge_after(settings, registry, heard, action)
    if args.json:
        render.print_json(model.to_json_dict())
    else:
        state = "enabled" if model.enabled else "disabled"
        render.console.print(Text.assemble(model.model_id, ": ", render.role(model), f", {state}"))
    return 0


def cmd_objective(args: argparse.Namespace, settings: Settings) -> int:
    """List each family's objective (declared or the default), or set one with a reason."""
    registry = open_registry(settings)
    if args.action == "set":
        if not args.family or not args.objective:
            raise InvalidArgument("usage: modelctl objective set FAMILY {mae,clv,roi} --reason TEXT")
        registry.set_objective(args.family, args.objective, args.reason or "")
    declared = registry.objectives()
    families = sorted({m.model_family for m in registry.list()} | set(declared))
    if args.family:
        families = [f for f in families if f == args.family]
    rows = [(f, declared.get(f, DEFAULT_OBJECTIVE), "declared" if f in declared else "default") for f in families]
    if args.json:
        render.print_json([{"family": f, "objective": o, "source": s} for f, o, s in rows])
    else:
        render.table("Objectives (the verdict decides on it; the other metrics guard)", ["family", "objective", ""],
                     rows)  # fmt: skip
    return 0


def _promoted_on(registry: RegistryService, model_id: str) -> None:
    """The verdict a promotion stood on: objective, the metric that drove it, the disagreement note."""
    promotion = registry.promotions(model_id)[-1:]
    if not promotion or not promotion[0].evidence_json:
        return
    evidence = json.loads(promotion[0].evidence_json)
    driver = f", driven by {evidence['driver']}" if evidence.get("driver") else ""
    render.console.print(
        f"compare: {str(evidence.get('verdict', '')).upper()} on objective {evidence.get('objective')}{driver}",
        markup=False,
    )
    if evidence.get("note"):
        render.console.print(f"note: {evidence['note']}", markup=False)


def _warn_if_forced(registry: RegistryService, model_id: str) -> None:
    promotion = registry.promotions(model_id)[-1:]
    if promotion and promotion[0].forced:
        render.err_console.print(
            f"warning: {model_id} was promoted past compare's verdict ({promotion[0].verdict}: "
            f"{promotion[0].finding}); the override is in the audit trail",
            markup=False,
        )


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    registry = open_registry(settings)
    if args.game_date:
        return _champion_of_games(args, settings, registry)
    if args.at:
        day = args.at
        champion = registry.champion_at(day)
        if args.json:
            render.print_json({"date": day.isoformat(), "champion": champion})
        else:
            render.console.print(f"Champion at end of {day}: {champion or 'none'}")
        return 0
    events = registry.events(model_id=args.model_id)
    if args.json:
        render.print_json([e.to_json_dict() for e in events])
        return 0
    render.table(
        f"History ({len(events)} events)",
        ["when (UTC)", "model_id", "action", "actor", "before → after", "reason"],
        [
            (f"{e.occurred_at:%Y-%m-%d %H:%M:%S}", e.model_id, e.action, e.actor, _delta(e.before, e.after), e.reason)
            for e in events
        ],
    )
    return 0


def _champion_of_games(args: argparse.Namespace, settings: Settings, registry: RegistryService) -> int:
    """``--game-date``: the champion whose predictions served that date's games (champion_predictions),
    not the audit trail's champion at that wall-clock day (a replay or a late promotion differ)."""
    from common.worker.predictions import champions_of

    day = args.game_date
    champions = champions_of(settings, day)
    by_audit = registry.champion_at(day)
    if args.json:
        render.print_json(
            {"game_date": day.isoformat(), "champion": champions[0] if champions else None,
             "champions": champions, "champion_at_end_of_day_by_audit": by_audit}
        )  # fmt: skip
    elif champions:
        render.console.print(
            f"Champion for the games of {day}: {', '.join(champions)} (its predictions were the picks)"
        )
    else:
        render.console.print(
            f"No champion predictions stored for the games of {day} (never predicted, or scored with no champion);"
            f" by the audit trail the champion at the end of {day} (UTC) was {by_audit or 'none'}"
        )
    return 0


def _delta(before: dict | None, after: dict | None) -> str:
    def show(state: dict | None) -> str:
        if not state:
            return "∅"
        if "objective" in state:  # a family's objective (modelctl objective set), not a model's state
            return str(state["objective"])
        return f"{state.get('status')}/{'on' if state.get('enabled') else 'off'}"

    return f"{show(before)} → {show(after)}"


def cmd_rejections(args: argparse.Namespace, settings: Settings) -> int:
    rejections = open_registry(settings).rejections(limit=args.limit)
    if args.json:
        render.print_json([r.to_json_dict() for r in rejections])
        return 0
    render.table(
        f"Rejections ({len(rejections)})",
        ["when (UTC)", "source", "error", "reason"],
        [(f"{r.rejected_at:%Y-%m-%d %H:%M:%S}", r.source_uri, r.error_type, r.reason) for r in rejections],
    )
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    """Add the registry's own commands to ``modelctl``."""
    add(sub, "migrate", cmd_migrate)
    add(sub, "feature-sets", cmd_feature_sets)
    p = add(sub, "register", cmd_register)
    p.add_argument("path_or_url")
    p.add_argument("--enable", action="store_true", help="enable it right after registering")
    p = add(sub, "list", cmd_list)
    p.add_argument("--family", type=opt.family, help="only this family, e.g. v9_q43")
    p.add_argument("--enabled", action="store_true", help="only enabled models")
    p = add(sub, "show", cmd_show)
    p.add_argument("model_id", type=opt.model_id)
    for name in ("enable", "disable", "promote"):
        p = add(sub, name, cmd_transition)
        p.add_argument("model_id", type=opt.model_id)
        p.add_argument("--reason", help="why (kept in the audit trail)")
        if name == "promote":
            p.add_argument("--force", action="store_true", help="promote even if `modelctl compare` says not yet")
    p = add(sub, "retire", cmd_transition)
    p.add_argument("model_id", type=opt.model_id)
    p.add_argument("--reason", required=True, help="why (required; kept in the audit trail)")
    p = add(sub, "history", cmd_history)
    p.add_argument("model_id", nargs="?", type=opt.model_id)
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        type=opt.iso_date,
        help="YYYY-MM-DD: the champion by the audit trail at the end of that day (UTC wall clock: who was promoted)",
    )
    when.add_argument(
        "--game-date",
        type=opt.iso_date,
        help="YYYY-MM-DD: the champion when that date's games were played: the model whose predictions were "
        "the champion's for them (the champion_predictions view), whenever it was promoted",
    )
    p = add(sub, "objective", cmd_objective)
    p.add_argument("action", nargs="?", choices=("show", "set"), default="show")
    p.add_argument("family", nargs="?", type=opt.family, help="a model family, e.g. v9_q43")
    p.add_argument("objective", nargs="?", help="mae (accuracy), clv (no-vig closing-line value) or roi (units)")
    p.add_argument("--reason", help="why (required for set; kept in the audit trail)")
    p = add(sub, "rejections", cmd_rejections)
    p.add_argument("--limit", type=opt.limit, default=50, help="how many, newest first (1..10000; default 50)")
