"""``modelctl dashboard``: serve the read-only dashboard from this machine (the embedded default)."""

from __future__ import annotations

import argparse
from typing import Any

from common.cli import options as opt
from common.cli import render
from common.settings import Settings

DEFAULT_PORT = 8050


def cmd_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    from common.app import open_registry
    from common.dashboard.web import make_app

    open_registry(settings)  # fail now, as one line, when the registry is missing or out of date
    render.console.print(f"Dashboard of {settings.registry_url} on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    make_app(settings).run(host=args.host, port=args.port, debug=False, use_reloader=False, threaded=True)
    return 0


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(
        sub, "dashboard", cmd_dashboard, "serve the read-only dashboard in a browser (models, timeline, operations)"
    )
    p.add_argument(
        "--port", type=opt.port, default=DEFAULT_PORT, help=f"port on --host to listen on (default {DEFAULT_PORT})"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
