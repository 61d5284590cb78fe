"""The sequential verdict's properties on small seeded cases: coverage under repeated looks, the
closed form against its definition, a monotone running intersection, margins, Bonferroni, drivers.

Timing and the season-long error rates are the bench's business (bench/bench_verdict.py).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from common import betting
from common.errors import ConfigError
from common.grading.compare import (
    ALPHA,
    KEEP_WATCHING,
    PROMOTE,
    RETIRE,
    VERDICTS,
    VerdictRule,
    compare_pairs,
    verdict_codes,
)
from common.grading.sequential import confidence_sequence, first_bounded_day, latest
from common.settings import Settings

INF = math.inf


def lai_statistic(x: np.ndarray, m: float, c: float = 1.0) -> float:
    """L_t(m) straight from its definition (sequential.py's docstring), for the closed form to match."""
    t, q, d = len(x), float(((x - m) ** 2).sum()), float((x - m).sum())
    return math.sqrt(c / (t + c)) * (q / (q - d * d / (t + c))) ** (t / 2)


def test_closed_form_bounds_are_where_the_mixture_reaches_one_over_alpha() -> None:
    x = np.random.default_rng(3).normal(0.4, 1.0, 25)
    alpha = 0.05
    raw_low, raw_high = confidence_sequence(x, alpha, intersect=False)
    low, high = confidence_sequence(x, alpha)
    for t in (8, 15, 25):
        lo, hi = float(raw_low[t - 1]), float(raw_high[t - 1])
        assert lai_statistic(x[:t], lo) == pytest.approx(1 / alpha, rel=1e-9)
        assert lai_statistic(x[:t], hi) == pytest.approx(1 / alpha, rel=1e-9)
        assert lai_statistic(x[:t], (lo + hi) / 2) < 1 / alpha
        assert lai_statistic(x[:t], hi + 0.01) > 1 / alpha and lai_statistic(x[:t], lo - 0.01) > 1 / alpha
        assert lo <= low[t - 1] <= high[t - 1] <= hi  # the intersection lies inside each day's CS
    assert low[-1] == raw_low.max() and high[-1] == raw_high.min()


def test_the_sequence_covers_the_mean_at_every_look_at_once() -> None:
    rng = np.random.default_rng(20261202)
    alpha, truth = 0.1, 0.3
    cases = {
        "normal": truth + rng.normal(0, 1, (600, 80)),
        # uneven slates: the daily sd varies with the number of player-games
        "uneven": truth + rng.normal(0, 1, (600, 80)) * np.sqrt(0.09 + 2.0 / rng.integers(40, 200, (600, 80))),
    }
    for name, x in cases.items():
        low, high = confidence_sequence(x, alpha)
        ever_missed = ((low > truth) | (high < truth)).any(axis=1).mean()
        assert ever_missed <= alpha, name
        # whereas a fixed 90% t-interval looked at every day misses far more often
        t = np.arange(1, 81)
        mean = np.cumsum(x, axis=1) / t
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt((np.cumsum(x * x, axis=1) - t * mean**2) / (t - 1) / t)
        naive = (np.abs(mean - truth) > 1.645 * se)[:, 4:].any(axis=1).mean()
        assert naive > 2 * alpha, name


def test_running_intersection_only_narrows_and_skips_days_without_data() -> None:
    x = np.random.default_rng(5).normal(-0.2, 0.5, 40)
    x[[10, 11, 25]] = np.nan  # no bets of one model those days
    low, high = confidence_sequence(x, 0.025)
    assert (low[1:] >= low[:-1]).all() and (high[1:] <= high[:-1]).all()
    assert low[11] == low[9] and high[11] == high[9] and high[25] == high[24]
    first = first_bounded_day(0.025)
    assert first == 6
    assert np.isinf(high[: first - 1]).all() and np.isfinite(high[first - 1 :]).all()  # days 1-5 open
    assert latest(confidence_sequence(x[:3], 0.025)) == (None, None)
    assert latest((low, high)) == (float(low[-1]), float(high[-1]))


def test_margins_decide_and_name_the_driver() -> None:
    rule = VerdictRule(margin_mae=0.05, margin_roi=0.01)

    def verdict(mae: tuple[float, float], roi: tuple[float, float]) -> tuple[str, bool, bool]:
        code, by_mae, by_roi = verdict_codes(mae, roi, rule)
        return VERDICTS[int(code)], bool(by_mae), bool(by_roi)

    open_roi = (-INF, INF)
    assert verdict((-0.30, -0.06), open_roi) == (PROMOTE, True, False)
    assert verdict((-0.30, -0.04), open_roi) == (KEEP_WATCHING, False, False)  # better, not by the margin
    assert verdict((-0.30, -0.05), open_roi) == (KEEP_WATCHING, False, False)  # exactly the margin: not beyond
    assert verdict((-0.10, 0.10), (0.011, 0.2)) == (PROMOTE, False, True)  # ROI drove it
    assert verdict((-0.10, 0.10), (0.009, 0.2)) == (KEEP_WATCHING, False, False)
    assert verdict((-0.30, -0.06), (0.02, 0.2)) == (PROMOTE, True, True)
    assert verdict((-0.30, -0.06), (-0.2, -0.01)) == (KEEP_WATCHING, False, False)  # conflicting
    assert verdict((0.01, 0.30), (-0.1, 0.1)) == (RETIRE, True, False)
    assert verdict((-0.1, 0.3), (-0.2, -0.001)) == (RETIRE, False, True)
    assert verdict((-0.10, -0.20), open_roi) == (KEEP_WATCHING, False, False)  # empty intersection
    # vectorised: the bench runs the same rule on whole seasons
    codes, _, _ = verdict_codes((np.array([-0.3, -0.3]), np.array([-0.06, -0.04])), open_roi, rule)
    assert [VERDICTS[c] for c in codes] == [PROMOTE, KEEP_WATCHING]


def season(days: int, per_day: int, shift: float, swing: float, seed: int) -> pd.DataFrame:
    """Paired player-games: the challenger's error is the champion's + shift + a per-date effect + noise;
    outcomes random and shared (no ROI difference)."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    err_b = rng.uniform(1, 9, n)
    err_a = err_b + shift + np.repeat(rng.normal(0, swing, days), per_day) + rng.normal(0, 1.0, n)
    outcome = rng.choice([betting.WON, betting.LOST, betting.NO_BET], n)
    first = date(2026, 3, 1)
    return pd.DataFrame({
        "game_date": np.repeat([first + timedelta(days=i) for i in range(days)], per_day),
        "err_a": err_a, "err_b": err_b, "outcome_a": outcome, "outcome_b": outcome,
        "call_a": 1, "call_b": 1, "edge3_a": False, "edge3_b": False,
    })  # fmt: skip


def test_equal_models_with_a_date_effect_never_promote_in_nightly_checks() -> None:
    # 200 player-games a night: counted player by player, the night-to-night swing looks like
    # significance on some night of most seasons; counted by date, 40 nightly looks never promote.
    naive_fired = 0
    for seed in range(1, 6):
        frame = season(40, 200, shift=0.0, swing=0.6, seed=seed)
        dates = sorted(set(frame["game_date"]))
        for d in dates:
            so_far = frame[frame["game_date"] <= d]
            assert compare_pairs(so_far, "b", "a").verdict != PROMOTE, (seed, d)
        diff = frame["err_a"] - frame["err_b"]
        t = np.arange(1, len(diff) + 1)
        ends = np.flatnonzero(np.r_[frame["game_date"].to_numpy()[1:] != frame["game_date"].to_numpy()[:-1], True])
        mean = (np.cumsum(diff) / t)[ends]
        se = (np.sqrt(np.cumsum(diff**2) / t - (np.cumsum(diff) / t) ** 2) / np.sqrt(t))[ends]
        naive_fired += bool((mean + 1.96 * se < 0)[1:].any())  # the player-game interval, every night
    assert naive_fired >= 2


def test_compare_uses_bonferroni_sequences_on_daily_differences_and_the_margin_setting() -> None:
    frame = season(12, 60, shift=-0.5, swing=0.1, seed=2)
    c = compare_pairs(frame, "b", "a")
    daily = (frame["err_a"] - frame["err_b"]).groupby(frame["game_date"]).mean().to_numpy()
    low, high = latest(confidence_sequence(daily, ALPHA / 2))
    assert (c.mae.low, c.mae.high, c.mae.estimate) == pytest.approx((low, high, daily.mean()), rel=1e-12)
    assert c.verdict == PROMOTE and c.driver == "MAE" and c.mae.high is not None
    strict = Settings.from_env({"PROMOTION_MARGIN_MAE": str(-c.mae.high + 0.01)})
    kept = compare_pairs(frame, "b", "a", rule=VerdictRule.from_settings(strict))
    assert kept.verdict == KEEP_WATCHING and kept.mae == c.mae
    assert f"at least {strict.promotion_margin_mae:g} points of MAE" in kept.rule
    assert c.roi.estimate == 0.0 and c.roi.low is not None and c.roi.low <= 0 <= c.roi.high  # identical bets


def test_bet_price_is_one_definition() -> None:
    assert betting.win_payout(betting.DEFAULT_BET_PRICE) == 100 / 110
    assert betting.win_payout(150) == 1.5 and betting.win_payout(-100) == 1.0
    assert betting.break_even() == pytest.approx(110 / 210)
    with pytest.raises(ValueError):
        betting.win_payout(-99)
    codes = np.array([betting.WON, betting.LOST, betting.NO_BET])
    assert betting.units(codes, 0.5).tolist() == [0.5, -1.0, 0.0]
    assert VerdictRule.from_settings(Settings.from_env({"BET_PRICE": "+120"})).payout == 1.2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BET_PRICE": "-50"}, "BET_PRICE must be American odds"),
        ({"BET_PRICE": "evens"}, "BET_PRICE must be a number"),
        ({"PROMOTION_MARGIN_MAE": "-0.1"}, "PROMOTION_MARGIN_MAE must be zero or more"),
        ({"PROMOTION_MARGIN_ROI": "a lot"}, "PROMOTION_MARGIN_ROI must be a number"),
    ],
)
def test_bad_verdict_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
    defaults = Settings.from_env({})
    assert (defaults.bet_price, defaults.promotion_margin_mae, defaults.promotion_margin_roi) == (-110, 0.05, 0.01)
