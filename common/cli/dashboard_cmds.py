"""``modelctl dashboard``: serve the read-only dashboard from this machine (the embedded default)."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from common.cli import options as opt
from common.cli import render
from common.errors import InvalidArgument
from common.settings import Settings

DEFAULT_PORT = 8050


def cmd_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    from werkzeug.serving import make_server

    from common.dashboard.web import QuietHandler, make_app
    from common.runtime import runtime_for

    runtime_for(settings).registry(read_only=True)  # fail now, as one line, when the registry is missing or out of date
    _check_free(args.host, args.port)  # werkzeug would print lines of its own and exit
    server = make_server(args.host, args.port, make_app(settings), threaded=True, request_handler=QuietHandler)
    render.console.print(f"Dashboard of {settings.registry_url} on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _check_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InvalidArgument(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None


def register(sub: argparse._SubParsersAction, add: Any) -> None:
    p = add(sub, "dashboard", cmd_dashboard)
    p.add_argument(
        "--port", type=opt.port, default=DEFAULT_PORT, help=f"port on --host to listen on (default {DEFAULT_PORT})"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
