"""The hand recomputation of settlement: units, ROI and both CLVs in plain Python, from prediction
rows and line snapshots, independent of the grading SQL and of ``common/betting.py``.

``price_the_market`` gives every predicted player-game a market: a snapshot at the bet (the
prediction's line, prices other than -110, also recorded on the prediction rows, a few left without
a price so that ``BET_PRICE`` applies), a closing snapshot before tip-off, and one after tip-off that
must be ignored; a few player-games get no snapshots at all (bets without CLV).
``settle_by_hand`` then settles every graded prediction the long way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from common.sql import Engine
from tests.support.grading import write_market

PRICES = (-105, -115, -120, -125, -130, 100, 110)


def price_the_market(engine: Engine, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    preds = engine.query_frame(
        "SELECT * FROM player_prop_predictions ORDER BY game_date, game_id, player_id, system_id"
    )
    preds["game_date"] = pd.to_datetime(preds["game_date"]).dt.date
    keys = preds[["game_id", "game_date", "player_id"]].drop_duplicates().reset_index(drop=True)
    snaps, tips, priced = [], {}, {}
    for i, (game_id, day, player) in enumerate(keys.itertuples(index=False)):
        tip = datetime(day.year, day.month, day.day, 23, tzinfo=UTC)
        tips[(game_id, day)] = tip
        line = float(preds.loc[(preds["game_id"] == game_id) & (preds["player_id"] == player), "line"].iloc[0])
        if i % 9 == 4 or np.isnan(line):
            continue  # no market at all (no line: a PASS): the bet has no CLV
        over, under = (int(p) for p in rng.choice(PRICES, 2))
        priced[(game_id, day, int(player))] = (None, None) if i % 7 == 3 else (over, under)  # no price: BET_PRICE
        close = line + float(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.5]))
        c_over, c_under = (int(p) for p in rng.choice(PRICES, 2))
        snaps += [
            (game_id, day, int(player), tip - timedelta(hours=20), line + 1.0, -110, -110),  # opening
            (game_id, day, int(player), tip - timedelta(hours=3), line, over, under),  # at the bet
            (game_id, day, int(player), tip - timedelta(minutes=5), close, c_over, c_under),  # closing
            (game_id, day, int(player), tip + timedelta(hours=1), close + 7.0, -200, 170),  # after tip-off
        ]
    write_market(engine, snaps, [(g, d, t) for (g, d), t in tips.items()])
    prices = [priced.get((r.game_id, r.game_date, int(r.player_id)), (None, None)) for r in preds.itertuples()]
    preds["over_price"] = pd.array([p[0] for p in prices], dtype="Int64")
    preds["under_price"] = pd.array([p[1] for p in prices], dtype="Int64")
    days = sorted(set(preds["game_date"]))
    engine.write_frame(
        "player_prop_predictions", preds,
        ("DELETE FROM player_prop_predictions WHERE game_date IN UNNEST(@dates)", {"dates": days}),
    )  # fmt: skip


def _payout(price: float) -> float:
    return 100.0 / -price if price < 0 else price / 100.0


def _no_vig(own: float, other: float) -> float:
    own_p, other_p = 1 / (1 + _payout(own)), 1 / (1 + _payout(other))
    return own_p / (own_p + other_p)


def _won_at_close(side: str, line: float, close: dict[str, Any]) -> float:
    """P(the bet as placed wins) from the closing market, written out: the closing no-vig over-probability
    moved from the closing line to the bet's by a logistic of scale 0.88 * sqrt(closing line) points."""
    p_close = _no_vig(close["over_price"], close["under_price"])
    scale = 0.88 * math.sqrt(max(close["line"], 1.0))
    over = 1.0 / (1.0 + math.exp(-(math.log(p_close / (1.0 - p_close)) + (close["line"] - line) / scale)))
    return over if side == "OVER" else 1.0 - over


def settle_by_hand(engine: Engine, bet_price: float) -> dict[tuple[Any, str], dict[str, Any]]:
    """Per (date, system_id): units, n_bets, n_pushes, roi, n_clv, clv and clv_prob, the long way."""
    preds = engine.query("SELECT * FROM player_prop_predictions")
    games = {(r["game_id"], r["player_id"]): r for r in engine.query("SELECT * FROM player_games")}
    tips = {r["game_id"]: r["tip_off"] for r in engine.query("SELECT game_id, tip_off FROM games")}
    market = defaultdict(list)
    for s in engine.query("SELECT * FROM betting_line_snapshots"):
        market[(s["game_id"], s["player_id"])].append(s)
    out: dict[tuple[Any, str], dict[str, Any]] = {}
    for p in preds:
        box = games.get((p["game_id"], p["player_id"]))
        if box is None or box["status"] != "played":
            continue
        fig = out.setdefault((pd.Timestamp(p["game_date"]).date(), p["system_id"]),
                             {"units": 0.0, "n_bets": 0, "n_pushes": 0, "clv": [], "clv_prob": []})  # fmt: skip
        line, actual, edge = p["line"], box["points"], p["predicted_points"] - p["line"]
        side = "OVER" if edge >= 1 else "UNDER" if edge <= -1 else None
        if side is None:
            continue
        if actual == line:
            fig["n_pushes"] += 1  # the stake comes back: no units, no bet
            continue
        fig["n_bets"] += 1
        over = bet_price if pd.isna(p["over_price"]) else float(p["over_price"])
        under = bet_price if pd.isna(p["under_price"]) else float(p["under_price"])
        won = actual > line if side == "OVER" else actual < line
        fig["units"] += _payout(over if side == "OVER" else under) if won else -1.0
        tip = tips.get(p["game_id"])
        before = [s for s in market[(p["game_id"], p["player_id"])] if tip is None or s["captured_at"] <= tip]
        if not before:
            continue
        close = max(before, key=lambda s: s["captured_at"])
        if side == "OVER":
            fig["clv"].append(close["line"] - line)
            fig["clv_prob"].append(_won_at_close(side, line, close) - _no_vig(over, under))
        else:
            fig["clv"].append(line - close["line"])
            fig["clv_prob"].append(_won_at_close(side, line, close) - _no_vig(under, over))
    for fig in out.values():
        fig["roi"] = fig["units"] / fig["n_bets"] if fig["n_bets"] else None
        fig["n_clv"] = len(fig["clv"])
        fig["clv"] = float(np.mean(fig["clv"])) if fig["clv"] else None
        fig["clv_prob"] = float(np.mean(fig["clv_prob"])) if fig["clv_prob"] else None
    return out


def assert_stored_as_by_hand(engine: Engine, bet_price: float) -> dict[str, int]:
    """Every stored daily figure equals the hand settlement; returns the totals of bets, pushes and
    bets with CLV. (The BigQuery emulator returns FLOAT64 rounded to 10 decimal places.)"""
    import pytest

    hand = settle_by_hand(engine, bet_price)
    stored = {(pd.Timestamp(r["game_date"]).date(), r["system_id"]): r
              for r in engine.query("SELECT * FROM model_performance_daily")}  # fmt: skip
    assert set(stored) == set(hand)
    for key, fig in hand.items():
        row = stored[key]
        for column in ("n_bets", "n_pushes", "n_clv"):
            assert row[column] == fig[column], (key, column)
        for column in ("units", "roi", "clv", "clv_prob"):
            want = fig[column]
            assert (row[column] is None or pd.isna(row[column])) if want is None else (
                row[column] == pytest.approx(want, rel=1e-12, abs=1e-9)), (key, column, row[column], want)  # fmt: skip
    return {k: sum(f[k] for f in hand.values()) for k in ("n_bets", "n_pushes", "n_clv")}
