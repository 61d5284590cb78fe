"""One definition of a bet: training's evaluation and production grading give the same figures.

The production path is run for real: the worker's ``score_slate`` (its edge and
recommendation rule) turns predictions into ``player_prop_predictions`` rows, the
grading SQL (``GradingStore.grade`` / ``daily_inputs`` / ``paired``) grades them,
and training's ``evaluate`` scores the same predictions, outcomes and lines.
Only the model is a stand-in: it returns the predictions the test chose, so the
rows can hold exact pushes, edges of exactly ±1, ±3 and ±5, PASS zones and no line.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from common import betting
from common import betting_sql as bsql
from common.feature_sets import V12_FEATURES
from common.grading import queries
from common.grading.compare import compare_pairs
from common.grading.store import GradingStore
from common.registry.service import RegistryService
from common.training.metrics import evaluate, hit_rate, strengths
from common.worker.scoring import score_slate
from common.worker.serving import ServingModel, ServingSet
from common.worker.slate import KEYS, LINE
from tests.support.grading import box_score_frame, box_scores, write
from tests.support.registry import engine_of
from tests.support.settlement import price_the_market

FIRST = date(2026, 3, 1)
DAYS = 3
PLAYERS = 120  # per day: 360 player-games per model
MODELS = {"catboost_v9_mae_train1102_0215": "champion", "catboost_v9_q43_train1102_0215": "shadow"}
NOW = datetime(2026, 3, 9, tzinfo=UTC)
# Edges placed on and around every threshold, both signs, plus the PASS zone.
EXACT_EDGES = (0.0, 0.5, 0.999, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5)


# -- the rule on single cases ----------------------------------------------------------------
def test_a_pick_production_would_pass_is_not_a_bet() -> None:
    """The issue's example: 10.5 vs a line of 10 is a PASS in production, so no bet and no hit rate."""
    assert hit_rate([10.5], [12], [10]) == (None, 0)


@pytest.mark.parametrize(
    ("pred", "actual", "line", "bet", "won"),
    [
        (11.0, 12, 10.0, True, True),  # edge exactly +1.0: OVER
        (9.0, 8, 10.0, True, True),  # edge exactly -1.0: UNDER
        (np.nextafter(11.0, 0.0), 12, 10.0, False, False),  # one ulp under +1: PASS
        (13.0, 10, 10.0, False, False),  # OVER that pushed
        (15.0, 12, float("nan"), False, False),  # no line
        (14.5, 11, 10.5, True, True),
        (6.5, 11, 10.5, True, False),
    ],
)
def test_bets_follow_the_production_rule(pred: float, actual: int, line: float, bet: bool, won: bool) -> None:
    graded = betting.grade([pred], [actual], [line])
    assert (bool(graded.bet[0]), bool(graded.won[0])) == (bet, won)
    assert hit_rate([pred], [actual], [line]) == ((100.0 if won else 0.0) if bet else None, int(bet))


def test_strengths_count_bets_not_every_call_away_from_the_line() -> None:
    pred, actual, line = [10.5, 11.0, 14.0, 9.5, 6.0], [12, 12, 10, 9, 5], [10.0, 10.0, 10.0, 10.0, 10.0]
    # 10.5 and 9.5 are PASS; 14.0 pushed; 11.0 OVER won; 6.0 UNDER (edge -4) won
    assert strengths(pred, actual, line) == {
        "over_all": {"hit_rate": 100.0, "n": 1},
        "over_edge_3plus": {"hit_rate": None, "n": 0},
        "under_all": {"hit_rate": 100.0, "n": 1},
        "under_edge_3plus": {"hit_rate": 100.0, "n": 1},
    }


# -- the constants and the SQL generated from them -------------------------------------------
def test_bucket_labels_and_edge_3plus_come_from_the_thresholds() -> None:
    assert betting.EDGE_BUCKETS == ("<1", "1-2", "2-3", "3-5", "5+")  # the labels prediction_accuracy holds
    assert betting.EDGE_3PLUS_BUCKETS == ("3-5", "5+")
    assert betting.EDGE_BUCKET_BOUNDS[1] == betting.MIN_EDGE and betting.EDGE_3PLUS in betting.EDGE_BUCKET_BOUNDS


