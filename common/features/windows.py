"""Bounded windows over a player's (a team's) last N rows, computed only where a target needs them.

Rows arrive sorted by (key, date); ``first[i]`` is the position of row i's key's first row. A
window "last n at row i" is rows ``i-n+1 .. i`` of the same key, gathered into an (at, n) matrix:
vectorised, no per-group rolling, and the cost follows the rows asked for (a slate: one row per
player; training: every row), not the length of the history.

The one bounded window that is not a ``last N`` by definition is the EWM (span 10): it weighs the
player's last :data:`EWM_GAMES` played games, not his whole history. Its weights fall as
0.818^k, so games 150 and beyond carry less than 1e-13 of the total; the values differ from a
whole-history EWM by less than 1e-9 points (issue 22: the one intended change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

EWM_SPAN = 10
EWM_GAMES = 150
EWM_DECAY = 1.0 - 2.0 / (EWM_SPAN + 1.0)  # pandas' alpha for a span: weights (1 - alpha)^k
LAST_GAMES = 20  # the longest "last N games" window of the features (points_avg_last_20)
_CHUNK = 20_000  # rows gathered at a time for the wide EWM window (memory stays ~25 MB)


def first_rows(keys: np.ndarray) -> np.ndarray:
    """For each row of a key-sorted array, the position of its key's first row."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.repeat(starts, np.diff(np.r_[starts, n])).astype(np.int64)


def last_before(keys: np.ndarray, days: np.ndarray, want_keys: np.ndarray, want_days: np.ndarray) -> np.ndarray:
    """Per wanted (key, day): the position in ``keys``/``days`` of the last row of that key dated
    strictly before the day (of equal rows, the last); -1 when there is none."""
    if len(keys) == 0:
        return np.full(len(want_keys), -1, dtype=np.int64)
    _, codes = np.unique(np.concatenate([keys, want_keys]), return_inverse=True)
    span = np.int64(1) << 32  # day numbers fit far below this
    have = codes[: len(keys)].astype(np.int64) * span + np.asarray(days, dtype=np.int64)
    want = codes[len(keys) :].astype(np.int64) * span + np.asarray(want_days, dtype=np.int64)
    order = np.argsort(have, kind="stable")
    have = have[order]
    pos = np.searchsorted(have, want, "left") - 1
    ok = pos >= 0
    ok[ok] = have[pos[ok]] // span == want[ok] // span
    return np.where(ok, order[np.maximum(pos, 0)], -1)


class Windows:
    """Windows ending at rows ``at`` of key-sorted columns whose keys start at ``first``."""

    def __init__(self, first: np.ndarray, at: np.ndarray) -> None:
        self.at = np.asarray(at, dtype=np.int64)
        self._start = first[self.at]
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _index(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n not in self._cache:
            idx = self.at[:, None] - np.arange(n)[None, :]
            ok = idx >= self._start[:, None]
            self._cache[n] = (np.where(ok, idx, 0), ok)
        return self._cache[n]

    def values(self, column: np.ndarray, n: int) -> np.ndarray:
        """The (at, n) matrix of the last n values (NaN before the key's first row)."""
        idx, ok = self._index(n)
        return np.where(ok, np.asarray(column, dtype=np.float64)[idx], np.nan)

    def sum(self, column: np.ndarray, n: int) -> np.ndarray:
        """Sum over the last n (NaN-skipping; a window of n NaN sums to 0, as pandas' rolling sum)."""
        return np.nansum(self.values(column, n), axis=1)

    def mean(self, column: np.ndarray, n: int) -> np.ndarray:
        v = self.values(column, n)
        count = np.sum(~np.isnan(v), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, np.nansum(v, axis=1) / count, np.nan)

    def std(self, column: np.ndarray, n: int, least: int = 2) -> np.ndarray:
        """Sample standard deviation (ddof 1) of the last n; NaN with fewer than ``least`` values."""
        v = self.values(column, n)
        count = np.sum(~np.isnan(v), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(v, axis=1) / count
            var = np.nansum((v - mean[:, None]) ** 2, axis=1) / (count - 1)
        return np.where(count >= least, np.sqrt(var), np.nan)

    def reduce(self, column: np.ndarray, n: int, how: str) -> np.ndarray:
        """``max``, ``min`` or ``median`` of the last n (each window holds its own row, never empty)."""
        reducers: dict[str, Callable[..., Any]] = {"max": np.nanmax, "min": np.nanmin, "median": np.nanmedian}
        fn = reducers[how]
        with np.errstate(all="ignore"):
            return np.asarray(fn(self.values(column, n), axis=1), dtype=np.float64)

    def ewm(self, column: np.ndarray, span: int = EWM_SPAN, n: int = EWM_GAMES) -> np.ndarray:
        """Exponentially weighted mean (pandas' ``ewm(span).mean()``, adjusted) over the last n rows."""
        decay = 1.0 - 2.0 / (span + 1.0)  # EWM_DECAY for the features' span
        weights = decay ** np.arange(n, dtype=np.float64)
        values = np.asarray(column, dtype=np.float64)
        out = np.empty(len(self.at), dtype=np.float64)
        for lo in range(0, len(self.at), _CHUNK):
            at, start = self.at[lo : lo + _CHUNK], self._start[lo : lo + _CHUNK]
            idx = at[:, None] - np.arange(n)[None, :]
            ok = (idx >= start[:, None]) & ~np.isnan(values[np.maximum(idx, 0)])
            v = np.where(ok, values[np.maximum(idx, 0)], 0.0)
            out[lo : lo + _CHUNK] = (v @ weights) / (ok @ weights)
        return out
