"""The SQL side of ``common/betting.py``: the bet rule as BigQuery-dialect fragments.

Each ``sql_*`` function emits a fragment over the column expressions it is given;
``common/grading/queries.py`` assembles them. They embed only the constants of
``common/betting.py`` (thresholds, bucket labels, recommendation strings, the CLV scale), never
input values, and compute exactly what the numpy function of the same name there computes.
"""

from __future__ import annotations

from common.betting import (
    CALL_OVER,
    CALL_UNDER,
    CLV_LOGISTIC_SCALE_PER_SQRT_POINT,
    EDGE_3PLUS_BUCKETS,
    EDGE_BUCKET_BOUNDS,
    EDGE_BUCKETS,
    LOST,
    NO_BET,
    NO_CALL,
    OVER,
    UNDER,
    WON,
)


def _num(value: float) -> str:
    """A threshold as a SQL literal that parses back to the same double (``repr`` round-trips)."""
    return repr(float(value))


def _strings(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def sql_edge_bucket(edge: str) -> str:
    """CASE giving the edge bucket label of ``edge`` (NULL when there is no edge: NULL or NaN)."""
    whens = [f"    WHEN {edge} IS NULL OR IS_NAN({edge}) THEN NULL"]
    for hi, label in zip(EDGE_BUCKET_BOUNDS[1:], EDGE_BUCKETS[:-1], strict=True):
        whens.append(f"    WHEN ABS({edge}) < {_num(hi)} THEN '{label}'")
    return "CASE\n" + "\n".join(whens) + f"\n    ELSE '{EDGE_BUCKETS[-1]}'\n  END"


def sql_is_finite(value: str) -> str:
    """TRUE when ``value`` is a number to grade: not NULL, NaN or infinite (FALSE otherwise)."""
    return f"({value} IS NOT NULL AND NOT IS_NAN({value}) AND NOT IS_INF({value}))"


def sql_edge_3plus(bucket: str) -> str:
    """TRUE when the edge bucket ``bucket`` is an edge-3+ one (FALSE for NULL)."""
    return f"COALESCE({bucket} IN ({_strings(EDGE_3PLUS_BUCKETS)}), FALSE)"


def sql_is_push(actual: str, line: str) -> str:
    """TRUE when the outcome equals the line (FALSE without a line)."""
    return f"COALESCE({actual} = {line}, FALSE)"


def sql_is_correct(recommendation: str, actual: str, line: str) -> str:
    """CASE: whether an OVER/UNDER won; NULL for PASS, no line (NULL or NaN) or a push."""
    return (
        "CASE\n"
        f"    WHEN {line} IS NULL OR IS_NAN({line}) OR {actual} = {line} THEN NULL\n"
        f"    WHEN {recommendation} = '{OVER}' THEN {actual} > {line}\n"
        f"    WHEN {recommendation} = '{UNDER}' THEN {actual} < {line}\n"
        "    ELSE NULL\n"
        "  END"
    )


def sql_is_call(recommendation: str) -> str:
    """TRUE for an OVER or UNDER recommendation."""
    return f"{recommendation} IN ('{OVER}', '{UNDER}')"


def sql_call(recommendation: str) -> str:
    """CALL_OVER, CALL_UNDER or NO_CALL for a recommendation."""
    return f"CASE {recommendation} WHEN '{OVER}' THEN {CALL_OVER} WHEN '{UNDER}' THEN {CALL_UNDER} ELSE {NO_CALL} END"


def sql_outcome(is_correct: str) -> str:
    """WON, LOST or NO_BET (PASS, push, no line) from ``is_correct``."""
    return f"CASE WHEN {is_correct} IS NULL THEN {NO_BET} WHEN {is_correct} THEN {WON} ELSE {LOST} END"


def sql_units(is_correct: str, payout: str) -> str:
    """Units a pick won: ``payout`` (a query parameter) for a won bet, -1 for a lost one, 0 otherwise."""
    return f"CASE WHEN {is_correct} THEN {payout} WHEN NOT {is_correct} THEN -1.0 ELSE 0.0 END"


def sql_clv(is_correct: str, recommendation: str, opening: str, closing: str) -> str:
    """Closing-line value of a bet, in points (as :func:`clv_points`): how far the line moved from
    ``opening`` (the line bet) to ``closing`` toward the pick (up for an OVER, down for an UNDER);
    NULL for no bet or a missing (NULL, NaN, infinite) line."""
    return (
        f"CASE WHEN {is_correct} IS NULL OR NOT {sql_is_finite(opening)} OR NOT {sql_is_finite(closing)} THEN NULL "
        f"WHEN {recommendation} = '{OVER}' THEN {closing} - {opening} "
        f"WHEN {recommendation} = '{UNDER}' THEN {opening} - {closing} END"
    )


def sql_odds(price: str) -> str:
    """``price`` when it is American odds (``<= -100`` or ``>= +100``), else NULL: a price no book
    can quote (``+50``, ``0``) is no price at all, never settled as if it paid ``price/100``."""
    return f"IF(ABS({price}) >= 100, {price}, NULL)"


def sql_price(price: str, default: str) -> str:
    """A price column as FLOAT64, ``default`` (a query parameter: ``BET_PRICE``) where it is NULL."""
    return f"COALESCE(CAST({price} AS FLOAT64), {default})"


def sql_pick_price(recommendation: str, over_price: str, under_price: str, default: str) -> str:
    """The price of the side picked: ``over_price`` for an OVER, ``under_price`` otherwise (as
    :func:`pick_prices`), ``default`` where it is NULL."""
    return sql_price(f"IF({recommendation} = '{OVER}', {over_price}, {under_price})", default)


def sql_win_payout(price: str) -> str:
    """Units a won one-unit bet returns at American odds ``price`` (FLOAT64, never NULL): as :func:`win_payout`."""
    return f"IF({price} <= -100.0, 100.0 / -({price}), {price} / 100.0)"


def sql_break_even(price: str) -> str:
    """The hit rate at which bets at ``price`` break even: as :func:`break_even`."""
    return f"(1.0 / (1.0 + {sql_win_payout(price)}))"


def sql_no_vig(own: str, other: str) -> str:
    """One side's no-vig probability from both sides' prices (FLOAT64), ``VIG_METHOD``: as :func:`no_vig`."""
    return f"({sql_break_even(own)} / ({sql_break_even(own)} + {sql_break_even(other)}))"


def sql_settled_units(is_correct: str, price: str) -> str:
    """Units a pick won at its own ``price`` (FLOAT64): +payout for a win, -1 for a loss, 0 for a
    push; NULL when it was no bet (PASS, push, no line) — as :func:`settle`, a push returns the stake."""
    return f"CASE WHEN {is_correct} THEN {sql_win_payout(price)} WHEN NOT {is_correct} THEN -1.0 END"


def sql_no_vig_at_line(line: str, market_line: str, over_price: str, under_price: str) -> tuple[str, str]:
    """(over, under) probabilities at ``line`` from a market quoted at ``market_line`` (FLOAT64
    expressions): as :func:`no_vig_at_line`, the same odds form and constant (EXP and SQRT only)."""
    scale = f"({_num(CLV_LOGISTIC_SCALE_PER_SQRT_POINT)} * SQRT(GREATEST({market_line}, 1.0)))"
    over = f"({sql_break_even(over_price)} * EXP(({market_line} - {line}) / {scale}))"
    under = sql_break_even(under_price)
    return f"({over} / ({over} + {under}))", f"({under} / ({over} + {under}))"


def sql_clv_prob(
    is_correct: str, recommendation: str, lines: tuple[str, str], at_bet: tuple[str, str], at_close: tuple[str, str]
) -> str:
    """Closing-line value of a bet in probability (as :func:`clv_prob`): the probability that the bet
    as placed wins, read from the closing market at the bet's line (:func:`sql_no_vig_at_line`), minus
    the pick side's no-vig probability at the bet; ``lines`` is (bet line, closing line), ``at_bet``
    and ``at_close`` are (over, under) FLOAT64 price expressions; NULL for no bet or no closing
    market (a NULL price or a NULL, NaN or infinite closing line)."""
    line, closing_line = lines
    bet_over, bet_under = at_bet
    close_over, close_under = at_close
    won_over, won_under = sql_no_vig_at_line(line, closing_line, close_over, close_under)
    over = f"{won_over} - {sql_no_vig(bet_over, bet_under)}"
    under = f"{won_under} - {sql_no_vig(bet_under, bet_over)}"
    return (
        f"CASE WHEN {is_correct} IS NULL OR {close_over} IS NULL OR {close_under} IS NULL "
        f"OR NOT {sql_is_finite(closing_line)} THEN NULL "
        f"WHEN {recommendation} = '{OVER}' THEN {over} ELSE {under} END"
    )
