"""Synthetic season data (see :mod:`common.data.synth`)."""

from common.data.synth import SeasonData, generate_season, season_dates

__all__ = ["SeasonData", "generate_season", "season_dates"]
