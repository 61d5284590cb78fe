"""``modelctl``: the team's one command for the model lifecycle.

Every error ends as one clear line on stderr and a non-zero exit code; options
map onto the same environment variables ``Settings.from_env`` reads.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from common.cli import options as opt
from common.cli import registry_cmds as reg
from common.cli.render import err_console
from common.errors import AppError
from common.log import setup_logging
from common.settings import Settings
from common.sql_bigquery import configure_jobs

Handler = Callable[[argparse.Namespace, Settings], int]


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end as one line too, pointing at --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add(sub: argparse._SubParsersAction, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelctl", description="Model registry and lifecycle for the NBA points models.")
    parser.add_argument(
        "--registry-url", help="overrides MODEL_REGISTRY_URL (duckdb:///path or bigquery://project/dataset)"
    )
    parser.add_argument("--bucket-url", help="overrides MODEL_BUCKET_URL (file:///dir or gs://bucket)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO lines (JSON) to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add(sub, "migrate", reg.cmd_migrate, "apply pending schema migrations (idempotent)")
    _add(sub, "feature-sets", reg.cmd_feature_sets, "show the feature sets (--json: {name: [features]})")
    p = _add(
        sub, "register", reg.cmd_register, "register a .cbm (local path, file:// or gs:// URL) as a disabled model"
    )
    p.add_argument("path_or_url")
    p.add_argument("--enable", action="store_true", help="enable it right after registering")
    p = _add(sub, "list", reg.cmd_list, "list models")
    p.add_argument("--family", type=opt.family, help="only this family, e.g. v9_q43")
    p.add_argument("--enabled", action="store_true", help="only enabled models")
    p = _add(sub, "show", reg.cmd_show, "show one model")
    p.add_argument("model_id", type=opt.model_id)
    for name, text in (
        ("enable", "let a model serve (as a shadow unless champion)"),
        ("disable", "stop a shadow from serving"),
        ("promote", "make an enabled model the champion (old champion becomes a shadow)"),
    ):
        p = _add(sub, name, reg.cmd_transition, text)
        p.add_argument("model_id", type=opt.model_id)
        p.add_argument("--reason", help="why (kept in the audit trail)")
        if name == "promote":
            p.add_argument("--force", action="store_true", help="promote even if `modelctl compare` says not yet")
    p = _add(sub, "retire", reg.cmd_transition, "retire a model for good (it never serves again unless re-registered)")
    p.add_argument("model_id", type=opt.model_id)
    p.add_argument("--reason", required=True, help="why (required; kept in the audit trail)")
    p = _add(sub, "history", reg.cmd_history, "audit trail; --at DATE answers which model was champion then")
    p.add_argument("model_id", nargs="?", type=opt.model_id)
    p.add_argument("--at", type=opt.iso_date, help="YYYY-MM-DD: the champion at the end of that day (UTC)")
    p = _add(sub, "objective", reg.cmd_objective, "what each family is judged on: `objective` lists, `set` changes")
    p.add_argument("action", nargs="?", choices=("show", "set"), default="show")
    p.add_argument("family", nargs="?", type=opt.family, help="a model family, e.g. v9_q43")
    p.add_argument("objective", nargs="?", help="mae (accuracy), clv (no-vig closing-line value) or roi (units)")
    p.add_argument("--reason", help="why (required for set; kept in the audit trail)")
    p = _add(sub, "rejections", reg.cmd_rejections, "models that could not be registered, and why")
    p.add_argument("--limit", type=opt.limit, default=50, help="how many, newest first (1..10000; default 50)")
    _extend(sub)
    return parser


def _extend(sub: argparse._SubParsersAction) -> None:
    """Commands from other areas register themselves here (training, events, worker)."""
    from common.cli import extensions

    for register in extensions.REGISTRARS:
        register(sub, _add)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("INFO" if args.verbose else "ERROR")  # errors are also printed as one line
    try:
        settings = Settings.from_env().with_overrides(registry_url=args.registry_url, bucket_url=args.bucket_url)
        configure_jobs(settings, f"modelctl-{args.command}")  # BigQuery job label and byte cap
        return int(args.handler(args, settings))
    except AppError as exc:
        err_console.print(f"modelctl {args.command}: error: {exc}", markup=False, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an unexpected failure still ends as one line, with the log holding the trace
        logging.getLogger(__name__).exception("unexpected failure")
        err_console.print(f"modelctl {args.command}: unexpected error: {type(exc).__name__}: {exc}", markup=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
