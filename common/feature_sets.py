"""The feature sets, defined once.

Every other module (training, extraction, registration, the worker) reads the
ordered feature names from here. V9 models take their features by position, so
the order of ``V9_FEATURES`` is part of the contract with every V9 model ever
trained: append-only changes mean a new ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.errors import InvalidModel

# Features whose values come from the betting market. ``*_noveg`` sets drop them. The line
# features read the market as of the prediction's moment, never the close (issue 20; their
# definitions, and the three whose meaning changed then, are in common/features/market.py).
BETTING_LINE_FEATURES: frozenset[str] = frozenset(
    {
        "vegas_points_line",
        "vegas_opening_line",
        "vegas_line_move",
        "has_vegas_line",
        "line_vs_season_avg",
        "line_vs_last_5_avg",
        "implied_team_total",
    }
)

V9_FEATURES: tuple[str, ...] = (
    # recent scoring form
    "points_avg_last_3",
    "points_avg_last_5",
    "points_avg_last_10",
    "points_avg_season",
    "points_std_last_10",
    "points_max_last_10",
    "points_min_last_10",
    "points_trend_5_vs_season",
    # opportunity
    "minutes_avg_last_5",
    "minutes_avg_last_10",
    "minutes_std_last_10",
    "fga_avg_last_10",
    "fta_avg_last_10",
    "fg3a_avg_last_10",
    "usage_rate_last_10",
    "starter_rate_last_10",
    # availability and schedule
    "games_played_season",
    "games_missed_last_14",
    "days_rest",
    "back_to_back",
    "is_home",
    "player_home_avg",
    "player_away_avg",
    # opponent and team context
    "opponent_def_rating",
    "opponent_pace",
    "opponent_pts_allowed_avg",
    "team_pace",
    "team_off_rating",
    # betting market
    "vegas_points_line",
    "vegas_opening_line",
    "vegas_line_move",
    "has_vegas_line",
    "line_vs_season_avg",
)

V12_EXTRA_FEATURES: tuple[str, ...] = (
    "points_avg_last_20",
    "points_ewm_10",
    "points_median_last_10",
    "minutes_trend_5_vs_season",
    "minutes_last_game",
    "points_last_game",
    "fga_share_last_10",
    "fg_pct_last_10",
    "fg3_pct_last_10",
    "ft_pct_last_10",
    "games_in_last_7_days",
    "rest_advantage",
    "opponent_def_rating_last_10",
    "opponent_pts_allowed_to_role",
    "team_win_pct",
    # added in version 2, so that the no-vegas set has the seed's 50 features
    "points_per_minute_last_10",
    "minutes_avg_season",
    "fg3a_rate_last_10",
    "fta_rate_last_10",
    "fg3m_avg_last_10",
    "opponent_win_pct",
    "team_off_rating_last_10",
    # betting market
    "line_vs_last_5_avg",
    "implied_team_total",
)

V12_FEATURES: tuple[str, ...] = V9_FEATURES + V12_EXTRA_FEATURES


@dataclass(frozen=True)
class FeatureSet:
    """An ordered list of model inputs and how a model receives them."""

    name: str
    version: int
    features: tuple[str, ...]
    by_name: bool  # V12 models take a named frame; V9 models a positional matrix

    @property
    def betting_line_features(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if f in BETTING_LINE_FEATURES)

    def __len__(self) -> int:
        return len(self.features)

    def check_model_names(self, names: tuple[str, ...]) -> None:
        """Raise ``InvalidModel`` unless a model with these feature names fits this set.

        A by-name set needs exactly its names, in any order. A positional set needs the
        right count and either its own names in order or CatBoost's default names
        ``"0".."N-1"`` (a model trained from a bare numpy array, as the legacy V9 models were).
        """
        if len(names) != len(self.features):
            raise InvalidModel(f"model has {len(names)} features but feature set {self.name} has {len(self.features)}")
        if self.by_name:
            missing = [f for f in self.features if f not in set(names)]
            unknown = [f for f in names if f not in set(self.features)]
            if missing or unknown:
                raise InvalidModel(
                    f"feature names differ from feature set {self.name}: "
                    f"missing {missing[:5]}, unexpected {unknown[:5]}"
                )
            return
        if names == positional_names(len(names)):
            return
        for position, (have, want) in enumerate(zip(names, self.features, strict=True)):
            if have != want:
                raise InvalidModel(
                    f"feature {position} is {have!r} but feature set {self.name} (positional) expects {want!r} "
                    f"(or CatBoost's default name {str(position)!r})"
                )


def positional_names(count: int) -> tuple[str, ...]:
    """The names CatBoost gives the columns of an unnamed matrix: ``"0"``, ``"1"``, …"""
    return tuple(str(i) for i in range(count))


# Version 2 of v12 / v12_noveg (seven features added): v12_noveg has the seed's 50
# features and v12 adds its 7 betting-line features on top (57). Version-1 models
# (43 / 50 features) no longer fit and are retrained (`modelctl retrain --family F`).
FEATURE_SETS: dict[str, FeatureSet] = {
    "v9": FeatureSet("v9", 1, V9_FEATURES, by_name=False),
    "v12": FeatureSet("v12", 2, V12_FEATURES, by_name=True),
    "v12_noveg": FeatureSet(
        "v12_noveg",
        2,
        tuple(f for f in V12_FEATURES if f not in BETTING_LINE_FEATURES),
        by_name=True,
    ),
}


def get_feature_set(name: str) -> FeatureSet:
    """Return the named feature set or fail with the list of known ones."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        known = ", ".join(sorted(FEATURE_SETS))
        raise InvalidModel(f"unknown feature set {name!r}; known feature sets: {known}") from None


NO_VEGAS_SUFFIX = "_noveg"


def feature_set_name(base: str, no_vegas: bool) -> str:
    """Map the training flags ``--feature-set v12 --no-vegas`` to a set name."""
    name = f"{base}{NO_VEGAS_SUFFIX}" if no_vegas else base
    get_feature_set(name)
    return name


def split_feature_set(name: str) -> tuple[str, bool]:
    """``v12_noveg`` → ('v12', True): the ``--feature-set`` / ``--no-vegas`` pair that names it."""
    return (name.removesuffix(NO_VEGAS_SUFFIX), True) if name.endswith(NO_VEGAS_SUFFIX) else (name, False)
