"""Always-valid confidence sequences for the mean of daily paired differences.

Why: ``compare`` runs after every graded date, so a fixed-level interval checked
night after night will eventually exclude the truth. A *confidence sequence*
(CS) is a sequence of intervals ``CS_1, CS_2, …`` that contain the mean at every
day at once with probability at least ``1 - alpha``; it may be checked every
night, for as long as one likes, and acted on the first time it excludes a value
(Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Statist. 49(2) 1055-1080).

Method: Lai's t-mixture confidence sequence for the mean of i.i.d. normal
observations with unknown variance (T. L. Lai 1976, "On confidence sequences",
Ann. Statist. 4(2) 265-280; Robbins' method of mixtures, as revisited by Wang &
Ramdas 2023, "Anytime-valid t-tests and confidence sequences for Gaussian means
with unknown variance"). For a candidate mean ``m`` and the first ``t``
observations, with ``Q = sum (x_i - m)^2`` and ``D = sum (x_i - m)``, the
scale-invariant likelihood ratio mixed over the standardised effect
``theta = (mu - m) / sigma ~ N(0, 1/c)``::

    L_t(m) = sqrt(c / (t + c)) * (Q / (Q - D^2 / (t + c))) ** (t / 2)

is a nonnegative martingale with mean 1 when ``m`` is the true mean (on the
filtration of the scale-invariant statistics), so by Ville's inequality
``P(exists t: L_t(m) >= 1/alpha) <= alpha``. ``CS_t = {m : L_t(m) < 1/alpha}``
solves in closed form: with ``xbar`` the mean, ``SS`` the centred sum of squares
and ``r = ((1/alpha) * sqrt((t + c)/c)) ** (2/t)``, ``CS_t`` is the whole line
while ``t <= (r - 1) c`` and otherwise::

    xbar ± sqrt((r - 1) * SS * (t + c) / (t * (t - (r - 1) * c)))

Because every ``CS_t`` holds at once, their **running intersection** is a CS
too; it only ever narrows, and an empty one is a contradiction (below). The verdict
reads the latest ``CS_t`` (valid at every night all the same), which follows the data
after a change the intersection would hide (:func:`monitor`).

The unit is one graded *date*: the daily mean of the paired player-game
differences. Dates are **not** independent: the same players, injuries and
schedule carry over, so nightly differences are serially correlated, and their
tails are heavy. Three changes keep the guarantee on real seasons
(:func:`monitor`; ``bench/bench_verdict.py`` measures every one of them):

* **Batch means** (the method of batch means; Flegal & Jones 2010, "Batch means
  and spectral variance estimators in Markov chain Monte Carlo", Ann. Statist.
  38(2) 1034-1070, here used inside a time-uniform method): the nights are grouped
  into blocks of ``BLOCK_NIGHTS`` consecutive observed nights and Lai's CS runs on
  the block means, updated when a block closes. For AR(1) nights with
  correlation rho the lag-1 correlation of 5-night block means is
  ``rho (1 - rho^5)^2 / (5 (1 - rho^2) - 2 rho (1 - rho^5))`` ≈ 0.12 at rho = 0.4
  (0.05 at rho = 0.2), small enough that the t-mixture's own slack absorbs it; a
  block mean of five nights is also much closer to normal than one heavy-tailed
  (t with 3 df) night.
* **A variance floor**: the centred sum of squares is never taken below
  ``(t - 1) * floor**2`` (``floor`` = the smallest believable sd of a block mean), so
  constant, single-bet or identical nights never give a zero-width interval; and no
  interval is bounded before ``first_bounded_day`` blocks (6 blocks = 30 nights at
  alpha 0.025).
* **Restart on contradiction**: an empty running intersection means the data
  contradict a constant mean (the difference changed, or the sequence erred). It is
  reported with its date and the sequence restarts on the next night on the later
  data only, at half the previous level: segment ``j`` runs at ``alpha * 2**-j``, so
  the restarts together spend at most ``alpha`` (the restart is counted against the
  error budget). Restarting at a stopping time on fresh data keeps each segment a
  valid CS; nothing is ever inverted or frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: prior precision ``c`` of the standardised effect: N(0, 1) on (mean daily difference) / (its sd),
#: a unit-information prior that tunes the CS for effects of about one daily sd
PRIOR_PRECISION = 1.0


def confidence_sequence(
    x: Any, alpha: Any, c: float = PRIOR_PRECISION, intersect: bool = True, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Running-intersection bounds of Lai's ``1 - alpha`` CS for the mean of ``x``, one per day
    (each day's own CS with ``intersect=False``).

    ``x`` has days on its last axis (any leading axes are independent sequences, e.g.
    simulated seasons); NaN marks a day with no observation, which leaves the bounds as
    they were. Unbounded sides are ``-inf`` / ``+inf``. ``alpha`` may be an array that
    broadcasts against ``x`` (one level per sequence); ``floor`` is the smallest sd the
    observations are believed to have (the centred sum of squares is kept at or above
    ``(t - 1) * floor**2``).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    if not np.all((alpha > 0) & (alpha < 1)) or c <= 0 or floor < 0:
        raise ValueError(f"need 0 < alpha < 1, c > 0 and floor >= 0, got alpha={alpha}, c={c}, floor={floor}")
    values = np.asarray(x, dtype=np.float64)
    seen = ~np.isnan(values)
    filled = np.where(seen, values, 0.0)
    t = np.cumsum(seen, axis=-1).astype(np.float64)
    total = np.cumsum(filled, axis=-1)
    squares = np.cumsum(filled * filled, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / t
        centred = np.maximum(squares - total * mean, np.maximum(t - 1, 0) * floor * floor)
        r_minus_1 = np.expm1((2.0 / t) * (np.log(1.0 / alpha) + 0.5 * np.log((t + c) / c)))
        room = t - r_minus_1 * c
        bounded = (t >= 2) & (room > 0)
        half = np.sqrt(np.where(bounded, r_minus_1 * centred * (t + c) / (t * room), np.inf))
    low = np.where(bounded, mean - half, -np.inf)
    high = np.where(bounded, mean + half, np.inf)
    if not intersect:
        return low, high
    return np.maximum.accumulate(low, axis=-1), np.minimum.accumulate(high, axis=-1)


def latest(bounds: tuple[np.ndarray, np.ndarray]) -> tuple[float | None, float | None]:
    """The last day's bounds of a one-dimensional CS as floats, None for an unbounded side."""
    low, high = (float(b[-1]) if len(b) else float("nan") for b in bounds)
    return (None if not np.isfinite(low) else low), (None if not np.isfinite(high) else high)


