"""``modelctl``: the team's one command for the model lifecycle.

Every error ends as one clear line on stderr and a non-zero exit code; options
map onto the same environment variables ``Settings.from_env`` reads.

Only the module of the command that runs is imported (``common/cli/extensions.py``
lists them): ``modelctl --help`` imports none of the heavy clients. Option
abbreviations are off on every parser: ``predict --to`` is an error, never ``--top``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, NoReturn

from common.cli.extensions import COMMANDS, ONE_CONNECTION
from common.log import setup_logging

if TYPE_CHECKING:
    from common.settings import Settings

Handler = Callable[[argparse.Namespace, "Settings"], int]
GLOBAL_VALUE_OPTIONS = ("--registry-url", "--bucket-url")
VERBOSE_HELP = "log INFO lines (JSON) to stderr"


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end as one line too, pointing at --help; no option abbreviations.

    Sub-command parsers are of this class too (``add_subparsers`` makes its parsers with
    the parent's class), so ``allow_abbrev=False`` holds on every parser and subparser.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add(
    sub: argparse._SubParsersAction, name: str, handler: Handler, help_text: str | None = None
) -> argparse.ArgumentParser:
    """A sub-command with the shared ``--json`` flag; its help from ``COMMANDS`` unless given."""
    text = help_text or COMMANDS[name].help
    parser = sub.add_parser(name, help=text, description=text)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    # -v after the command word too (`modelctl remind -v`); SUPPRESS keeps a -v given before it
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    parser.set_defaults(handler=handler)
    return parser


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``modelctl`` parser. With ``argv``, only the named command's module is imported
    (the others are listed by name and help); without, every command is built in full."""
    parser = _Parser(prog="modelctl", description="Model registry and lifecycle for the NBA points models.")
    parser.add_argument(
        "--registry-url", help="overrides MODEL_REGISTRY_URL (duckdb:///path or bigquery://project/dataset)"
    )
    parser.add_argument("--bucket-url", help="overrides MODEL_BUCKET_URL (file:///dir or gs://bucket)")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = {c.module for c in COMMANDS.values()} if argv is None else _modules_for(argv)
    loaded: set[str] = set()
    for name, command in COMMANDS.items():
        if command.module in wanted and command.module not in loaded:
            loaded.add(command.module)
            importlib.import_module(command.module).register(sub, _add)
        elif name not in sub.choices:  # listed for --help; its module is imported only to run it
            sub.add_parser(name, help=command.help, description=command.help)
    return parser


def _modules_for(argv: Sequence[str]) -> set[str]:
    """The module of the command named in ``argv``: none for ``--help``, every one for a word the
    table does not know (argparse then names the mistake, or runs a command missing from it)."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return {COMMANDS[word].module} if word in COMMANDS else {c.module for c in COMMANDS.values()}
    return set()


def _session(command: str, settings: Settings) -> AbstractContextManager[None]:
    """One registry connection for the whole of a short registry command (``ONE_CONNECTION``)."""
    if command not in ONE_CONNECTION:
        return nullcontext()
    from common.sql import engine_session

    return engine_session(settings.registry_url)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    if not hasattr(args, "handler"):  # the command word was not where _modules_for looked
        args = build_parser().parse_args(argv)
    from common import sql_cache
    from common.cli.render import err_console
    from common.errors import AppError
    from common.runtime import runtime_for
    from common.settings import Settings
    from common.sql_bigquery import configure_jobs

    setup_logging("INFO" if args.verbose else "ERROR")  # errors are also printed as one line
    try:
        settings = Settings.from_env().with_overrides(registry_url=args.registry_url, bucket_url=args.bucket_url)
        configure_jobs(settings, f"modelctl-{args.command}")  # BigQuery job label and byte cap
        sql_cache.use(settings.sql_cache_dir)  # a one-shot command: transpiled SQL from the last one
        runtime_for(settings)  # the command's one runtime: its handler's services find it by these settings
        with _session(args.command, settings):
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
