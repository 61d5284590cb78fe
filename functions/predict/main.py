"""HTTP function `predict`: the prediction worker.

`POST /` with `{"game_date": "YYYY-MM-DD"}` (and optionally `"as_of": "<ISO timestamp>"`,
default PREDICT_LEAD_MINUTES before the date's first tip-off) scores the date's slate as of
that moment with the champion and every shadow and stores one row per player per model. `GET /status` answers what
this worker serves and what is wrong with it (e.g. a newer set refused because its
champion could not be loaded). Without a loaded champion a POST answers 503 and stores
nothing. The worker loads its models on the
first request and then follows the serving manifest without restarting.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import date
from typing import Any

import flask
import functions_framework

from common.errors import AppError
from common.features.market import parse_moment
from common.log import setup_logging
from common.runtime import process_runtime
from common.sql import engine_session
from common.worker.scoring import champion_picks, signals
from common.worker.worker import Worker

setup_logging()
log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, Worker] = {}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_LIKE = 'POST a JSON body like {"game_date": "2026-01-15"}'


def _worker() -> Worker:
    with _lock:
        if "worker" not in _state:
            runtime = process_runtime()  # BigQuery jobs labelled with this worker's actor
            worker = Worker(runtime.settings, runtime=runtime)
            # the poller first: its thread would otherwise start while the fused ensembles are being
            # built (CatBoost holds the GIL), which kept this first request waiting 0.1-0.3 s
            worker.start_polling()
            try:
                worker.reload(acknowledge=False)  # the poller writes the acknowledgement, off this request
            except AppError as exc:  # serve /status anyway; the poller tries again
                log.error("first load failed: %s", exc, extra={"worker_id": worker.worker_id})
            _state["worker"] = worker
        return _state["worker"]


def _error(exc: AppError) -> tuple[dict[str, Any], int]:
    return {"error": str(exc), "type": type(exc).__name__}, exc.http_status


@functions_framework.http
def predict(request: flask.Request) -> tuple[dict[str, Any], int]:
    try:
        worker = _worker()
        if request.method in ("GET", "HEAD"):  # HEAD: the status's headers (Flask drops the body)
            return worker.status(), 200
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # a body nested too deeply for the parser: not a date either
            body = None
        value = body.get("game_date") if isinstance(body, dict) else None
        if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):  # a number is not a date
            return {"error": _LIKE}, 400
        try:
            game_date = date.fromisoformat(value)
        except ValueError as exc:  # shaped like one, but no such day
            return {"error": f"game_date {value!r} is not a calendar day ({exc}); {_LIKE}"}, 400
        as_of = body.get("as_of")
        moment = None if as_of is None else parse_moment(as_of)
        with engine_session(worker.settings.registry_url):  # one registry connection per request
            serving, rows = worker.predict_date(game_date, moment)
    except AppError as exc:
        return _error(exc)
    champion = serving.champion.model_id if serving.champion else None
    return {
        "game_date": game_date.isoformat(),
        "as_of": rows["as_of"].iloc[0].isoformat() if len(rows) else None,
        "generation": serving.generation,
        "champion": champion,
        "rows": len(rows),
        "picks": len(champion_picks(rows, champion)),
        "signals": signals(rows).to_dict(orient="records"),
    }, 200
