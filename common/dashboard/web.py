"""The dashboard's HTTP surface: routes, Jinja2 rendering with autoescaping, security headers.

``respond`` answers one request; the ``dashboard`` function (``functions/dashboard``) and
``modelctl dashboard`` (``make_app``) both call it. Read-only: every route is a GET.

Queries per page on BigQuery (each date-bounded read touches only the days the page shows):

========================  =====  ==========================================================
page                      count  what
========================  =====  ==========================================================
``/`` (models)            10+2   schema check, models, objectives, the latest graded date (2),
                                 daily rows of the season (once anything is graded), worker
                                 acks, the registry version, the last game date before today
                                 (league time) and its counts; +2 when there is an enabled
                                 challenger, however many (every challenger's paired sample and
                                 daily CLV: the verdicts); +1 (the models) when the serving
                                 manifest records another registry version
``/models/<id>``          10     schema check, models, the model's audit events, the latest
                                 graded date (2), daily rows of the charted days, the paired
                                 sample of the verdict days, the objectives, both models' daily
                                 CLV, bets per edge bucket (7 for the champion, a retired or
                                 a disabled model: no verdict)
``/picks?date=D``         4      schema check, the champion's picks of D, the players' names,
                                 the latest date with picks from D on (where "next" stops)
                                 (6 without ``date``: the latest graded date (2) and the latest
                                 date with picks first)
``/timeline``             2      schema check, audit events
``/operations``           8      schema check, rejections, worker acks, last reminder, the
                                 latest graded date (2), daily rows of the last 14 days, the
                                 registry version (9: the models, when the serving manifest
                                 records another version)
``/activity``             3      schema check, models (the family links), one page of events
                                 and rejections
========================  =====  ==========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from werkzeug.serving import WSGIRequestHandler

from common.dashboard import home, views
from common.dashboard.data import DashboardData
from common.dashboard.model_page import model_page
from common.dashboard.picks import picks_page
from common.errors import AppError, InvalidArgument, NotFound
from common.settings import Settings
from common.sql import engine_session
from common.text import clean

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
PAGE_QUERIES = {"models": 10, "model": 10, "champion": 7, "picks": 4, "picks_latest": 6, "timeline": 2,
                "operations": 8, "activity": 3}  # fmt: skip
VERDICT_QUERIES = {"models": 2}  # queries a page adds when it has an enabled challenger (however many)
#: nothing from elsewhere, no script at all, styles only from our own stylesheet
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
ALLOWED_METHODS = ("GET", "HEAD")


_BUCKET: ContextVar[str] = ContextVar("dashboard_bucket_url", default="")


def _neutral(value: Any) -> Any:
    """Every value a template prints, without control or bidirectional-control characters
    (``common/text.py``): outside text never reorders what the reader sees; and with ``file://``
    URLs shown as bucket object names (``views.local_paths``), not this machine's folders."""
    if isinstance(value, Markup):
        return Markup(clean(views.local_paths(str(value), _BUCKET.get())))
    return clean(views.local_paths(value, _BUCKET.get())) if isinstance(value, str) else value


_ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    finalize=_neutral,
)


def _render(template: str, code: int = 200, **context: Any) -> flask.Response:
    body = _ENV.get_template(template).render(**context)
    return flask.Response(body, status=code, headers=HEADERS, mimetype="text/html")


def _stylesheet() -> flask.Response:
    css = (HERE / "static" / "dashboard.css").read_text()
    headers = {**HEADERS, "Cache-Control": "public, max-age=300"}
    return flask.Response(css, status=200, headers=headers, mimetype="text/css")


def _page(path: str, args: Any, settings: Settings) -> flask.Response:
    if path.startswith("/models/") and path != "/models/":  # not aria-current "Models": this is one model, not the list
        one = model_page(DashboardData.open(settings), path[len("/models/") :], settings)
        return _render("model.html", page=one, nav="model")
    if path == "/picks":  # ?date=YYYY-MM-DD (picks.SAMPLE_PARAMS); without it, the latest date with picks
        picks = picks_page(DashboardData.open(settings), args.get("date"), settings.bet_price)
        return _render("picks.html", page=picks, nav="picks")
    page = _home_pages(path, args, settings)
    if page is not None:
        return page
    if path == "/timeline":
        return _render("timeline.html", reigns=views.timeline(DashboardData.open(settings)), nav="timeline")
    if path == "/operations":
        return _render("operations.html", page=views.operations(DashboardData.open(settings)), nav="operations")
    raise NotFound(f"no page at {path}")