def first_bounded_day(alpha: float, c: float = PRIOR_PRECISION) -> int:
    """The first day on which a CS can be bounded at all (whatever the data): 6 at alpha 0.025, c 1."""
    t = 2
    while t - np.expm1((2.0 / t) * (np.log(1.0 / alpha) + 0.5 * np.log((t + c) / c))) * c <= 0:
        t += 1
    return t


#: consecutive observed nights per block: the CS runs on block means (see the module docstring)
BLOCK_NIGHTS = 5


def block_means(x: Any, size: int = BLOCK_NIGHTS) -> np.ndarray:
    """The series of ``size``-night block means, placed on the night each block closes (NaN on
    every other night), blocks formed from the observed (non-NaN) nights in order."""
    values = np.asarray(x, dtype=np.float64)
    seen = ~np.isnan(values)
    total = np.cumsum(np.where(seen, values, 0.0), axis=-1)
    closes = seen & (np.cumsum(seen, axis=-1) % size == 0)
    nights = np.broadcast_to(np.arange(values.shape[-1]), values.shape)
    last = np.maximum.accumulate(np.where(closes, nights, -1), axis=-1)
    before = np.concatenate([np.full(values.shape[:-1] + (1,), -1), last[..., :-1]], axis=-1)
    previous = np.where(before >= 0, np.take_along_axis(total, np.maximum(before, 0), axis=-1), 0.0)
    return np.where(closes, (total - previous) / size, np.nan)


