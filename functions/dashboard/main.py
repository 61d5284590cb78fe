"""HTTP function `dashboard`: the read-only registry dashboard.

`GET /` the now-strip, the leaderboard and family staleness, `GET /models/<id>` one model,
`GET /timeline` the champion timeline, `GET /operations` the manifest generation, worker acks
(problem, behind the manifest), rejections, the last reminder and pending / void counts,
`GET /activity` every registry event and rejection (by family, paged).
The pages are built in `common/dashboard` (`web.respond`).
"""

from __future__ import annotations

import flask
import functions_framework

from common.dashboard.web import close_static_route, respond
from common.log import setup_logging
from common.runtime import Runtime, process_runtime

setup_logging()
_runtime: list[Runtime] = []  # built at the first request: the registry read-only, no publisher


@functions_framework.http
def dashboard(request: flask.Request) -> flask.Response:
    if not _runtime:
        _runtime.append(process_runtime())
    return respond(request, _runtime[0].settings)


if flask.has_app_context():  # functions-framework loads this module inside its app's context
    close_static_route(flask.current_app, lambda: dashboard(flask.request))
