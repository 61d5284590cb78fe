"""The champion's picks alert (the legacy ``subset_picks_notifier``), after each scored slate.

The top picks by |edge| (at most ``PICKS_ALERT_TOP_N``) of the champion's user-facing
picks (``common/worker/scoring.py:champion_picks``, which shadows never change) go to
Slack with the champion's id and 30-day record: its ROI where grading records one, else
its hit rate. Once per (date, champion sha256), through the once-per-key delivery: a
slate scored again, by this worker or another, posts nothing new.

The alert never fails the scoring it follows: the predictions are stored by then. A post
that cannot go out now is logged, and the next scoring of the date sends it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from common.alerts import queries as q
from common.errors import AppError
from common.grading.store import GradingStore
from common.notify import SlackPoster, deliver_once
from common.notify.blocks import context, escape, header, section
from common.notify.store import NotificationStore
from common.runtime import runtime_for
from common.settings import Settings
from common.sql import Engine, Param

log = logging.getLogger(__name__)
KIND = "champion_picks"


class Champion(Protocol):
    """What the alert needs of the serving champion (``common/worker/serving.py:ServingModel``)."""

    @property
    def model_id(self) -> str: ...

    @property
    def sha256(self) -> str: ...


@dataclass(frozen=True)
class Pick:
    player: str
    player_id: int
    line: float
    prediction: float
    edge: float
    call: str  # OVER or UNDER


@dataclass(frozen=True)
class PicksAlert:
    """Everything the message says; its JSON is the payload recorded with the delivery."""

    game_date: str
    champion_id: str
    champion_sha256: str
    record: str  # "30-day ROI +4.2% (+8.9 units)", "30-day hit rate 55.1%", or "no graded record yet"
    picks: tuple[Pick, ...]

    @property
    def key(self) -> str:
        return f"{KIND}:{self.game_date}:{self.champion_sha256}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PicksAlert:
        """The alert a delivery recorded (its payload is ``to_json()``)."""
        data = json.loads(text)
        return cls(**{**data, "picks": tuple(Pick(**p) for p in data["picks"])})

    def message(self) -> tuple[str, list[dict[str, Any]]]:
        """Plain text and Block Kit blocks."""
        title = f"Champion picks {self.game_date}: {len(self.picks)} by edge"
        lines = [f"{p.call} {escape(p.player)}: line {p.line:g}, prediction {p.prediction:.1f}, edge {p.edge:+.1f}"
                 for p in self.picks]  # fmt: skip
        footer = f"Champion `{escape(self.champion_id)}` · {self.record}"
        body = "\n".join(lines) if lines else "No picks on this slate."
        blocks = [header(title), section(body), context(footer)]
        return "\n".join([title, *lines, footer]), blocks


def build_alert(engine: Engine, game_date: date, champion: Champion, picks: pd.DataFrame, top_n: int) -> PicksAlert:
    """The alert for the champion's ``picks`` (strongest first, as ``champion_picks`` orders them)."""
    top = picks.head(top_n)
    ids = [int(p) for p in top["player_id"]]
    names = {}
    if ids:
        rows = engine.query(q.PLAYER_NAMES, {"player_ids": Param(ids, "ARRAY")})
        names = {int(r["player_id"]): str(r["player_name"]) for r in rows if r["player_name"]}
    chosen = tuple(
        Pick(names.get(pid, f"player {pid}"), pid, float(line), round(float(pred), 1), round(float(edge), 1), str(call))
        for pid, line, pred, edge, call in zip(
            ids, top["line"], top["predicted_points"], top["edge"], top["recommendation"], strict=True
        )
    )
    record = _record(GradingStore(engine).read_evaluation([champion.model_id]).get(champion.model_id, {}))
    return PicksAlert(game_date.isoformat(), champion.model_id, champion.sha256, record, chosen)


def _record(evaluation: dict[str, Any]) -> str:
    roi, units = evaluation.get("eval_30d_roi"), evaluation.get("eval_30d_units")
    if roi is not None:
        return f"30-day ROI {100 * float(roi):+.1f}%" + (f" ({float(units):+.1f} units)" if units is not None else "")
    hit_rate = evaluation.get("eval_30d_hit_rate")
    if hit_rate is not None:
        return f"30-day hit rate {float(hit_rate):.1f}%"
    return "no graded record yet"


def latest_alert(settings: Settings) -> PicksAlert | None:
    """The newest picks alert (sent to Slack or, without a webhook, to the log; or in flight)."""
    delivery = NotificationStore(runtime_for(settings).engine()).latest(KIND)
    return PicksAlert.from_json(delivery.payload) if delivery and delivery.payload else None


def alert_champion_picks(settings: Settings, game_date: date, champion: Champion, picks: pd.DataFrame) -> str:
    """Post the champion's picks for ``game_date`` once; the outcome, never an exception."""
    engine = runtime_for(settings).engine()
    try:
        alert = build_alert(engine, game_date, champion, picks, settings.picks_alert_top_n)
        text, blocks = alert.message()
        poster = SlackPoster.from_settings(settings)
        outcome = deliver_once(
            engine,
            alert.key,
            KIND,
            json.loads(alert.to_json()),
            lambda: poster.post(text, blocks),
            datetime.now(UTC),
            timedelta(seconds=settings.notify_lease_seconds),
        )
    except AppError as exc:
        log.error("champion picks alert for %s not sent now (%s); the next scoring of the date sends it",
                  game_date, exc, extra={"game_date": game_date.isoformat(), "outcome": "alert pending"})  # fmt: skip
        return f"not sent: {exc}"
    log.info("champion picks alert for %s: %s", game_date, outcome, extra={"model_id": champion.model_id})
    return outcome
