"""Intervals (common/grading/uncertainty.py) against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from common.grading.uncertainty import UNKNOWN, above, clustered_mean, clustered_ratio, money, wilson


def test_wilson_by_hand() -> None:
    z = stats.norm.ppf(0.975)
    p, n = 596 / 1098, 1098
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    got = wilson(596, 1098)
    assert (got.estimate, got.low, got.high) == pytest.approx((p, centre - half, centre + half))
    assert round(got.low, 3) == 0.513 and round(got.high, 3) == 0.572  # 54.3%: [51.3, 57.2]
    assert above(got, 110 / 210) is False  # contains break-even at -110: not shown as a winner
    assert above(wilson(90, 100), 110 / 210) is True
    assert wilson(0, 0) == UNKNOWN and above(UNKNOWN, 0.5) is None
    assert wilson(0, 5).low == 0.0 and wilson(5, 5).high == 1.0


def test_clustered_ratio_by_hand() -> None:
    """Units per bet over three dates: CR1 linearised variance, t with 2 degrees of freedom."""
    units, bets = np.array([3.0, -2.0, 1.0]), np.array([10.0, 5.0, 5.0])
    r = 2.0 / 20.0
    resid = units - r * bets  # 2.0, -2.5, 0.5
    var = 3 / 2 * float(np.sum(resid**2)) / 20.0**2
    half = stats.t.ppf(0.975, 2) * math.sqrt(var)
    got = clustered_ratio(units, bets)
    assert (got.estimate, got.low, got.high) == pytest.approx((r, r - half, r + half))
    one_day = clustered_ratio([3.0], [10.0])
    assert one_day.estimate == pytest.approx(0.3) and (one_day.low, one_day.high) == (None, None)  # unknown, not 0
    assert clustered_ratio([], []) == UNKNOWN and clustered_ratio([np.nan, 1.0], [0, 0]) == UNKNOWN
    mean = clustered_mean([0.1, np.nan, 0.3])
    assert mean.estimate == pytest.approx(0.2) and mean.low < 0.2 < mean.high


def test_a_night_that_moves_every_bet_widens_the_interval() -> None:
    """The same 400 bets, independent vs clustered in 8 nights that each win or lose together: the
    date-clustered interval is wider for the clustered ones (a per-bet interval would not see it)."""
    rng = np.random.default_rng(0)
    bets = np.full(8, 50.0)
    independent = rng.binomial(50, 0.5, 8) * (2 - 0.1) - 50  # per-night units, bets independent
    shocked = np.where(np.arange(8) % 2 == 0, 40.0, -40.0) + independent * 0.1
    wide = clustered_ratio(shocked, bets)
    narrow = clustered_ratio(independent, bets)
    assert wide.high - wide.low > 2 * (narrow.high - narrow.low)


def test_money_figures_keep_counts_and_unknowns() -> None:
    m = money([3, 0], [5, 0], [1.2, 0.0], [2.6, np.nan], ([0.5, 0.0], [2, 0]), ([0.02, 0.0], [2, 0]))
    assert (m.n_bets, m.n_dates, m.n_clv) == (5, 1, 2)
    assert m.hit_rate.estimate == pytest.approx(60.0) and m.break_even == pytest.approx(52.0)
    assert m.roi.estimate == pytest.approx(0.24) and m.roi.low is None  # one date: no interval
    assert m.units.estimate == pytest.approx(1.2) and m.units.low is None
    assert m.clv.estimate == pytest.approx(0.25) and m.clv_prob.estimate == pytest.approx(0.01)
    flat = m.flat()
    assert flat["roi_low"] is None and flat["above_break_even"] is False


def test_a_window_with_unknown_units_shows_unknown_roi_and_intervals() -> None:
    """A day with bets but no units (graded before 012) makes units, ROI and their intervals unknown."""
    from datetime import date

    import pandas as pd

    from common.grading.figures import window_figures
    from common.grading.queries import DAILY_COLUMNS

    days = [date(2026, 3, d) for d in (1, 2, 3)]
    daily = pd.DataFrame({c: [np.nan] * 3 for c in DAILY_COLUMNS})
    daily = daily.assign(game_date=days, system_id="m", role="champion", n=10, n_bets=[5, 6, 4], n_hits=[3, 4, 2],
                         n_pushes=0, n_pass=0, n_edge_3plus=0, n_hits_edge_3plus=0, n_pending=0, n_void=0, n_clv=0,
                         in_sample=False, units=[1.5, 2.0, -0.5], break_even=0.52)  # fmt: skip
    known = window_figures(daily, days[0], days[-1])["m"]
    assert known.units == pytest.approx(3.0) and known.roi_low is not None and known.n_dates == 3
    assert known.clv is None and known.clv_low is None and known.n_clv == 0  # no closing market: unknown
    unknown = window_figures(daily.assign(units=[1.5, np.nan, -0.5]), days[0], days[-1])["m"]
    assert (unknown.units, unknown.roi, unknown.roi_low, unknown.units_high) == (None, None, None, None)
    assert unknown.hit_rate_low is not None  # the hit rate does not need units


def test_no_spread_between_dates_is_an_unknown_interval_not_a_certain_one() -> None:
    """Two nights of one bet each, both lost: ROI -1 with the interval [-1, -1] claimed certainty from
    two bets. As the module says, no spread to estimate from is an unknown interval, never zero width."""
    m = money([0, 0], [1, 1], [-1.0, -1.0], [0.5, 0.5], ([0.0, 0.0], [1, 1]), ([0.0, 0.0], [1, 1]))
    assert m.roi.estimate == -1.0 and (m.roi.low, m.roi.high) == (None, None)
    assert m.units.estimate == -2.0 and (m.units.low, m.units.high) == (None, None)
    assert m.clv.estimate == 0.0 and (m.clv.low, m.clv.high) == (None, None)  # no line ever moved
    flat = m.flat()
    assert flat["roi_low"] is None and flat["clv_prob_high"] is None
    spread = clustered_ratio([-1.0, 10 / 11], [1, 1])  # one lost, one won at -110: a spread, an interval
    assert spread.low is not None and spread.low < spread.estimate < spread.high


def test_the_quantiles_are_scipy_stats_own() -> None:
    """``_quantile`` calls the special functions behind ``scipy.stats`` (0.6 s less to import): the same values."""
    from common.grading.uncertainty import _quantile

    assert _quantile() == stats.norm.ppf(0.975)
    assert [_quantile(df) for df in (1, 2, 5, 13, 29, 200)] == [stats.t.ppf(0.975, df) for df in (1, 2, 5, 13, 29, 200)]
