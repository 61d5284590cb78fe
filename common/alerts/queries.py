"""The alerts' queries, written once in BigQuery SQL with named parameters."""

from __future__ import annotations

PLAYER_NAMES = "SELECT player_id, player_name FROM players WHERE player_id IN UNNEST(@player_ids)"
