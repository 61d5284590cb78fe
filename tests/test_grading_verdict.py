"""The sequential verdict's properties on small seeded cases: coverage under repeated looks, the
closed form against its definition, a monotone running intersection, the objective and its guards,
coverage under AR(1) nights, the restart after a contradiction, no zero-width interval, drivers.

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
    sequential_evidence,
)
from common.grading.objective import METRICS, challenger_share, disagreement, verdict_codes
from common.grading.sequential import (
    BLOCK_NIGHTS,
    block_means,
    change_point,
    confidence_sequence,
    first_bounded_day,
    latest,
    monitor,
)
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


def test_the_objective_decides_and_the_others_only_guard() -> None:
    margins = VerdictRule(margin_mae=0.05, margin_roi=0.01, margin_clv=0.0025).margins
    open_ = (-INF, INF)

    def verdict(objective: str, **bounds: tuple[float, float]) -> tuple[str, bool]:
        code, blocked = verdict_codes({"mae": open_, "clv": open_, "roi": open_, **bounds}, objective, margins)
        return VERDICTS[int(code)], bool(blocked)

    assert verdict("mae", mae=(-0.30, -0.06)) == (PROMOTE, False)
    assert verdict("mae", mae=(-0.30, -0.05)) == (KEEP_WATCHING, False)  # exactly the margin: not beyond
    assert verdict("clv", mae=(-0.30, -0.06)) == (KEEP_WATCHING, False)  # MAE is a guard for a clv family
    assert verdict("clv", clv=(0.003, 0.02)) == (PROMOTE, False)
    assert verdict("clv", clv=(0.003, 0.02), mae=(0.06, 0.3)) == (KEEP_WATCHING, True)  # worse by > margin: blocked
    assert verdict("clv", clv=(0.003, 0.02), mae=(0.01, 0.3)) == (PROMOTE, False)  # worse, not beyond the margin
    assert verdict("roi", roi=(0.011, 0.2), clv=(-0.02, -0.003)) == (KEEP_WATCHING, True)
    assert verdict("roi", roi=(-0.2, -0.001)) == (RETIRE, False)
    assert verdict("mae", roi=(-0.2, -0.02)) == (RETIRE, False)  # harm on a guard, objective not better
    # vectorised: the bench runs the same rule on whole seasons
    codes, _ = verdict_codes({"mae": (np.array([-0.3, -0.3]), np.array([-0.06, -0.04]))}, "mae", margins)
    assert [VERDICTS[c] for c in codes] == [PROMOTE, KEEP_WATCHING]


def test_disagreement_is_one_line_naming_both_sides() -> None:
    note = disagreement({"mae": -0.2, "clv": None, "roi": -0.03})
    assert note == (
        "the metrics disagree: the challenger has better MAE (-0.200 points) but fewer units "
        "(-0.030 units per bet) (mean daily differences)"
    )
    assert disagreement({"mae": -0.2, "clv": 0.01, "roi": 0.03}) is None  # all better
    assert disagreement({"mae": None, "clv": None, "roi": None}) is None


def ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float) -> np.ndarray:
    e = rng.normal(0, np.sqrt(1 - rho * rho), shape)
    x = np.empty(shape)
    x[:, 0] = rng.normal(0, 1, shape[0])
    for t in range(1, shape[1]):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    return x


def test_block_means_keep_coverage_under_ar1_nights_where_daily_sequences_lose_it() -> None:
    rng = np.random.default_rng(20261206)
    alpha, truth = 0.05, 0.2
    x = truth + ar1(rng, (1500, 120), rho=0.4)
    seq = monitor(x, alpha, floor=0.0)
    missed = ((seq.low > truth) | (seq.high < truth)).any(axis=1).mean()
    assert missed <= alpha / 2  # the first segment runs at alpha / 2
    low, high = confidence_sequence(x, alpha / 2)  # the same level on the raw nights
    assert ((low > truth) | (high < truth)).any(axis=1).mean() > 2 * alpha / 2
    blocks = block_means(np.array([1.0, np.nan, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 5)
    assert np.isnan(blocks[:5]).all() and blocks[5] == 3.0 and blocks[10] == 8.0  # NaN nights skipped


def test_a_contradiction_is_reported_and_the_sequence_restarts_at_half_the_level() -> None:
    rng = np.random.default_rng(7)
    x = np.r_[rng.normal(0.0, 0.05, 60), rng.normal(1.0, 0.05, 60)]  # the difference jumps on night 61
    seq = monitor(x, 0.05, floor=0.01)
    night = int(np.flatnonzero(seq.contradicted)[0])
    assert 60 <= night < 120 and seq.segment[-1] == 2 and seq.start[-1] == night + 1
    assert (seq.low <= seq.high).all()  # never inverted, never frozen
    assert np.isinf(seq.high[night]) and np.isfinite(seq.high[night - 1])  # the restart opens the interval
    dates = pd.date_range("2026-01-01", periods=len(x))
    e = sequential_evidence("mae", x, dates, 0.025)  # compare's floor for MAE and a challenger's level
    night = int(np.flatnonzero(monitor(x, 0.025, METRICS["mae"].floor / np.sqrt(BLOCK_NIGHTS)).contradicted)[0])
    assert e.detected == dates[night].date() and e.since == dates[night + 1].date() and e.alpha == 0.025 / 4
    assert e.changed == dates[60].date()  # the estimated change, not the detection night
    assert change_point(np.r_[np.zeros(10), np.ones(5)]) == 10 and change_point([1.0]) == -1
    c = compare_pairs(season(120, 5, 0.0, 0.0, 1).assign(err_a=lambda f: f["err_b"] + np.repeat(x, 5)), "b", "a")
    assert "the MAE difference changed around 2026-04-30 (its confidence sequence contradicted itself" in c.reason
    cut = sequential_evidence("mae", x[: night + 1], dates[: night + 1], 0.025)  # the contradiction is the last night
    assert (cut.detected, cut.since, cut.days, cut.estimate, cut.high) == (dates[night].date(), None, 0, None, None)
    assert cut.alpha == 0.025 / 4 and cut.changed == dates[60].date()


@pytest.mark.parametrize("series", [np.full(60, 0.06), np.zeros(60), np.tile([1.0, -1.0, 0.0], 20)])
def test_degenerate_nights_never_give_a_zero_width_interval(series: np.ndarray) -> None:
    """Constant differences, identical bets (all 0) and a single bet a night (+-1 or 0)."""
    for key in ("mae", "clv", "roi"):
        seq = monitor(series, 0.025, METRICS[key].floor / np.sqrt(BLOCK_NIGHTS))
        finite = np.isfinite(seq.high)
        assert not finite[: 5 * first_bounded_day(0.0125) - 1].any()  # nothing before 6 blocks
        assert (seq.high[finite] - seq.low[finite] > 0.5 * METRICS[key].floor / np.sqrt(BLOCK_NIGHTS)).all()
    # a constant 0.06 improvement in MAE is not a promotion on night 6 (it was before issue 21)
    frame = season(6, 10, shift=0.0, swing=0.0, seed=1).assign(err_a=lambda f: f["err_b"] - 0.06)
    assert compare_pairs(frame, "b", "a").verdict == KEEP_WATCHING


def test_challenger_shares_sum_below_alpha() -> None:
    shares = [challenger_share(k) for k in range(1, 10_000)]
    assert shares[:3] == [1 / 2, 1 / 6, 1 / 12] and sum(shares) < 1
    with pytest.raises(ValueError):
        challenger_share(0)


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


def test_compare_monitors_block_means_at_the_challengers_share_and_the_margin_setting() -> None:
    frame = season(40, 60, shift=-0.5, swing=0.1, seed=2)
    c = compare_pairs(frame, "b", "a")
    daily = (frame["err_a"] - frame["err_b"]).groupby(frame["game_date"]).mean().to_numpy()
    floor = METRICS["mae"].floor / np.sqrt(BLOCK_NIGHTS)
    low, high = latest(confidence_sequence(block_means(daily), ALPHA / 2 / 2, floor=floor))
    assert (c.mae.low, c.mae.high, c.mae.estimate) == pytest.approx((low, high, daily.mean()), rel=1e-12)
    assert c.verdict == PROMOTE and c.driver == "MAE" and c.mae.high is not None and c.objective == "mae"
    strict = Settings.from_env({"PROMOTION_MARGIN_MAE": str(-c.mae.high + 0.01)})
    kept = compare_pairs(frame, "b", "a", rule=VerdictRule.from_settings(strict))
    assert kept.verdict == KEEP_WATCHING and kept.mae == c.mae
    assert f"better by at least {strict.promotion_margin_mae:g} points" in kept.rule
    assert c.roi.estimate == 0.0 and c.roi.low is not None and c.roi.low < 0 < c.roi.high  # identical bets: not [0, 0]
    third = compare_pairs(frame, "b", "a", rank=3)  # the third challenger of the champion: ALPHA / 12
    assert third.mae.alpha == pytest.approx(ALPHA / 12 / 2) and third.mae.high > c.mae.high
    window = compare_pairs(frame, "b", "a", window=40)
    assert window.verdict == PROMOTE and not window.sufficient and "NOT when checked nightly" in window.rule


def test_a_clv_family_decides_on_daily_no_vig_clv_and_notes_the_disagreement() -> None:
    frame = season(40, 60, shift=-0.5, swing=0.1, seed=2)  # better MAE ...
    days = sorted(set(frame["game_date"]))
    rng = np.random.default_rng(4)
    clv = pd.DataFrame({"game_date": days, "clv_a": rng.normal(0.0, 0.003, 40), "clv_b": 0.02})  # ... worse CLV
    c = compare_pairs(frame, "b", "a", objective="clv", clv_daily=clv)
    assert c.objective == "clv" and c.verdict == RETIRE and c.driver == "CLV"
    assert c.note is not None and c.note.startswith("the metrics disagree: the challenger has better MAE")
    assert "worse CLV" in c.note and c.rule.startswith("objective clv")
    better = compare_pairs(frame, "b", "a", objective="clv", clv_daily=clv.assign(clv_b=-0.02))
    assert better.verdict == PROMOTE and better.driver == "CLV" and better.note is None
    none = compare_pairs(frame, "b", "a", objective="clv")  # no closing markets yet: no CLV evidence
    assert none.verdict == KEEP_WATCHING and none.clv.days == 0 and "insufficient evidence on CLV" in none.reason


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


def test_challenger_ranks_follow_registration_within_the_champions_reign() -> None:
    """The k-th challenger of a champion gets ALPHA / (k (k + 1)): ranks in registration order among the
    models live in the reign; a challenger stopped during the reign keeps its place, one stopped before
    it does not count, and a family's declared objective applies to its models."""
    from datetime import UTC, datetime

    from common.grading.catalog import REGISTRY, Catalog
    from common.registry.model import ModelRecord

    def model(mid: str, day: int, updated: int, enabled: bool = True, status: str = "shadow") -> ModelRecord:
        at = datetime(2026, 3, day, tzinfo=UTC)
        return ModelRecord(mid, f"file:///{mid}.cbm", "v9_mae" if mid != "e" else "v12_mae", "v9", "MAE", None,
                           date(2025, 11, 1), date(2026, 2, 1), enabled=enabled, status=status, created_at=at,
                           updated_at=datetime(2026, 3, updated, tzinfo=UTC))  # fmt: skip

    champion = model("champ", 1, 10, status="champion")
    models = (
        champion,
        model("old", 2, 5, enabled=False),  # stopped before the reign (day 10): not a challenger of it
        model("b", 3, 3),
        model("gone", 4, 12, enabled=False),  # stopped during the reign: keeps its place
        model("d", 11, 11),
        model("e", 12, 12),
    )
    catalog = Catalog(models, REGISTRY, {"v12_mae": "clv"})
    assert [catalog.challenger_rank(m) for m in ("b", "gone", "d", "e")] == [1, 2, 3, 4]
    assert catalog.objective("e") == "clv" and catalog.objective("b") == "mae"
    assert catalog.objective("missing") == "mae"


