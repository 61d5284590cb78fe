"""The home page a props team opens every morning: the now-strip, the leaderboard, family staleness.

Figures come from grading's own functions (``window_figures``, the numbers ``modelctl performance``
prints), verdicts from ``compare_models`` (what ``promote`` relies on), staleness from the
reminder's ``staleness`` counted to the latest graded date, workers from the worker's own store.
Nothing is re-derived here: this module picks, orders and formats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common.dashboard.data import DashboardData
from common.dashboard.views import ROLES, num, role
from common.errors import InvalidArgument
from common.grading.compare import Comparison, VerdictRule, interval
from common.grading.figures import WINDOWS, Figures, window_figures
from common.grading.objective import METRICS
from common.inventory import LEAGUE_TIME_ZONE
from common.manifest import ServingLag
from common.registry.model import ModelRecord
from common.reminder import FamilyStaleness, staleness
from common.settings import Settings
from common.worker.acks import WorkerAck, silent_after

SEASON = "season"
WINDOW_CHOICES = (*(str(w) for w in WINDOWS), SEASON)
LAST_SLATE_LOOKBACK_DAYS = 400  # the last slate is looked for this far back (an off-season is ~4 months)
SEASON_START_MONTH = 10  # a season's figures count from 1 October before the latest graded date
#: sort key → (label, higher is better)
SORTS = {
    "mae": ("MAE", False),
    "hit": ("Hit rate", True),
    "units": ("Units", True),
    "roi": ("ROI", True),
    "clv": ("CLV (points)", True),
}  # CLV: Figures.clv, the line's move toward the pick in points (not the verdict's no-vig CLV)


def season_start(end: date) -> date:
    """1 October of the season ``end`` belongs to (a date before October is the previous autumn's season)."""
    year = end.year if end.month >= SEASON_START_MONTH else end.year - 1
    return date(year, SEASON_START_MONTH, 1)


def signed(value: float | None, digits: int = 2, scale: float = 1.0, unit: str = "") -> str:
    return "–" if value is None else f"{scale * value:+.{digits}f}{unit}"


def bracket(low: float | None, high: float | None, digits: int = 2, scale: float = 1.0, unit: str = "") -> str:
    """``[−3.1%, +11.5%]``; empty when the interval is unknown."""
    if low is None or high is None:
        return ""
    return f"[{signed(low, digits, scale, unit)}, {signed(high, digits, scale, unit)}]"


# -- the leaderboard ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BoardRow:
    model_id: str
    role: str
    family: str
    mae: str
    hit: str  # "54.2% (118)"
    units: str
    roi: str
    roi_interval: str
    clv: str
    clv_interval: str
    verdict: str  # "champion", a challenger's verdict, or "–"
    driver: str  # the metric that drove the verdict, or ""
    keys: dict[str, float | None]  # the sortable values


def _row(m: ModelRecord, f: Figures | None, verdict: Comparison | None) -> BoardRow:
    get: Callable[[str], Any] = (lambda name: getattr(f, name)) if f else (lambda name: None)
    hit = get("hit_rate")
    return BoardRow(
        model_id=m.model_id,
        role=role(m),
        family=m.model_family,
        mae=num(get("mae")),
        hit="–" if hit is None else f"{hit:.1f}% ({get('n_bets')})",
        units=signed(get("units")),
        roi=signed(get("roi"), 1, 100.0, "%"),
        roi_interval=bracket(get("roi_low"), get("roi_high"), 1, 100.0, "%"),
        clv=signed(get("clv")),
        clv_interval=bracket(get("clv_low"), get("clv_high")),
        verdict="champion" if m.is_champion else (verdict.verdict if verdict else "–"),
        driver=(verdict.driver or "") if verdict else "",
        keys={"mae": get("mae"), "hit": hit, "units": get("units"), "roi": get("roi"), "clv": get("clv")},
    )


def _sorted(rows: list[BoardRow], sort: str) -> list[BoardRow]:
    """The champion pinned first; then by ``sort`` (best first, unknown last), then role and id."""
    better_high = SORTS[sort][1] if sort in SORTS else True
    order = {name: i for i, name in enumerate(ROLES)}

    def key(r: BoardRow) -> tuple[Any, ...]:
        value = r.keys.get(sort) if sort in SORTS else None
        rank = (value is None, 0.0 if value is None else (-value if better_high else value))
        return (r.role != "champion", *(rank if sort in SORTS else (False, 0.0)), order[r.role], r.family, r.model_id)

    return sorted(rows, key=key)


# -- the now-strip -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chip:
    model_id: str
    verdict: str
    metric: str  # the metric that drove the verdict (the objective while it keeps watching)
    evidence: str  # that metric's difference and its confidence sequence, over how many days


@dataclass(frozen=True)
class Flag:
    text: str
    href: str


@dataclass(frozen=True)
class NowStrip:
    champion: str | None
    units: str
    roi: str
    roi_interval: str
    mae: str
    bets: int
    days: int
    span: str  # "2025-10-01 → 2026-03-07", or "nothing graded yet"
    chips: tuple[Chip, ...]
    flags: tuple[Flag, ...]


def _chip(c: Comparison) -> Chip:
    key = (c.driver or c.objective).lower()
    key = key if key in METRICS else c.objective
    evidence = c.evidence(key)
    estimate = "–" if evidence.estimate is None else f"{evidence.estimate:+.3f}"
    way = "higher" if METRICS[key].better > 0 else "lower"  # the sign alone reads as "better" to most
    bounded = evidence.low is not None or evidence.high is not None  # else too few days for a finite side
    ci = interval(evidence) if bounded else "(interval not bounded yet)"
    text = (f"{evidence.metric} {estimate} {ci} over {evidence.days} days"
            f" (challenger − champion; {way} is better)")  # fmt: skip
    if not c.graded_days:  # not "[-inf, +inf] over 0 days"
        text = "no graded day shared with the champion yet"
    return Chip(c.challenger.model_id, c.verdict, evidence.metric, text)


def worker_flags(
    acks: list[WorkerAck], lag: ServingLag | None, serving: str, heard: tuple[datetime, timedelta], enabled: int
) -> list[Flag]:
    """Workers behind the manifest, silent (not heard from for ``heard[1]`` at ``heard[0]``:
    ``acks.silent_after``) or reporting a problem; no worker at all while ``enabled`` models
    should be served; and a manifest behind the registry."""
    generation = lag.manifest_generation if lag else None
    now, silence = heard
    flags = [
        Flag(f"worker {a.worker_id} serves generation {a.generation}; the manifest is at generation {generation}",
             "/operations#workers")
        for a in acks
        if a.behind(generation)
    ]  # fmt: skip
    flags += [Flag(f"worker {a.worker_id} not heard from since {a.acked_at:%Y-%m-%d %H:%M} UTC (it acknowledges at"
                   f" least every {_span(silence)} while running)", "/operations#workers")
              for a in acks if a.silent(now, silence)]  # fmt: skip
    if not acks and enabled:
        flags.append(Flag(f"no worker has acknowledged serving; {enabled} models are enabled", "/operations#workers"))
    flags += [Flag(f"worker {a.worker_id}: {a.problem}", "/operations#workers") for a in acks if a.problem]
    if lag is None or lag.behind:
        flags.append(Flag(f"serving manifest behind the registry (or not comparable): {serving}", "/operations"))
    return flags


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def league_today(now: datetime) -> date:
    """``now``'s date on the league's calendar (``inventory.LEAGUE_TIME_ZONE``): a US evening's slate
    is today's, even after midnight UTC."""
    return now.astimezone(ZoneInfo(LEAGUE_TIME_ZONE)).date()


def day_flags(day: date, predicted: int, graded: int) -> list[Flag]:
    """The last slate's predictions missing, or made and not graded."""
    if predicted == 0:
        return [Flag(f"no predictions for {day}", "/operations#days")]
    if graded == 0:
        return [Flag(f"{predicted} predictions for {day} are not graded", "/operations#days")]
    return []


# -- the page ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HomePage:
    now: NowStrip
    rows: tuple[BoardRow, ...]
    window: str
    windows: tuple[str, ...]
    sort: str
    sorts: dict[str, tuple[str, bool]]
    start: date | None
    end: date | None
    families: tuple[str, ...]
    roles: tuple[str, ...]
    family: str
    role: str
    total: int
    stale: tuple[FamilyStaleness, ...]
    stale_as_of: date
    stale_counted_to: str  # what the staleness is counted to, in words
    levels: tuple[int, int, int]


@dataclass(frozen=True)
class HomeQuery:
    """The page's query string; an unknown window or sort is refused with the valid values."""

    window: str = "30"
    sort: str = ""
    family: str = ""
    role: str = ""

    @classmethod
    def parse(cls, args: Any) -> HomeQuery:
        window, sort = str(args.get("window", "30")), str(args.get("sort", ""))
        if window not in WINDOW_CHOICES:
            raise InvalidArgument(f"window must be one of {', '.join(WINDOW_CHOICES)}, got {window!r}")
        if sort and sort not in SORTS:
            raise InvalidArgument(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        chosen = str(args.get("role", ""))
        if chosen and chosen not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}, got {chosen!r}")
        return cls(window=window, sort=sort, family=str(args.get("family", "")), role=chosen)


def home_page(data: DashboardData, query: HomeQuery, now: datetime, settings: Settings) -> HomePage:
    """The now-strip, the leaderboard of one window and the staleness panel (``web.PAGE_QUERIES``)
    at ``now`` (an aware moment)."""
    today, levels, rule = league_today(now), settings.reminder_levels, VerdictRule.from_settings(settings)
    models = data.models()
    catalog = data.catalog(models)
    end = data.latest_graded()
    first = season_start(end) if end else None
    daily = data.recent_daily((end - first).days + 1) if end and first else None
    start = first if query.window == SEASON or end is None else end - timedelta(days=int(query.window) - 1)
    figures = window_figures(daily, start, end) if daily is not None and start and end else {}
    verdicts = data.verdicts(catalog, rule)  # two queries for all challengers
    shown = [m for m in models if (not query.family or m.model_family == query.family)
             and (not query.role or role(m) == query.role)]  # fmt: skip
    rows = _sorted([_row(m, figures.get(m.model_id), verdicts.get(m.model_id)) for m in shown], query.sort)
    season = window_figures(daily, first, end) if daily is not None and first and end else {}
    counted_to = end or today
    stale = staleness(models, counted_to, levels)
    strip = _now_strip(data, models, season, verdicts, stale, (now, silent_after(settings)), (first, end))
    return HomePage(
        now=strip, rows=tuple(rows), window=query.window, windows=WINDOW_CHOICES, sort=query.sort, sorts=SORTS,
        start=start, end=end, families=tuple(sorted({m.model_family for m in models})), roles=ROLES,
        family=query.family, role=query.role, total=len(models), stale=tuple(stale), stale_as_of=counted_to,
        stale_counted_to="the latest graded date" if end else "today (nothing graded yet)", levels=levels,
    )  # fmt: skip


def _now_strip(
    data: DashboardData,
    models: list[ModelRecord],
    season: dict[str, Figures],
    verdicts: dict[str, Comparison],
    stale: list[FamilyStaleness],
    heard: tuple[datetime, timedelta],
    span: tuple[date | None, date | None],
) -> NowStrip:
    champion = next((m for m in models if m.is_champion), None)
    f = season.get(champion.model_id) if champion else None
    lag, serving = data.serving()
    flags = worker_flags(data.worker_acks(), lag, serving, heard, sum(m.serves for m in models))
    flags += [Flag(f"family {s.family} is critical: {s.days} days since training ended", "/#staleness")
              for s in stale if s.level == "critical"]  # fmt: skip
    today = league_today(heard[0])
    last = data.last_game_date(today, today - timedelta(days=LAST_SLATE_LOOKBACK_DAYS))
    flags += day_flags(last, *data.day_counts(last)) if last else []  # no game in a year: nothing to check
    return NowStrip(
        champion=champion.model_id if champion else None,
        units=signed(f.units if f else None),
        roi=signed(f.roi if f else None, 1, 100.0, "%"),
        roi_interval=bracket(f.roi_low, f.roi_high, 1, 100.0, "%") if f else "",
        mae=num(f.mae if f else None),
        bets=f.n_bets if f else 0,
        days=f.graded_days if f else 0,
        span=f"{span[0]} → {span[1]}" if span[1] else "nothing graded yet",
        chips=tuple(_chip(c) for c in verdicts.values()),
        flags=tuple(flags),
    )