def test_grading_sql_spells_no_rule_of_its_own() -> None:
    """Labels, thresholds and recommendation strings reach the SQL only through ``common/betting.py``."""
    source = Path(queries.__file__).read_text()
    for literal in ("'3-5'", "'5+'", "'<1'", "'1-2'", "'OVER'", "'UNDER'", "ABS(p.edge) <"):
        assert literal not in source, literal
    assert bsql.sql_edge_bucket("p.edge") in queries.GRADE
    assert bsql.sql_is_correct("p.recommendation", "g.points", "p.line") in queries.GRADE
    assert queries.DAILY_INPUTS.count(bsql.sql_edge_3plus("edge_bucket")) == 2
    assert bsql.sql_edge_3plus("a.edge_bucket") in queries.PAIRED


def _expected_bucket(edge: float) -> str | None:
    """The bucket by the bounds themselves (an independent reading of the rule)."""
    if np.isnan(edge):
        return None
    return betting.EDGE_BUCKETS[int(np.searchsorted(betting.EDGE_BUCKET_BOUNDS, abs(edge), side="right")) - 1]


def test_boundaries_classify_the_same_in_numpy_and_sql(duck_registry: RegistryService) -> None:
    """Every bound, one ulp either side, both signs, NaN and NULL: the SQL bucket, numpy's recommendation
    and numpy's edge-3+ test agree (DuckDB widens the decimal literals to DOUBLE, no rounding)."""
    bounds = [b for b in betting.EDGE_BUCKET_BOUNDS if b > 0]
    near = [float(v) for b in bounds for v in (np.nextafter(b, 0.0), b, np.nextafter(b, np.inf))]
    values = [0.0, *near, *(-v for v in near), float("nan"), None]
    bucket_sql = bsql.sql_edge_bucket("edge")
    sql = f"SELECT edge, {bucket_sql} AS bucket, {bsql.sql_edge_3plus(bucket_sql)} AS e3 FROM UNNEST(@edges) AS edge"
    rows = engine_of(duck_registry).query(sql, {"edges": values})
    assert len(rows) == len(values)
    for row in rows:
        edge = np.float64(np.nan if row["edge"] is None else row["edge"])
        bucket = _expected_bucket(edge)
        assert (row["bucket"], row["e3"]) == (bucket, bucket in betting.EDGE_3PLUS_BUCKETS), edge
        is_pass = betting.recommendation_codes([edge])[0] == betting.RECOMMENDATIONS.index(betting.PASS)
        assert is_pass == (bucket in (None, betting.EDGE_BUCKETS[0])), edge
        assert bool(abs(edge) >= betting.EDGE_3PLUS) == (bucket in betting.EDGE_3PLUS_BUCKETS), edge
    assert sorted(r["bucket"] for r in rows if r["bucket"]) == sorted(_expected_bucket(v) for v in values[:-2])


def test_a_nan_edge_stored_by_anyone_gets_no_bucket_and_no_grade(duck_registry: RegistryService) -> None:
    """DuckDB orders NaN above every number: unguarded, a NaN edge would be bucketed '5+'."""
    engine = engine_of(duck_registry)
    write(engine, box_scores([("G1", FIRST, 1, 12, "played")]))
    engine.run_atomic(
        [
            (
                "INSERT INTO player_prop_predictions (game_date, game_id, player_id, system_id, role, "
                "predicted_points, line, edge, recommendation, model_sha256, created_at) VALUES "
                "(@d, 'G1', 1, 'm', 'shadow', 11.0, CAST('nan' AS FLOAT64), CAST('nan' AS FLOAT64), 'UNDER', 'x', @t)",
                {"d": FIRST, "t": NOW},
            )
        ]
    )
    store = GradingStore(engine)
    store.grade([FIRST], NOW)
    row = engine.query("SELECT edge_bucket, is_correct, is_push FROM prediction_accuracy")[0]
    assert (row["edge_bucket"], row["is_correct"], row["is_push"]) == (None, None, False)