@dataclass(frozen=True)
class Monitored:
    """A monitored sequence, one entry per night (leading axes as the input's)."""

    low: np.ndarray  # the current segment's latest CS (its last closed block's; ±inf while unbounded)
    high: np.ndarray
    segment: np.ndarray  # 1 + the restarts so far: the current segment runs at alpha * 2**-segment
    start: np.ndarray  # the night the current segment started on (a contradiction night: the night after)
    contradicted: np.ndarray  # True on a night whose running intersection came out empty


def monitor(x: Any, alpha: Any, floor: float, size: int = BLOCK_NIGHTS, c: float = PRIOR_PRECISION) -> Monitored:
    """Lai's CS on ``size``-night block means with the variance ``floor``, restarted the night
    after an empty running intersection; segment ``j`` runs at ``alpha * 2**-j`` (``alpha``:
    scalar, or one per sequence), so all segments together are wrong with probability <= alpha.

    The bounds reported each night are the current segment's *latest* CS, not the running
    intersection: every ``CS_t`` holds at every night at once, so reading the latest is as valid
    however often it is checked, and it follows the data after a change that has not (yet) emptied
    the intersection; the intersection would keep a promotion earned before a change for the
    worse, its interval excluding its own estimate, for a hundred nights (tests/test_grading_verdict.py)."""
    values = np.asarray(x, dtype=np.float64)
    if values.ndim == 0:
        raise ValueError("monitor needs a series of nights")
    level = np.broadcast_to(np.asarray(alpha, dtype=np.float64), values.shape[:-1])[..., None]
    nights = np.arange(values.shape[-1])
    low, high = np.full(values.shape, -np.inf), np.full(values.shape, np.inf)
    segment, start = np.ones(values.shape, dtype=np.int64), np.zeros(values.shape, dtype=np.int64)
    contradicted = np.zeros(values.shape, dtype=bool)
    begin = np.zeros(values.shape[:-1] + (1,), dtype=np.int64)  # each sequence's current segment start
    for j in range(1, values.shape[-1] + 1):
        live = nights >= begin
        own_low, own_high = confidence_sequence(
            block_means(np.where(live, values, np.nan), size), level * 2.0**-j, c, intersect=False, floor=floor
        )
        empty = live & (np.maximum.accumulate(own_low, axis=-1) > np.minimum.accumulate(own_high, axis=-1))
        first = np.where(empty.any(axis=-1, keepdims=True), empty.argmax(axis=-1)[..., None], values.shape[-1])
        mine = live & (nights < first)  # the contradiction night shows the restarted (still open) sequence
        low, high = np.where(mine, own_low, low), np.where(mine, own_high, high)
        segment, start = np.where(mine, j, segment), np.where(mine, begin, start)
        hit = live & (nights == first)  # the next segment (still empty) is the one in force that night
        segment, start = np.where(hit, j + 1, segment), np.where(hit, first + 1, start)
        contradicted |= hit
        if not empty.any():
            break
        begin = np.where(first < values.shape[-1], first + 1, values.shape[-1])
    return Monitored(low, high, segment, start, contradicted)


def change_point(x: Any) -> int:
    """The most likely single change in the mean of the observed nights of ``x``: the index of the
    first night after it (the maximum of the standardised CUSUM), -1 with fewer than 2 nights."""
    values = np.asarray(x, dtype=np.float64)
    where = np.flatnonzero(~np.isnan(values))
    n = len(where)
    if n < 2:
        return -1
    seen = values[where]
    k = np.arange(1, n)
    cusum = np.cumsum(seen)[:-1] - k * seen.mean()
    return int(where[int(np.argmax(np.abs(cusum) / np.sqrt(k * (n - k) / n))) + 1])
