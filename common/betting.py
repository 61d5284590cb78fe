"""What a bet is: the one definition the worker, training's evaluation and grading share.

The rule (production's, everywhere):

* ``edge = prediction - line``, computed in float64 from float64 operands (a
  float32 input is widened first, never subtracted in float32);
* the recommendation is OVER when ``edge >= MIN_EDGE``, UNDER when
  ``edge <= -MIN_EDGE``, else PASS; no line (NULL/NaN) means PASS;
* a push is ``actual == line``; a *bet* is an OVER/UNDER with a line that did
  not push; OVER wins when ``actual > line``, UNDER when ``actual < line``;
* edge buckets on ``|edge|`` with inclusive lower bounds ``EDGE_BUCKET_BOUNDS``
  (``<1``, ``1-2``, ``2-3``, ``3-5``, ``5+``); "edge 3+" is ``|edge| >= EDGE_3PLUS``,
  the buckets whose lower bound is at least ``EDGE_3PLUS``.

Boundaries: every comparison is a plain IEEE-754 double comparison (``>=`` at a
lower bound, ``<`` at an upper one) with no epsilon and no rounding. The
thresholds are exactly representable doubles, and the SQL fragments below write
them as decimal literals that parse to the same double on BigQuery (FLOAT64) and
DuckDB (a DECIMAL literal compared with a DOUBLE column is widened to DOUBLE), so
an edge of exactly 1.0 or 3.0 — or one ulp below — classifies the same in numpy
and in SQL. The SQL side compares the ``edge`` the worker stored, which is the
very float64 :func:`edges` computes.

Settlement (at the bet's own price): a win pays ``100/|price|`` for a negative American price and
``price/100`` for a positive one, a loss costs 1 unit, a push returns the stake (neither a win nor a
loss); ``BET_PRICE`` (default ``DEFAULT_BET_PRICE``) applies only where a row has no price.
Closing-line value per bet: in points, the closing line minus the line bet, signed toward the pick;
in probability, the probability that the bet *as placed* (its side at its own line) wins, read from the
closing market, minus its no-vig probability at the bet, the vig removed by ``VIG_METHOD``
(multiplicative normalisation). The closing market is read at the bet's line by a logistic
line-to-probability model (:func:`no_vig_at_line`), so a line that moved toward the pick is value
gained even at the same closing prices; with an unmoved line it is the pick side's no-vig probability
at the close minus at the bet.

The same rule as SQL fragments (BigQuery dialect) lives in ``common/betting_sql.py``, built from
the constants of this module. Hit rate and ROI are computed here too (:func:`hit_rates`, :func:`rois`):
training's metrics, grading's figures, compare and the plot all divide through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_EDGE = 1.0  # |edge| below this is a PASS
#: American odds of every bet unless the data carries a price (setting ``BET_PRICE``): risk 110 to win 100
DEFAULT_BET_PRICE = -110.0
EDGE_3PLUS = 3.0  # "edge 3+" bets: |edge| at least this
#: inclusive lower bounds of the edge buckets on |edge|; the PASS zone and edge 3+ are bucket edges
EDGE_BUCKET_BOUNDS = (0.0, MIN_EDGE, 2.0, EDGE_3PLUS, 5.0)

OVER, UNDER, PASS = "OVER", "UNDER", "PASS"
RECOMMENDATIONS = (OVER, UNDER, PASS)  # the worker's categorical codes 0, 1, 2
# A pick's side and result as integers (the paired comparison's columns).
CALL_OVER, CALL_UNDER, NO_CALL = 1, -1, 0
WON, LOST, NO_BET = 1, 0, -1


def _bound(value: float) -> str:
    return f"{value:g}"


def _labels(bounds: tuple[float, ...]) -> tuple[str, ...]:
    """``<1``, ``1-2``, …, ``5+`` from the bounds (the labels stored in ``prediction_accuracy``)."""
    inner = [f"{_bound(lo)}-{_bound(hi)}" for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]
    return (f"<{_bound(bounds[1])}", *inner, f"{_bound(bounds[-1])}+")


EDGE_BUCKETS = _labels(EDGE_BUCKET_BOUNDS)
EDGE_3PLUS_BUCKETS = tuple(
    label for lo, label in zip(EDGE_BUCKET_BOUNDS, EDGE_BUCKETS, strict=True) if lo >= EDGE_3PLUS
)


# -- numpy: the worker and training ------------------------------------------------------
def edges(pred: Any, line: Any) -> np.ndarray:
    """``pred - line`` in float64 (NaN where there is no line)."""
    return np.asarray(pred, dtype=np.float64) - np.asarray(line, dtype=np.float64)


def recommendation_codes(edge: Any, min_edge: float = MIN_EDGE) -> np.ndarray:
    """Index into ``RECOMMENDATIONS`` per edge (int8): OVER, UNDER, or PASS (NaN edge included)."""
    e = np.asarray(edge, dtype=np.float64)
    return np.where(e >= min_edge, 0, np.where(e <= -min_edge, 1, 2)).astype(np.int8)


def recommend(edge: Any, min_edge: float = MIN_EDGE) -> np.ndarray:
    """The recommendation per edge as strings."""
    return np.asarray(RECOMMENDATIONS, dtype=object)[recommendation_codes(edge, min_edge)]


def win_payout(price: float) -> float:
    """Units a winning one-unit bet returns at American odds ``price`` (a loss costs 1):
    -110 -> 100/110, +120 -> 1.2. Odds strictly between -100 and +100 do not exist."""
    if price <= -100:
        return 100.0 / -price
    if price >= 100:
        return price / 100.0
    raise ValueError(f"American odds are <= -100 or >= +100, got {price:g}")


DEFAULT_PAYOUT = win_payout(DEFAULT_BET_PRICE)


def break_even(price: float = DEFAULT_BET_PRICE) -> float:
    """The hit rate (a fraction) at which bets at ``price`` neither win nor lose: 0.5238 at -110."""
    return 1.0 / (1.0 + win_payout(price))


def units(outcome: Any, payout: Any) -> np.ndarray:
    """Units won per pick from ``WON`` / ``LOST`` / ``NO_BET`` codes: +payout, -1, 0 (``payout``: one
    number, or one per pick from :func:`win_payouts` — each bet settled at its own price)."""
    codes = np.asarray(outcome)
    return np.where(codes == WON, payout, np.where(codes == LOST, -1.0, 0.0))


# -- rates: hit rate and ROI, the one arithmetic every report uses ---------------------
def ratios(total: Any, count: Any, scale: float = 1.0) -> np.ndarray:
    """``scale * total / count`` per element (float64), NaN where ``count`` is 0: the hit rate, ROI
    or mean CLV of each row of per-day or per-window sums (a row with nothing to divide is unknown)."""
    t, n = np.asarray(total, dtype=np.float64), np.asarray(count, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, scale * t / np.where(n > 0, n, 1.0), np.nan)


def hit_rates(hits: Any, bets: Any) -> np.ndarray:
    """Percent of bets won per element: ``100 * hits / bets``, NaN without bets (pushes and PASS
    are not bets, so they are in neither count)."""
    return ratios(hits, bets, 100.0)


def rois(units: Any, bets: Any) -> np.ndarray:
    """Return on investment per element: units won per one-unit bet, NaN without bets."""
    return ratios(units, bets)


def _scalar(value: np.ndarray) -> float | None:
    number = float(value)
    return None if np.isnan(number) else number


def hit_rate(hits: float, bets: float) -> float | None:
    """Percent of ``bets`` won (:func:`hit_rates` for one count), None without bets."""
    return _scalar(hit_rates(hits, bets))


def roi(units: float, bets: float) -> float | None:
    """Units won per bet (:func:`rois` for one count), None without bets."""
    return _scalar(rois(units, bets))


# -- prices: a bet settled where it was placed ------------------------------------------
#: How the bookmaker's margin (vig) is taken out of a two-sided price: each side's implied
#: probability (its break-even) divided by the sum of both, so the two no-vig probabilities sum to 1
#: ("multiplicative" or "basic" normalisation). The SQL fragments below use the same formula.
VIG_METHOD = "multiplicative"
#: Logistic scale, per square root of a point of the line, of a player's points around the market's
#: estimate. A player's per-game points are an overdispersed Poisson count: their sd grows like the
#: square root of their mean, σ ≈ 1.5·sqrt(line) points for NBA players (a Poisson sd of sqrt(mean)
#: inflated by ~1.5 for overdispersion). The logistic that matches a normal of sd σ has scale
#: σ/1.702, so s = 1.5/1.702 ≈ 0.88 per sqrt(point): at a line of 20.5 a one-point move shifts the
#: over's log-odds by 1/(0.88·sqrt(20.5)) ≈ 0.25, about 6 points of probability near 50%.
CLV_LOGISTIC_SCALE_PER_SQRT_POINT = 0.88


def prices(price: Any, default: float = DEFAULT_BET_PRICE) -> np.ndarray:
    """American odds per pick as float64, ``default`` (``BET_PRICE``) where a row has no price."""
    p = np.asarray(price, dtype=np.float64)
    return np.where(np.isnan(p), default, p)


def win_payouts(price: Any, default: float = DEFAULT_BET_PRICE) -> np.ndarray:
    """:func:`win_payout` per pick (``default`` where there is no price): 100/|price| below -100,
    price/100 from +100 up. Raises ``ValueError`` for odds strictly between -100 and +100."""
    p = prices(price, default)
    if ((p > -100) & (p < 100)).any():
        bad = p[(p > -100) & (p < 100)][0]
        raise ValueError(f"American odds are <= -100 or >= +100, got {bad:g}")
    return np.where(p <= -100, 100.0 / -np.minimum(p, -100.0), np.maximum(p, 100.0) / 100.0)


def break_evens(price: Any, default: float = DEFAULT_BET_PRICE) -> np.ndarray:
    """:func:`break_even` per pick (``default`` where there is no price)."""
    return 1.0 / (1.0 + win_payouts(price, default))


def pick_prices(side: Any, over_price: Any, under_price: Any, default: float = DEFAULT_BET_PRICE) -> np.ndarray:
    """The price of the side picked (``OVER`` / ``UNDER`` strings or ``CALL_*`` codes): the over
    price for an OVER, the under price otherwise; ``default`` where that price is missing."""
    s = np.asarray(side, dtype=object)
    over = (s == OVER) | (s == CALL_OVER)
    return prices(np.where(over, np.asarray(over_price, dtype=np.float64), np.asarray(under_price, dtype=np.float64)),
                  default)  # fmt: skip


def no_vig(over_price: Any, under_price: Any, default: float = DEFAULT_BET_PRICE) -> tuple[np.ndarray, np.ndarray]:
    """(over, under) probabilities with the vig removed by ``VIG_METHOD`` (multiplicative)."""
    over, under = break_evens(over_price, default), break_evens(under_price, default)
    return over / (over + under), under / (over + under)


def settle(
    bets: Bets, over_price: Any = np.nan, under_price: Any = np.nan, default: float = DEFAULT_BET_PRICE
) -> np.ndarray:
    """Units per pick, each bet at its own price: +win_payout(price of the side picked) for a win,
    -1 for a loss, 0 for a push, a PASS or no line (the stake comes back; neither win nor loss)."""
    side = np.where(bets.over, OVER, UNDER)
    payout = win_payouts(pick_prices(side, np.broadcast_to(over_price, bets.bet.shape),
                                     np.broadcast_to(under_price, bets.bet.shape), default))  # fmt: skip
    return np.where(bets.won, payout, np.where(bets.bet, -1.0, 0.0))


def clv_points(bets: Bets, line: Any, closing_line: Any) -> np.ndarray:
    """Closing-line value of each bet in points: closing line minus the bet line, signed toward the
    pick (up for an OVER, down for an UNDER); NaN for no bet or no closing line."""
    move = np.asarray(closing_line, dtype=np.float64) - np.asarray(line, dtype=np.float64)
    return np.where(bets.bet, np.where(bets.over, move, -move), np.nan)


def no_vig_at_line(
    line: Any, market_line: Any, over_price: Any, under_price: Any, default: float = DEFAULT_BET_PRICE
) -> tuple[np.ndarray, np.ndarray]:
    """(over, under) probabilities at ``line`` read from a market quoted at ``market_line``: with the
    market's no-vig over-probability p at its line, P(over at line) = sigmoid(logit(p) + (market_line
    - line) / s), s = ``CLV_LOGISTIC_SCALE_PER_SQRT_POINT`` * sqrt(max(market_line, 1)); under is 1 -
    that. Computed as odds (``be_over * k / (be_over * k + be_under)``, k = exp((market_line - line) / s)),
    so at ``line == market_line`` it is exactly :func:`no_vig`."""
    ln, mkt = np.asarray(line, dtype=np.float64), np.asarray(market_line, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.exp((mkt - ln) / (CLV_LOGISTIC_SCALE_PER_SQRT_POINT * np.sqrt(np.maximum(mkt, 1.0))))
    over, under = break_evens(over_price, default) * k, break_evens(under_price, default)
    return over / (over + under), under / (over + under)


def clv_prob(
    bets: Bets,
    line: Any,
    closing_line: Any,
    bet_prices: tuple[Any, Any],
    closing_prices: tuple[Any, Any],
    default: float = DEFAULT_BET_PRICE,
) -> np.ndarray:
    """Closing-line value of each bet in probability: the probability that the bet as placed (its
    side at ``line``) wins, read from the closing market (``closing_line`` and ``closing_prices``) by
    :func:`no_vig_at_line`, minus the pick side's no-vig probability at the bet (``VIG_METHOD``);
    NaN for no bet or no closing market (line or either price). Missing prices at the bet are
    ``default`` (``BET_PRICE``) on both sides."""
    shape = bets.bet.shape

    def wide(values: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(values, dtype=np.float64), shape)

    at_bet = no_vig(wide(bet_prices[0]), wide(bet_prices[1]), default)
    close_over, close_under, close_line = wide(closing_prices[0]), wide(closing_prices[1]), wide(closing_line)
    known = ~np.isnan(close_over) & ~np.isnan(close_under) & np.isfinite(close_line)
    at_close = no_vig_at_line(wide(line), np.where(known, close_line, 1.0), np.where(known, close_over, default),
                              np.where(known, close_under, default), default)  # fmt: skip
    value = np.where(bets.over, at_close[0] - at_bet[0], at_close[1] - at_bet[1])
    return np.where(bets.bet & known, value, np.nan)


@dataclass(frozen=True)
class Bets:
    """Row masks of one set of predictions graded by the rule."""

    over: np.ndarray  # OVER calls
    under: np.ndarray  # UNDER calls
    push: np.ndarray  # actual == line (with a line)
    bet: np.ndarray  # OVER/UNDER with a line, not a push
    won: np.ndarray  # bets won
    edge_3plus: np.ndarray  # bets with |edge| >= EDGE_3PLUS


def grade(pred: Any, actual: Any, line: Any) -> Bets:
    """Grade predictions against outcomes and lines exactly as production does."""
    p, a, ln = (np.asarray(v, dtype=np.float64) for v in (pred, actual, line))
    edge = edges(p, ln)
    codes = recommendation_codes(edge)
    over, under = codes == 0, codes == 1
    push = a == ln  # False where the line is NaN
    bet = (over | under) & ~np.isnan(ln) & ~push
    won = bet & ((over & (a > ln)) | (under & (a < ln)))
    return Bets(over, under, push, bet, won, bet & (np.abs(edge) >= EDGE_3PLUS))