# -- training's evaluation against production grading ---------------------------------------
class FixedPredictions:
    """A stand-in for a CatBoost model: predicts what the test chose, in slate order."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def predict(self, pool: Any, thread_count: int = 1) -> np.ndarray:
        return self.values


def season_rows(seed: int = 5) -> pd.DataFrame:
    """DAYS × PLAYERS player-games: actual points, a line (x.5, whole — pushes possible — or none),
    and each model's prediction at a chosen edge (exact thresholds, PASS zone) or a random one."""
    rng = np.random.default_rng(seed)
    n = DAYS * PLAYERS
    actual = rng.integers(2, 35, size=n)
    line = np.floor(actual + rng.normal(0, 4, size=n)).clip(1) + rng.choice([0.0, 0.5], size=n)
    line[rng.random(n) < 0.05] = np.nan
    push = rng.random(n) < 0.08  # exact pushes: the line on the outcome
    line[push] = actual[push]
    frame = pd.DataFrame(
        {
            "game_date": [FIRST + timedelta(days=i // PLAYERS) for i in range(n)],
            "game_id": [f"G{i // PLAYERS}_{(i % PLAYERS) // 10}" for i in range(n)],
            "player_id": np.tile(np.arange(PLAYERS, dtype=np.int64), DAYS),
            "actual": actual,
            "line": line,
        }
    )
    for k, system_id in enumerate(MODELS):
        exact = rng.choice(EXACT_EDGES, size=n) * rng.choice([-1.0, 1.0], size=n)
        free = rng.normal(0, 3, size=n)
        edge = np.where(rng.random(n) < 0.6, exact, free)
        # predictions as CatBoost hands them over (float64), some of them float32 values widened
        pred = np.where(np.isnan(line), actual + free, line + edge)
        pred = np.where(rng.random(n) < 0.2 + 0.1 * k, pred.astype(np.float32).astype(np.float64), pred)
        frame[system_id] = pred
    return frame


def worker_rows(day: pd.DataFrame) -> pd.DataFrame:
    """The worker's prediction rows for one date, from its own ``score_slate``."""
    slate = day[["game_date", "game_id", "player_id"]].assign(**{f: 0.0 for f in V12_FEATURES})
    slate[LINE] = day["line"].to_numpy()  # the closing line is also a V12 feature
    models = tuple(
        ServingModel(system_id, role, "v9_mae", "v9", f"sha-{system_id}", FixedPredictions(day[system_id].to_numpy()))
        for system_id, role in MODELS.items()
    )
    return score_slate(ServingSet(1, "test", models), slate[[*KEYS, *V12_FEATURES]], threads=1)


def test_training_evaluation_equals_production_grading(registry: RegistryService) -> None:
    rows = season_rows()
    engine = engine_of(registry)
    games = box_score_frame(rows[["game_id", "game_date", "player_id"]].assign(points=rows["actual"], status="played"))
    preds = pd.concat([worker_rows(day) for _, day in rows.groupby("game_date")], ignore_index=True)
    write(engine, games, preds.assign(recommendation=preds["recommendation"].astype(str)))
    price_the_market(engine)  # prices other than -110 on the prediction rows, some missing (BET_PRICE)
    store = GradingStore(engine)
    days = sorted(set(rows["game_date"]))
    store.grade(days, NOW, bet_price=-125.0)
    counts = ["n_bets", "n_hits", "n_edge_3plus", "n_hits_edge_3plus", "n_pushes", "units", "be_sum"]
    inputs = store.daily_inputs(days, bet_price=-125.0)
    daily = inputs.assign(be_sum=inputs["break_even"].fillna(0.0) * inputs["n_bets"]).groupby("system_id")[counts].sum()
    paired = compare_pairs(store.paired(*MODELS, None, 30, bet_price=-125.0), *MODELS)
    priced = engine.query_frame(
        "SELECT game_id, player_id, system_id, over_price, under_price FROM player_prop_predictions"
    )
    for system_id, side in zip(MODELS, (paired.challenger, paired.champion), strict=True):
        mine = rows.merge(priced[priced["system_id"] == system_id], on=["game_id", "player_id"], how="left")
        with_default = {c: pd.to_numeric(mine[c]).fillna(-125.0) for c in ("over_price", "under_price")}
        trained = evaluate(mine[system_id], mine["actual"], mine["line"], quantile=False, **with_default)
        live = daily.loc[system_id]
        # settled at each bet's own price: the same units, break-even and pushes in training and grading
        assert trained.units == pytest.approx(live["units"], rel=1e-12) and trained.units == pytest.approx(side.units)
        assert trained.break_even == pytest.approx(100.0 * live["be_sum"] / live["n_bets"], rel=1e-12)
        assert trained.break_even == pytest.approx(side.break_even, rel=1e-12)
        assert trained.n_pushes == live["n_pushes"] > 10
        # counts identical; rates the same ratio (computed in a different order: equal to the last ulps)
        assert trained.n_bets == live["n_bets"] == side.n_bets
        assert trained.n_edge_3plus == live["n_edge_3plus"] == side.n_edge_3plus
        assert trained.hit_rate is not None and trained.hit_rate_edge_3plus is not None
        assert round(trained.hit_rate * trained.n_bets / 100) == live["n_hits"]
        assert round(trained.hit_rate_edge_3plus * trained.n_edge_3plus / 100) == live["n_hits_edge_3plus"]
        exact = pytest.approx(trained.hit_rate, rel=1e-12)
        assert 100.0 * live["n_hits"] / live["n_bets"] == exact and side.hit_rate == exact
        exact = pytest.approx(trained.hit_rate_edge_3plus, rel=1e-12)
        assert 100.0 * live["n_hits_edge_3plus"] / live["n_edge_3plus"] == exact and side.hit_rate_edge_3plus == exact
    # the fixture reaches every case the rule distinguishes
    graded = engine.query_frame("SELECT * FROM prediction_accuracy")
    calls = graded["recommendation"].isin([betting.OVER, betting.UNDER])
    assert (graded["is_push"] & calls).sum() > 10 and (graded["recommendation"] == betting.PASS).sum() > 50
    assert graded["line"].isna().sum() > 10
    for bound in (1.0, 3.0, 5.0):
        assert (graded["edge"].abs() == bound).sum() > 10, bound
    assert set(graded["edge_bucket"].dropna()) == set(betting.EDGE_BUCKETS)


# -- prices: settlement, break-even, no-vig, CLV ------------------------------------------------
def test_settlement_at_the_bets_own_price() -> None:
    """A win pays 100/|price| below -100 and price/100 from +100 up, a loss costs 1, a push returns the
    stake (neither win nor loss); no price: the default (BET_PRICE)."""
    pred, actual, line = (
        [14.0, 14.0, 6.0, 14.0, 14.0, 12.0],
        [12, 8, 8, 10, 12, 12],
        [10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
    )
    over = [-130.0, -105.0, 150.0, -120.0, np.nan, -110.0]
    under = [110.0, -115.0, -125.0, 100.0, np.nan, -110.0]
    graded = betting.grade(pred, actual, line)
    # OVER won at -130; OVER lost; UNDER won at -125; OVER pushed; OVER won, no price (-120); OVER won at -110
    got = betting.settle(graded, over, under, default=-120.0)
    assert got.tolist() == pytest.approx([100 / 130, -1.0, 100 / 125, 0.0, 100 / 120, 100 / 110])
    assert graded.push[3] and not graded.bet[3] and not graded.won[3]
    assert betting.win_payouts([150.0, 100.0, -100.0]).tolist() == [1.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="American odds"):
        betting.win_payouts([-99.0])


def test_no_vig_and_both_clvs_by_hand() -> None:
    """Multiplicative normalisation: each side's implied probability over their sum."""
    over, under = betting.no_vig([-120.0], [100.0])
    implied = (120 / 220, 100 / 200)
    assert (over[0], under[0]) == pytest.approx((implied[0] / sum(implied), implied[1] / sum(implied)))
    assert betting.VIG_METHOD == "multiplicative"
    graded = betting.grade([14.0, 6.0, 10.2], [12, 8, 12], [10.0, 10.0, 10.0])  # OVER won, UNDER won, PASS
    clv = betting.clv_points(graded, [10.0, 10.0, 10.0], [10.5, 10.5, 11.0])
    assert clv[:2].tolist() == [0.5, -0.5] and np.isnan(clv[2])
    prob = betting.clv_prob(graded, [10.0] * 3, [10.0] * 3, ([-110.0, -110.0, -110.0], [-110.0, -110.0, -110.0]),
                            ([-130.0, -130.0, -130.0], [110.0, 110.0, 110.0]))  # fmt: skip
    close_over = (130 / 230) / (130 / 230 + 100 / 210)
    assert prob[:2].tolist() == pytest.approx([close_over - 0.5, (1 - close_over) - 0.5]) and np.isnan(prob[2])


def _logistic_clv(side: str, line: float, close_line: float, close_fair_over: float, bet_fair: float) -> float:
    """The documented model written out: P(over at line) = sigmoid(logit(p_c) + (L_c - L) / s)."""
    s = betting.CLV_LOGISTIC_SCALE_PER_SQRT_POINT * math.sqrt(max(close_line, 1.0))  # ~ 1.5 sqrt(line) / 1.702
    over = 1.0 / (1.0 + math.exp(-(math.log(close_fair_over / (1 - close_fair_over)) + (close_line - line) / s)))
    return (over if side == "OVER" else 1.0 - over) - bet_fair


def test_clv_prob_reads_the_close_at_the_bets_line() -> None:
    """A line that moved toward the pick is value gained at the same prices (OVER 20.5 bet, the close
    OVER 21.5 at -110/-110), one that moved against is value lost, an unmoved line is the old
    difference of no-vig probabilities exactly, and an UNDER mirrors an OVER."""
    assert pytest.approx(1.5 / 1.702, abs=0.005) == betting.CLV_LOGISTIC_SCALE_PER_SQRT_POINT
    # OVER toward, OVER against, UNDER toward (line fell), UNDER against, OVER unmoved, UNDER unmoved
    line = [20.5, 20.5, 20.5, 20.5, 20.5, 20.5]
    close = [21.5, 19.5, 19.5, 21.5, 20.5, 20.5]
    graded = betting.grade([25.0, 25.0, 16.0, 16.0, 25.0, 16.0], [30, 30, 10, 10, 30, 10], line)
    even = ([-110.0] * 6, [-110.0] * 6)
    prob = betting.clv_prob(graded, line, close, even, even)
    toward = _logistic_clv("OVER", 20.5, 21.5, 0.5, 0.5)
    assert 0.04 < toward < 0.08 and prob[0] == pytest.approx(toward, rel=1e-12)
    assert prob[1] == pytest.approx(_logistic_clv("OVER", 20.5, 19.5, 0.5, 0.5), rel=1e-12) and prob[1] < -0.04
    assert prob[2] == pytest.approx(_logistic_clv("UNDER", 20.5, 19.5, 0.5, 0.5), rel=1e-12)
    # An UNDER mirrors an OVER: at the same even-priced close, its CLV is minus the OVER's.
    assert (
        prob[2] > 0.04
        and prob[2] == pytest.approx(-prob[1], rel=1e-12)
        and prob[3] == pytest.approx(-prob[0], rel=1e-12)
    )
    assert prob[4] == 0.0 and prob[5] == 0.0
    # Unmoved, other prices: exactly the pick side's no-vig close minus at the bet (the old formula).
    bet_p, close_p = ([-120.0] * 6, [100.0] * 6), ([-130.0] * 6, [110.0] * 6)
    same = betting.clv_prob(graded, line, line, bet_p, close_p)
    fair_bet, fair_close = betting.no_vig(-120.0, 100.0), betting.no_vig(-130.0, 110.0)
    assert same[4] == fair_close[0][()] - fair_bet[0][()] and same[5] == fair_close[1][()] - fair_bet[1][()]
    moved = betting.clv_prob(graded, line, close, bet_p, close_p)
    assert moved[0] == pytest.approx(_logistic_clv("OVER", 20.5, 21.5, float(fair_close[0]), float(fair_bet[0])))
    assert moved[2] == pytest.approx(_logistic_clv("UNDER", 20.5, 19.5, float(fair_close[0]), float(fair_bet[1])))
    # No closing line (or no closing price) is no closing market.
    gone = betting.clv_prob(graded, line, [np.nan, *close[1:]], even, ([-110.0, np.nan, *even[0][2:]], even[1]))
    assert np.isnan(gone[:2]).all() and gone[2:].tolist() == pytest.approx(prob[2:].tolist(), rel=1e-12)


def test_price_sql_equals_python(registry: RegistryService) -> None:
    """The SQL fragments built from the same constants give the same doubles as the Python functions,
    on both engines: payout, break-even, no-vig probability and probability CLV at many prices."""
    grid = [-300.0, -130.0, -125.0, -110.0, -105.0, -100.0, 100.0, 105.0, 120.0, 250.0]
    sql = (
        f"SELECT o, u, c, {bsql.sql_win_payout('o')} AS payout, {bsql.sql_break_even('o')} AS even, "
        f"{bsql.sql_no_vig('o', 'u')} AS fair, "
        f"{bsql.sql_settled_units('TRUE', bsql.sql_pick_price(repr(betting.UNDER), 'o', 'u', '-110.0'))} AS won, "
        f"{bsql.sql_clv_prob('TRUE', repr(betting.OVER), ('20.5', 'c'), ('-110.0', '-110.0'), ('o', 'u'))} AS clv, "
        f"{bsql.sql_clv_prob('TRUE', repr(betting.UNDER), ('20.5', 'c'), ('-110.0', '-110.0'), ('o', 'u'))} AS uclv "
        "FROM UNNEST(@grid) AS o CROSS JOIN UNNEST(@grid) AS u CROSS JOIN UNNEST(@closes) AS c"
    )
    closes = [0.5, 3.5, 18.5, 20.5, 21.5, 26.5]
    rows = engine_of(registry).query(sql, {"grid": grid, "closes": closes})
    assert len(rows) == len(grid) ** 2 * len(closes)
    o, u, c = (np.array([r[k] for r in rows], dtype=np.float64) for k in ("o", "u", "c"))
    over_fair = betting.no_vig(o, u)[0]
    clv = betting.clv_prob(betting.grade(np.full(len(c), 25.0), np.full(len(c), 30.0), np.full(len(c), 20.5)),
                           20.5, c, (-110.0, -110.0), (o, u))  # fmt: skip
    uclv = betting.clv_prob(betting.grade(np.full(len(c), 16.0), np.full(len(c), 10.0), np.full(len(c), 20.5)),
                            20.5, c, (-110.0, -110.0), (o, u))  # fmt: skip
    for name, want in (("payout", betting.win_payouts(o)), ("even", betting.break_evens(o)), ("fair", over_fair),
                       ("won", betting.win_payouts(u)), ("clv", clv), ("uclv", uclv)):  # fmt: skip
        got = np.array([r[name] for r in rows], dtype=np.float64)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), name  # the emulator returns 10 decimals
    assert np.array([r["clv"] for r in rows])[c == 20.5] == pytest.approx((over_fair - 0.5)[c == 20.5], abs=1e-9)


def test_training_settles_the_opening_line_at_bet_price_not_at_the_lead_time_snapshots_prices() -> None:
    """The rows' prices belong to the lead-time snapshot (``line``): graded against the opening line
    (training without --use-production-lines) a bet is settled at BET_PRICE, never at a price posted
    for another line; graded against ``line`` it is settled at that snapshot's price."""
    from common.training.metrics import market_of

    rows = pd.DataFrame({"line": [20.5, 20.5], "opening_line": [19.5, 19.5], "over_price": [120, 120],
                         "under_price": [-140, -140], "closing_line": [21.5, 21.5]})  # fmt: skip
    pred, actual = np.array([25.0, 25.0]), np.array([24, 24])  # two OVERs that win at either line
    at_lead = evaluate(pred, actual, rows["line"], False, **market_of(rows, "line"))
    at_open = evaluate(pred, actual, rows["opening_line"], False, **market_of(rows, "opening_line"))
    assert at_lead.units == pytest.approx(2 * 1.2)  # +120 pays 1.2 units
    assert at_open.units == pytest.approx(2 * 100 / 110)  # BET_PRICE -110
    assert at_open.clv == pytest.approx(2.0)  # the closing line stays: 21.5 - 19.5 toward the OVER


def test_hit_rate_and_roi_have_one_arithmetic_unknown_without_bets() -> None:
    """Every report divides through ``betting``: percent of bets won, units per bet, None/NaN with no bet."""
    assert betting.hit_rate(3, 4) == 75.0 and betting.hit_rate(0, 0) is None
    assert betting.roi(-1.5, 3) == -0.5 and betting.roi(2.0, 0) is None
    rates = betting.hit_rates(np.array([1, 0, 2]), np.array([2, 0, 2]))
    assert rates[0] == 50.0 and np.isnan(rates[1]) and rates[2] == 100.0
    rois = betting.rois(pd.Series([1.0, 5.0]), pd.Series([4, 0]))
    assert rois[0] == 0.25 and np.isnan(rois[1])


def test_the_plot_reads_break_even_at_bet_price_for_days_without_stored_prices() -> None:
    """Days graded before prices were stored (break_even NULL) plot at BET_PRICE's break-even, not -110's."""
    from common.grading.plot import rolling

    daily = pd.DataFrame({"system_id": ["m", "m"], "game_date": ["2026-01-01", "2026-01-02"], "in_sample": False,
                          "n": [10, 10], "mae": [5.0, 5.0], "n_bets": [4, 0], "n_hits": [3, 0],
                          "break_even": [None, None]})  # fmt: skip
    at_130 = rolling(daily, "m", 7, bet_price=-130.0)
    assert at_130["break_even"].iloc[0] == pytest.approx(100 * 130 / 230)
    assert rolling(daily, "m", 7)["break_even"].iloc[0] == pytest.approx(100 * 110 / 210)
    assert at_130["hit_rate"].tolist() == [75.0, 75.0]  # the second day adds no bet
