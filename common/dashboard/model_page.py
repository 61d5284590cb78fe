"""One model's page: its card, audit history, rolling charts against the champion, verdict and commands.

Queries (BigQuery): the schema check, the model list (the record, the champion and the
catalog compare needs), the model's audit events, the latest graded date (two small reads
that give the partitioned reads their constant bound), the daily rows of the ``CHART_DAYS``
days up to it (``DAILY_RECENT``), the paired sample of every shared day (``PAIRED``), the
families' objectives and both models' daily no-vig CLV (``DAILY_CLV_PAIRS``): 9
(``web.PAGE_QUERIES``). The card is read from the model file itself.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd

from common.betting import break_even
from common.dashboard.charts import Chart, line_chart
from common.dashboard.data import DashboardData
from common.dashboard.views import num, role
from common.errors import AppError, NotFound
from common.grading.compare import Comparison, VerdictRule
from common.grading.rolling import ROLLING_DAYS, rolling
from common.registry.model import ModelRecord, RegistryEvent
from common.registry.modelfile import load_model_bytes
from common.settings import Settings
from common.storage import read_uri

CHART_DAYS = 60
_CARDS: dict[str, dict[str, Any]] = {}  # sha256 → card: a model file never changes under its hash
_CARDS_LOCK = threading.Lock()
_MAX_CARDS = 64


@dataclass(frozen=True)
class Command:
    what: str
    text: str


@dataclass(frozen=True)
class ModelPage:
    record: ModelRecord
    role: str
    card: tuple[tuple[str, str], ...]
    card_error: str | None
    events: tuple[RegistryEvent, ...]
    charts: tuple[Chart, ...]
    champion_id: str | None
    comparison: Comparison | None
    verdict_note: str
    commands: tuple[Command, ...]
    chart_days: int
    rolling_days: int


def read_card(record: ModelRecord, max_bytes: int) -> tuple[dict[str, Any] | None, str | None]:
    """The model card embedded in the registered file (cached by sha256), or why it could not be read."""
    if record.sha256 and record.sha256 in _CARDS:
        return _CARDS[record.sha256], None
    try:
        data = read_uri(record.model_path, max_bytes=max_bytes)
    except AppError as exc:
        return None, f"model file unreadable: {exc}"
    actual = hashlib.sha256(data).hexdigest()
    if record.sha256 and actual != record.sha256:
        return None, f"the file at {record.model_path} has sha256 {actual}, the registry says {record.sha256}"
    try:
        card = load_model_bytes(data).card
    except AppError as exc:
        return None, str(exc)
    if card is None:
        return None, "this file carries no embedded model card (a legacy file: the registry row below is all there is)"
    with _CARDS_LOCK:
        if len(_CARDS) >= _MAX_CARDS:
            _CARDS.pop(next(iter(_CARDS)))
        _CARDS[actual] = card
    return card, None


def _card_items(card: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not card:
        return ()
    return tuple(
        (str(k), v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)) for k, v in card.items()
    )


def _units_by_day(daily: pd.DataFrame, model_id: str) -> pd.Series:
    rows = daily[(daily["system_id"] == model_id) & ~daily["in_sample"].astype(bool) & (daily["n"] > 0)]
    rows = rows[rows["units"].notna()]  # days graded before migration 012 carry no units until regraded
    return (
        pd.Series(rows["units"].to_numpy(dtype=float), index=pd.to_datetime(rows["game_date"])).groupby(level=0).sum()
    )


def charts(daily: pd.DataFrame, model_id: str, champion_id: str | None, price: float) -> tuple[Chart, ...]:
    """Rolling MAE and hit rate, and cumulative units (as graded, at ``price``), of the model and the
    champion over the model's dates."""
    ids = [model_id] + ([champion_id] if champion_id and champion_id != model_id else [])
    mine = rolling(daily, model_id)
    series = {i: rolling(daily, i).reindex(mine.index) for i in ids}
    by_day = {i: _units_by_day(daily, i) for i in ids}
    shared = by_day[model_id].index
    for other in ids[1:]:
        shared = shared.intersection(by_day[other].index)
    cumulative = [(i, by_day[i].reindex(shared).cumsum()) for i in ids]
    bet = series[model_id]["break_even"].dropna() if "break_even" in series[model_id] else pd.Series(dtype=float)
    even = float(bet.iloc[-1]) if len(bet) else 100.0 * break_even(price)  # the prices this model bet, latest
    return (
        line_chart("mae", f"MAE, rolling {ROLLING_DAYS} days", "points", [(i, series[i]["mae"]) for i in ids], num),
        line_chart(
            "hit", f"Hit rate, rolling {ROLLING_DAYS} days", "%", [(i, series[i]["hit_rate"]) for i in ids],
            lambda v: f"{v:.1f}", (even, f"break-even of the prices bet ({even:.1f}%)"),
        ),
        line_chart(
            "units", f"Cumulative units at the prices bet ({price:+g} where none), dates both models were graded",
            "units", cumulative,
            lambda v: f"{v:+.1f}", (0.0, "0"),
        ),
    )  # fmt: skip