def test_a_promote_does_not_outlive_a_change_for_the_worse() -> None:
    """Better for 45 nights, then as much worse: the verdict reads the latest confidence set of the
    current segment, so a PROMOTE earned before the change goes within a few blocks of it (the
    running intersection alone held it, its interval excluding its own estimate, for ~100 nights)."""
    rng = np.random.default_rng(21)
    x = np.r_[rng.normal(-0.5, 0.1, 45), rng.normal(0.5, 0.1, 45)]  # challenger's MAE 0.5 better, then 0.5 worse
    frame = season(90, 5, 0.0, 0.0, 1).assign(err_a=lambda f: f["err_b"] + np.repeat(x, 5))
    verdicts = {n: compare_pairs(frame[frame["game_date"] < frame["game_date"].min() + pd.Timedelta(days=n)], "b", "a")
                for n in (45, 60, 75)}  # fmt: skip
    assert verdicts[45].verdict == PROMOTE
    for n in (60, 75):
        c = verdicts[n]
        assert c.verdict != PROMOTE, (n, c.reason)
        if c.mae.low is not None and c.mae.high is not None:
            assert c.mae.low <= c.mae.estimate <= c.mae.high  # the printed estimate lies in its printed interval
    # seasons: 0.3 points better for 40-60 nights, then 0.3 worse (daily sd 0.36)
    change = rng.integers(40, 61, 400)
    nights = np.arange(160)
    x = rng.normal(0, 0.36, (400, 160)) + np.where(nights < change[:, None], -0.3, 0.3)
    seq = monitor(x, 0.025, METRICS["mae"].floor / np.sqrt(BLOCK_NIGHTS))
    promote = -seq.high > 0.05
    assert promote[nights < change[:, None]].any()  # it did promote before the change
    assert promote[:, -1].mean() < 0.01  # and none still says so 100 nights after it
    assert (promote & (nights >= change[:, None] + 30)).any(axis=1).mean() < 0.05
