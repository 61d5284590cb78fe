"""Promotion advice: after grading, tell the team when a challenger has earned a promotion.

A note, never an action: it recommends ``modelctl promote ID`` on the team's
Slack (or the log when Slack is not configured), at most once per challenger
and comparison end date. Only the promote verdict posts; challengers never
raise user-facing alerts, whatever their figures. The verdict is the sequential
one of ``compare.py`` on every shared out-of-sample date, on the challenger's
family's objective, so checking it after each graded date does not raise its
false-promotion rate; each challenger runs at its share of the champion's error
budget (alpha-spending over challengers, ``objective.py``), so the chance of any
false PROMOTE across all the champion's challengers and retrains stays <= ALPHA.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from common.grading.analysis import compare_models
from common.grading.catalog import Catalog
from common.grading.compare import Comparison, Evidence, VerdictRule, interval
from common.grading.store import GradingStore
from common.notify import SlackPoster, deliver_once

log = logging.getLogger(__name__)
KIND = "promotion_advice"


def advice_key(comparison: Comparison) -> str:
    end = comparison.end.isoformat() if comparison.end else "none"
    return f"{KIND}:{comparison.challenger.model_id}:{end}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _roi(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _diff(e: Evidence) -> str:
    return "n/a" if e.estimate is None else f"{e.estimate:+.4f}"


def advice_message(c: Comparison) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and Block Kit blocks recommending the promotion."""
    ch, champ = c.challenger, c.champion
    command = f"modelctl promote {ch.model_id} --reason 'beat {champ.model_id} in live grading'"
    margins = c.margins.margins
    lines = [
        f"Promotion advice: {ch.model_id} beats champion {champ.model_id} over {c.graded_days} graded days "
        f"({c.start} to {c.end}, {c.n_shared} shared player-games).",
        f"Objective: {c.objective}. Verdict: {c.verdict.upper()}, driven by {c.driver}.",
        *([f"Note: {c.note}."] if c.note else []),
        f"MAE {ch.mae:.3f} vs {champ.mae:.3f}: mean daily difference {_diff(c.mae)}, "
        f"confidence sequence {interval(c.mae)} (margin {margins['mae']:g}).",
        f"CLV (no-vig probability per bet): mean daily difference {_diff(c.clv)}, "
        f"confidence sequence {interval(c.clv)} (margin {margins['clv']:g}).",
        f"ROI {_roi(ch.roi)} vs {_roi(champ.roi)} units per bet at {c.margins.bet_price:+g} "
        f"(units {ch.units:+.1f} vs {champ.units:+.1f}): mean daily difference "
        f"{_diff(c.roi)}, confidence sequence {interval(c.roi)} (margin {margins['roi']:g}).",
        f"Hit rate {_pct(ch.hit_rate)} (n={ch.n_bets}) vs {_pct(champ.hit_rate)} (n={champ.n_bets}); "
        f"edge 3+ {_pct(ch.hit_rate_edge_3plus)} (n={ch.n_edge_3plus}) vs "
        f"{_pct(champ.hit_rate_edge_3plus)} (n={champ.n_edge_3plus}).",
        f"Rule: {c.rule}.",
        f"Recommended: `{command}`",
    ]
    text = "\n".join(lines)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Promotion advice: {ch.model_id}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
    ]
    return text, blocks


def advise_promotions(
    store: GradingStore, catalog: Catalog, poster: SlackPoster, now: datetime, rule: VerdictRule | None = None
) -> list[str]:
    """Compare every active challenger with the champion; post advice for each promote verdict.

    Returns one outcome per advice ("<model_id>: sent:slack", "<model_id>: duplicate").
    """
    champion = catalog.champion
    if not catalog.from_registry or champion is None:
        reason = "no champion" if champion is None else "the registry could not be read"
        log.info("no promotion advice: %s", reason, extra={"reason": reason})
        return []
    outcomes = []
    for model in catalog.challengers:
        comparison = compare_models(store, catalog, model.model_id, champion.model_id, None, rule)
        log.info(
            "%s vs %s on %s: %s (%s)%s",
            model.model_id,
            champion.model_id,
            comparison.objective,
            comparison.verdict,
            comparison.reason,
            f"; {comparison.note}" if comparison.note else "",
            extra={"model_id": model.model_id, "verdict": comparison.verdict, "driver": comparison.driver,
                   "objective": comparison.objective},
        )  # fmt: skip
        if comparison.sufficient:
            outcomes.append(f"{model.model_id}: {_deliver(store, poster, comparison, now)}")
    return outcomes


def _deliver(store: GradingStore, poster: SlackPoster, comparison: Comparison, now: datetime) -> str:
    text, blocks = advice_message(comparison)
    payload = {"challenger": comparison.challenger.model_id, "champion": comparison.champion.model_id,
               "end": comparison.end, "driver": comparison.driver, "mae_diff": comparison.mae.estimate,
               "roi_diff": comparison.roi.estimate, "clv_diff": comparison.clv.estimate,
               "objective": comparison.objective, "note": comparison.note}  # fmt: skip
    return deliver_once(store.engine, advice_key(comparison), KIND, payload, lambda: poster.post(text, blocks), now)
