"""Grading fixtures: box scores and predictions written straight into the season tables.

``box_scores`` and ``predictions`` build frames from explicit rows (the hand-computed
fixtures); ``synthetic`` builds many days of them with numpy (paired comparisons,
the 1M-prediction benchmark). ``registry_model`` adds a registry row without a .cbm.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from common.betting import edges, recommend
from common.registry.model import ModelRecord
from common.registry.service import RegistryService
from common.sql import Engine


def box_scores(rows: Sequence[tuple[str, date, int, int, str]]) -> pd.DataFrame:
    """``player_games`` rows from (game_id, game_date, player_id, points, status)."""
    return box_score_frame(pd.DataFrame(rows, columns=["game_id", "game_date", "player_id", "points", "status"]))


def box_score_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Complete a (game_id, game_date, player_id, points, status) frame to ``player_games``' columns."""
    played = (frame["status"] == "played").to_numpy()
    frame = frame.assign(
        team_id="AAA", opponent_team_id="BBB", is_home=True, starter=played,
        minutes=np.where(played, 30.0, 0.0), fga=0, fgm=0, fg3a=0, fg3m=0, fta=0, ftm=0,
    )  # fmt: skip
    frame["points"] = np.where(played, frame["points"], 0).astype(np.int64)
    frame["player_id"] = frame["player_id"].astype(np.int64)
    return frame


def predictions(rows: Sequence[tuple[str, date, int, str, str, float, float]]) -> pd.DataFrame:
    """``player_prop_predictions`` rows from (game_id, game_date, player_id, system_id, role, predicted, line)."""
    columns = ["game_id", "game_date", "player_id", "system_id", "role", "predicted_points", "line"]
    return prediction_frame(pd.DataFrame(rows, columns=columns))


def prediction_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Complete a frame of the ``predictions`` row fields as the worker writes it (edge, recommendation)."""
    frame = frame.copy()
    frame["edge"] = edges(frame["predicted_points"], frame["line"])
    frame["recommendation"] = recommend(frame["edge"].to_numpy()).astype(str)
    shas = {s: hashlib.sha256(s.encode()).hexdigest() for s in frame["system_id"].unique()}
    frame["model_sha256"] = frame["system_id"].map(shas)
    frame["created_at"] = datetime(2026, 3, 1, tzinfo=UTC)
    frame["player_id"] = frame["player_id"].astype(np.int64)
    return frame


def write(engine: Engine, games: pd.DataFrame | None = None, preds: pd.DataFrame | None = None) -> None:
    """Replace the box scores and/or predictions of the frames' dates."""
    for table, frame in (("player_games", games), ("player_prop_predictions", preds)):
        if frame is None:
            continue
        days = sorted(set(pd.to_datetime(frame["game_date"]).dt.date))
        out = frame.assign(game_date=pd.to_datetime(frame["game_date"]).dt.date)
        engine.write_frame(table, out, (f"DELETE FROM {table} WHERE game_date IN UNNEST(@dates)", {"dates": days}))


def synthetic(
    first: date, days: int, players: int, models: dict[str, tuple[float, str]], seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``days`` slates of ``players`` player-games (one game per 10 players) and one prediction per
    model per player-game. ``models``: system_id → (noise sd of its prediction error, role)."""
    rng = np.random.default_rng(seed)
    dates = np.repeat(np.array([first + timedelta(days=i) for i in range(days)], dtype=object), players)
    pid = np.tile(np.arange(players, dtype=np.int64), days)
    day_index = np.repeat(np.arange(days), players)
    game_id = pd.Series([f"G{d}_{g}" for d, g in zip(day_index, pid // 10, strict=True)])
    mean = rng.uniform(6, 30, size=len(pid))
    actual = np.maximum(0, np.round(rng.normal(mean, 5))).astype(np.int64)
    line = np.round((mean + rng.normal(0, 2, size=len(pid))) * 2) / 2
    games = box_score_frame(
        pd.DataFrame({"game_id": game_id, "game_date": dates, "player_id": pid, "points": actual, "status": "played"})
    )
    frames = []
    for system_id, (noise, role) in models.items():
        pred = actual + rng.normal(0, noise, size=len(pid))
        columns = {"game_id": game_id, "game_date": dates, "player_id": pid, "system_id": system_id, "role": role}
        frames.append(pd.DataFrame({**columns, "predicted_points": pred, "line": line}))
    preds = pd.concat(frames, ignore_index=True)
    return games, prediction_frame(preds)


def registry_model(
    registry: RegistryService,
    model_id: str,
    train_end: date = date(2026, 2, 15),
    alpha: float | None = None,
    enabled: bool = True,
) -> ModelRecord:
    """Insert a registry row for ``model_id`` (no model file needed) and enable it."""
    family = model_id.split("_train")[0].removeprefix("catboost_")
    now = registry.clock()
    record = ModelRecord(
        model_id=model_id,
        model_path=f"gs://models/{model_id}.cbm",
        model_family=family,
        feature_set=family.rsplit("_", 1)[0],
        loss_function="Quantile" if alpha else "MAE",
        quantile_alpha=alpha,
        train_start=date(2025, 11, 2),
        train_end=train_end,
        sha256=hashlib.sha256(model_id.encode()).hexdigest(),
        registered_by="pytest",
        created_at=now,
        updated_at=now,
    )
    registry.add(record, "fixture")
    return registry.enable(model_id) if enabled else registry.get(model_id)


SNAPSHOT_COLUMNS = ["game_id", "game_date", "player_id", "captured_at", "line", "over_price", "under_price"]


def write_market(
    engine: Engine,
    snapshots: Sequence[tuple[str, date, int, datetime, float, int, int]],
    tip_offs: Sequence[tuple[str, date, datetime | None]] = (),
) -> None:
    """Replace the snapshots of their dates by ``snapshots`` (game_id, game_date, player_id, captured_at,
    line, over_price, under_price) and write ``games`` rows with their tip-off times."""
    frame = pd.DataFrame(list(snapshots), columns=SNAPSHOT_COLUMNS)
    frame["player_id"] = frame["player_id"].astype(np.int64)
    frame[["over_price", "under_price"]] = frame[["over_price", "under_price"]].astype(np.int64)
    days = sorted(set(frame["game_date"]))
    engine.write_frame(
        "betting_line_snapshots",
        frame,
        ("DELETE FROM betting_line_snapshots WHERE game_date IN UNNEST(@dates)", {"dates": days}),
    )
    if tip_offs:
        games = pd.DataFrame(list(tip_offs), columns=["game_id", "game_date", "tip_off"])
        games = games.assign(season="2025-26", home_team_id="AAA", away_team_id="BBB")
        engine.write_frame(
            "games", games, ("DELETE FROM games WHERE game_id IN UNNEST(@ids)", {"ids": list(games["game_id"])})
        )
