"""One model's page: its card, lineage, audit history, the verdict's evidence, money and rolling
charts against the champion, calibration, and commands.

Queries (BigQuery): the schema check, the model list (the record, the champion, lineage and the
catalog compare needs), the model's audit events, the latest graded date (two small reads that
give the partitioned reads their constant bound), the daily rows of the ``CHART_DAYS`` days up to
it (``DAILY_RECENT``), the paired sample of every shared day (``PAIRED``), the families' objectives,
both models' daily no-vig CLV (``DAILY_CLV_PAIRS``) and the model's bets per edge bucket and side
(``CALIBRATION``): 10 (``web.PAGE_QUERIES``; 7 for the champion, or a retired or disabled model,
which have no verdict). The card,
feature importance and hyperparameters are read from the model file itself (cached by sha256).

The money figures are ``modelctl performance --days CHART_DAYS`` for this model (the same
``window_figures`` on the same daily rows), so the page and the CLI never disagree.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from common.betting import break_even
from common.dashboard import calibration as cal
from common.dashboard.card import Card, card_view, read_file_facts, retrained_from
from common.dashboard.charts import Chart, line_chart
from common.dashboard.data import DashboardData
from common.dashboard.money import complete_windows, max_drawdown, rolling_clv, units_path
from common.dashboard.verdict import Difference, differences
from common.dashboard.views import num, role
from common.errors import NotFound
from common.grading.compare import ROI_DEFINITION, Comparison, VerdictRule
from common.grading.figures import Figures, window_figures
from common.grading.rolling import ROLLING_DAYS, rolling
from common.registry.model import ModelRecord, RegistryEvent
from common.settings import Settings

CHART_DAYS = 180  # about a season: the money charts, the rolling charts and calibration read these days


@dataclass(frozen=True)
class Command:
    what: str
    text: str


@dataclass(frozen=True)
class ModelPage:
    record: ModelRecord
    role: str
    card: Card
    events: tuple[RegistryEvent, ...]
    charts: tuple[Chart, ...]
    money_charts: tuple[Chart, ...]
    figures: Figures | None  # performance --days CHART_DAYS for this model
    drawdown: str
    calibration: cal.Calibration
    champion_id: str | None
    comparison: Comparison | None
    differences: tuple[Difference, ...]
    verdict_note: str
    commands: tuple[Command, ...]
    chart_days: int
    rolling_days: int
    window: tuple[date, date] | None
    previous: ModelRecord | None  # lineage: retrained from
    roi_definition: str = ROI_DEFINITION  # the verdict table's ROI, not the Money section's units / bets


def _dates(series: pd.Series | pd.DataFrame) -> list[str]:
    return [pd.Timestamp(d).date().isoformat() for d in series.index]


def charts(daily: pd.DataFrame, model_id: str, champion_id: str | None, price: float) -> tuple[Chart, ...]:
    """Rolling MAE and hit rate of the model and the champion over the model's dates, complete
    windows only (a window that reaches back before the first graded date is left out)."""
    ids = [model_id] + ([champion_id] if champion_id and champion_id != model_id else [])
    mine = rolling(daily, model_id, bet_price=price)
    series = {i: complete_windows(rolling(daily, i, bet_price=price), ROLLING_DAYS).reindex(mine.index) for i in ids}
    bet = series[model_id]["break_even"].dropna() if "break_even" in series[model_id] else pd.Series(dtype=float)
    even = float(bet.iloc[-1]) if len(bet) else 100.0 * break_even(price)  # the prices this model bet, latest
    note = f"a point once its {ROLLING_DAYS}-day window is complete (none on the first {ROLLING_DAYS - 1} dates)"
    mae = line_chart("mae", f"MAE, rolling {ROLLING_DAYS} days", "points", [(i, series[i]["mae"]) for i in ids], num)
    hit = line_chart(
        "hit", f"Hit rate, rolling {ROLLING_DAYS} days", "%", [(i, series[i]["hit_rate"]) for i in ids],
        lambda v: f"{v:.1f}", (even, f"break-even of the prices bet ({even:.1f}%)"),
    )  # fmt: skip
    return tuple(
        _with_table(c, note, [(i, series[i][col]) for i in ids]) for c, col in ((mae, "mae"), (hit, "hit_rate"))
    )


def _with_table(chart: Chart, note: str, lines: list[tuple[str, pd.Series]], digits: int = 2) -> Chart:
    """``chart`` with its caption note and its data-table fallback (a row per date, a column per line)."""
    from dataclasses import replace

    days = sorted({d for _, s in lines for d in _dates(s.dropna())})
    values = [{pd.Timestamp(k).date().isoformat(): v for k, v in s.dropna().items()} for _, s in lines]
    rows = tuple((d, *(("–" if d not in v else f"{v[d]:.{digits}f}") for v in values)) for d in days)
    return replace(chart, note=note, table=(("date", *(label for label, _ in lines)), *rows))


def money_charts(
    daily: pd.DataFrame, model_id: str, champion_id: str | None, window: tuple[date, date]
) -> tuple[tuple[Chart, ...], str]:
    """This model's cumulative units with their 95% band, bets per day as bars and the maximum
    drawdown marked; and the rolling probability CLV of the model and the champion."""
    path = units_path(daily, model_id, *window)
    dd = max_drawdown(path.cumulative)
    words = "units never fell" if dd is None else f"{dd.size:.1f} units, {dd.peak} → {dd.trough}"
    ids = [model_id] + ([champion_id] if champion_id and champion_id != model_id else [])
    lines = [(model_id, path.cumulative)] + [(i, units_path(daily, i, *window).cumulative) for i in ids[1:]]
    units = line_chart(
        "units", "Cumulative units at the prices bet, with this model's 95% interval (clustered by date)", "units",
        lines, lambda v: f"{v:+.1f}", (0.0, "0"), band=(path.low, path.high),
        bars=path.bets, sign=True, mark=(dd.peak, dd.trough, f"max drawdown {dd.size:.1f}") if dd else None,
    )  # fmt: skip
    table = [*lines, ("95% low", path.low), ("95% high", path.high), ("bets", path.bets)]
    whose = "each model's own graded dates" if len(ids) > 1 else "this model's graded dates"
    units = _with_table(units, f"{whose}; bets per day and the maximum drawdown ({words}) are this model's", table, 1)
    clv = [(i, rolling_clv(daily, i, ROLLING_DAYS)) for i in ids]
    clv_chart = line_chart(
        "clv", f"Probability CLV per bet, rolling {ROLLING_DAYS} days", "percentage points", clv,
        lambda v: f"{v:+.2f}", (0.0, "0"), sign=True,
    )  # fmt: skip
    note = "each bet's win probability read from the close minus its no-vig probability at the bet; complete windows"
    return (units, _with_table(clv_chart, note, clv)), words


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
    if not record.serves:  # a verdict is advice on a live challenger; a stopped one has none (its history stays)
        state = "retired" if record.is_retired else "disabled"
        return None, f"this model is {state}; only an enabled challenger has a live verdict"
    return data.verdict(data.catalog(models), record.model_id, rule), ""


def model_page(data: DashboardData, model_id: str, settings: Settings) -> ModelPage:
    """The page of ``model_id``; ``NotFound`` when the registry has no such model."""
    models = data.models()
    record = next((m for m in models if m.model_id == model_id), None)
    if record is None:
        raise NotFound(f"no model {model_id!r} in the registry")
    champion = next((m for m in models if m.is_champion), None)
    champion_id = champion.model_id if champion else None
    comparison, note = _verdict(data, models, record, VerdictRule.from_settings(settings))
    end, daily = data.grading.recent_daily(CHART_DAYS)
    window = (end - timedelta(days=CHART_DAYS - 1), end) if end else None
    money, drawdown = money_charts(daily, model_id, champion_id, window) if window else ((), "")
    rows = cal.read(data.engine, model_id, record.train_end, *window, settings.bet_price) if window else []
    return ModelPage(
        record=record,
        role=role(record),
        card=card_view(*read_file_facts(record, settings.max_model_bytes)),
        events=tuple(reversed(data.events(model_id))),
        charts=charts(daily, model_id, champion_id, settings.bet_price),
        money_charts=money,
        figures=window_figures(daily, *window).get(model_id) if window else None,
        drawdown=drawdown,
        calibration=cal.calibration(
            rows,
            max(window[0], record.train_end + timedelta(days=1)) if window else None,
            window[1] if window else None,
        ),
        champion_id=champion_id,
        comparison=comparison,
        differences=differences(comparison) if comparison else (),
        verdict_note=note,
        commands=commands(record, comparison),
        chart_days=CHART_DAYS,
        rolling_days=ROLLING_DAYS,
        window=window,
        previous=retrained_from(record, models),
    )