def commands(record: ModelRecord, comparison: Comparison | None) -> tuple[Command, ...]:
    """The exact ``modelctl`` commands for what this model's state allows (shown, never run)."""
    mid = shlex.quote(record.model_id)
    out = []
    if not record.is_champion and not record.is_retired:
        out.append(Command("compare with the champion", f"modelctl compare {mid}"))
    if not record.enabled and not record.is_retired:
        out.append(Command("enable (serve as a shadow)", f'modelctl enable {mid} --reason "WHY"'))
    if record.serves and not record.is_champion:
        if comparison is None or comparison.sufficient:
            out.append(Command("promote to champion", f'modelctl promote {mid} --reason "WHY"'))
        else:
            out.append(Command(f"promote despite the verdict ({comparison.verdict})",
                               f'modelctl promote {mid} --force --reason "WHY"'))  # fmt: skip
        out.append(Command("disable (stop serving)", f'modelctl disable {mid} --reason "WHY"'))
    if not record.is_champion and not record.is_retired:
        out.append(Command("retire for good", f'modelctl retire {mid} --reason "WHY"'))
    out.append(Command("audit trail", f"modelctl history {mid}"))
    return tuple(out)


def _verdict(
    data: DashboardData, models: list[ModelRecord], record: ModelRecord, rule: VerdictRule
) -> tuple[Comparison | None, str]:
    champion = next((m for m in models if m.is_champion), None)
    if champion is None:
        return None, "there is no champion to compare with"
    if record.is_champion:
        return None, "this model is the champion; each challenger's page compares it with this one"
    return data.verdict(data.catalog(models), record.model_id, rule), ""


def model_page(data: DashboardData, model_id: str, settings: Settings) -> ModelPage:
    """The page of ``model_id``; ``NotFound`` when the registry has no such model."""
    models = data.models()
    record = next((m for m in models if m.model_id == model_id), None)
    if record is None:
        raise NotFound(f"no model {model_id!r} in the registry")
    champion = next((m for m in models if m.is_champion), None)
    comparison, note = _verdict(data, models, record, VerdictRule.from_settings(settings))
    card, card_error = read_card(record, settings.max_model_bytes)
    return ModelPage(
        record=record,
        role=role(record),
        card=_card_items(card),
        card_error=card_error,
        events=tuple(reversed(data.events(model_id))),
        charts=charts(
            data.recent_daily(CHART_DAYS), model_id, champion.model_id if champion else None, settings.bet_price
        ),
        champion_id=champion.model_id if champion else None,
        comparison=comparison,
        verdict_note=note,
        commands=commands(record, comparison),
        chart_days=CHART_DAYS,
        rolling_days=ROLLING_DAYS,
    )