# -- the home and operations side: the now-strip and leaderboard, the activity feed ------------------
def _clock() -> datetime:
    """The home page's now (the league's today, a worker's silence); tests set it."""
    return datetime.now(UTC)


def _home_pages(path: str, args: Any, settings: Settings) -> flask.Response | None:
    if path in ("/", "/models", "/models/"):
        query = home.HomeQuery.parse(args)
        page = home.home_page(DashboardData.open(settings), query, _clock(), settings)
        return _render("models.html", page=page, nav="models")
    if path == "/activity":
        number = str(args.get("page", "1"))
        if not number.isdigit() or not 1 <= int(number) <= 100_000:
            raise InvalidArgument(f"page must be a whole number from 1 to 100000, got {number!r}")
        feed = views.activity(DashboardData.open(settings), str(args.get("family", "")), int(number))
        return _render("activity.html", page=feed, nav="activity")
    return None


def respond(request: flask.Request, settings: Settings) -> flask.Response:
    """Answer one request: a page, the stylesheet, 404 for anything else, 405 (with the security
    headers) for anything but GET and HEAD, OPTIONS included."""
    if request.method not in ALLOWED_METHODS:
        response = _render("error.html", 405, status=405, message="the dashboard is read-only", nav="")
        response.headers["Allow"] = ", ".join(ALLOWED_METHODS)
        return response
    if request.path == "/assets/dashboard.css":
        return _stylesheet()
    if request.path == "/favicon.ico":  # browsers ask; there is none
        return flask.Response(b"", status=204, headers=HEADERS)
    _BUCKET.set(settings.bucket_url)
    try:
        with engine_session(settings.registry_url):  # one registry connection per page, not one per query
            return _page(request.path, request.args, settings)
    except AppError as exc:
        if exc.http_status >= 500:
            log.error("dashboard page %s failed: %s", request.path, exc, extra={"path": request.path})
        return _render("error.html", exc.http_status, status=exc.http_status, message=str(exc), nav="")


def close_static_route(app: flask.Flask, view: Callable[[], flask.Response]) -> None:
    """Send Flask's default static route (``/static/<file>`` from ``$CWD/static``, added when that
    folder exists) to ``view`` instead: functions-framework builds the deployed function's app
    itself, so its rule cannot be left out, only answered by the dashboard (404, with headers).
    So are functions-framework's own ``/favicon.ico`` and ``/robots.txt`` (endpoint ``error``: a bare
    404 without the security headers, on every method), whose view it sets only after loading this
    module: they are answered before dispatch."""
    if "static" in app.view_functions:
        app.view_functions["static"] = lambda **_: view()

    def answer_framework_routes() -> flask.Response | None:
        return view() if flask.request.endpoint == "error" else None

    app.before_request(answer_framework_routes)


class QuietHandler(WSGIRequestHandler):
    """``modelctl dashboard``'s request handler: its ``Server`` header names no server, version or
    Python (werkzeug's says ``Werkzeug/3.1.9 Python/3.11.7``). The deployed function answers
    through functions-framework's gunicorn (``Server: gunicorn``, no version) behind Google's front end."""

    def version_string(self) -> str:
        return "dashboard"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the server refuses before Flask sees it (a 414 for a request line over 64 KiB, a 431
        for over 100 headers) carries the security headers too (an HTTP/0.9-style answer has none)."""
        self.refused = True
        super().send_error(code, message, explain)

    def end_headers(self) -> None:
        if getattr(self, "refused", False):
            for name, value in HEADERS.items():
                self.send_header(name, value)
        super().end_headers()


def make_app(settings: Settings) -> flask.Flask:
    """A Flask app serving the dashboard (``modelctl dashboard``).

    No static route (Flask's default would serve ``$CWD/static``: the stylesheet is served by
    ``respond``), and every method reaches ``respond``, so OPTIONS too answers 405 with the headers
    rather than Flask's automatic answer."""
    app = flask.Flask("dashboard", static_folder=None)
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]

    @app.route("/", defaults={"path": ""}, methods=methods, provide_automatic_options=False)
    @app.route("/<path:path>", methods=methods, provide_automatic_options=False)
    def serve(path: str) -> flask.Response:
        return respond(flask.request, settings)

    return app
