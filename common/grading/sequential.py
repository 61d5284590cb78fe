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
too, and it only ever narrows (monotone): that is what the verdict reads.

The unit is one graded *date*: the daily mean of the paired player-game
differences. Player-games of one date share the night's conditions and are not
independent evidence; dates are treated as independent, and the daily mean of
many player-games as approximately normal (``bench/bench_verdict.py`` measures
the error rate with per-date effects and uneven slates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: prior precision ``c`` of the standardised effect: N(0, 1) on (mean daily difference) / (its sd),
#: a unit-information prior that tunes the CS for effects of about one daily sd
PRIOR_PRECISION = 1.0


def confidence_sequence(
    x: Any, alpha: float, c: float = PRIOR_PRECISION, intersect: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Running-intersection bounds of Lai's ``1 - alpha`` CS for the mean of ``x``, one per day
    (each day's own CS with ``intersect=False``).

    ``x`` has days on its last axis (any leading axes are independent sequences, e.g.
    simulated seasons); NaN marks a day with no observation, which leaves the bounds as
    they were. Unbounded sides are ``-inf`` / ``+inf``.
    """
    if not 0 < alpha < 1 or c <= 0:
        raise ValueError(f"need 0 < alpha < 1 and c > 0, got alpha={alpha}, c={c}")
    values = np.asarray(x, dtype=np.float64)
    seen = ~np.isnan(values)
    filled = np.where(seen, values, 0.0)
    t = np.cumsum(seen, axis=-1).astype(np.float64)
    total = np.cumsum(filled, axis=-1)
    squares = np.cumsum(filled * filled, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / t
        centred = np.maximum(squares - total * mean, 0.0)
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
