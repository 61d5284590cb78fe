"""Governance gates: what a trained model must show before it is uploaded and registered.

Every threshold lives in :class:`GateConfig`, once. A gate that cannot be judged
(no champion to compare with, a non-quantile model's coverage) is *skipped*,
says why, and does not block.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.training.metrics import Metrics


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the governance gates (the defaults are the production policy)."""

    #: edge-3+ bets needed before its hit rate means anything
    min_edge_3plus_n: int = 50
    #: the edge-3+ hit rate must reach the break-even hit rate of the prices those bets were placed
    #: at (``Metrics.break_even_edge_3plus``: 52.4% at -110, 56.5% at -130) plus this, percentage points
    edge_3plus_margin: float = 0.0
    #: MAE may exceed the family champion's MAE (same eval window) by at most this, points
    mae_tolerance: float = 0.15
    #: predictions with a smaller standard deviation are "near-constant", points
    min_prediction_std: float = 1.0
    #: a quantile model's coverage must lie within alpha ± this; on the synthetic season a
    #: well-trained q43 model's coverage drifts by up to ±0.05 from one 3-week window to the next
    coverage_band: float = 0.06


DEFAULT_GATES = GateConfig()


@dataclass(frozen=True)
class Reference:
    """The model a new one is compared with: the family champion (or newest enabled model).

    ``mae`` is that model's MAE on the new model's eval window; None when it could
    not be scored, with ``note`` saying why.
    """

    model_id: str | None
    mae: float | None
    note: str


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict."""

    name: str
    passed: bool
    value: str
    threshold: str
    skipped: bool = False
    note: str = ""

    @property
    def status(self) -> str:
        return "skip" if self.skipped else ("pass" if self.passed else "FAIL")

    def reason(self) -> str:
        return f"{self.name}: {self.value} (needs {self.threshold}){' — ' + self.note if self.note else ''}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def evaluate_gates(
    metrics: Metrics, alpha: float | None, reference: Reference, config: GateConfig = DEFAULT_GATES
) -> list[GateResult]:
    """Judge ``metrics`` (of a model trained at ``alpha``, None for MAE) against every gate."""
    rate, even = metrics.hit_rate_edge_3plus, metrics.break_even_edge_3plus
    floor = None if even is None else even + config.edge_3plus_margin
    return [
        GateResult(
            "edge-3+ sample",
            metrics.n_edge_3plus >= config.min_edge_3plus_n,
            str(metrics.n_edge_3plus),
            f">= {config.min_edge_3plus_n}",
        ),
        GateResult(
            "edge-3+ hit rate",
            rate is not None and floor is not None and rate >= floor,
            f"{_fmt(rate, 1)}%",
            f">= {_fmt(floor, 1)}% (break-even of the prices bet)",
        ),
        _mae_gate(metrics, reference, config),
        GateResult(
            "not near-constant",
            metrics.prediction_std >= config.min_prediction_std,
            f"sd {metrics.prediction_std:.2f}",
            f">= {config.min_prediction_std:.2f}",
        ),
        _coverage_gate(metrics, alpha, config),
    ]


def _mae_gate(metrics: Metrics, reference: Reference, config: GateConfig) -> GateResult:
    name = "MAE vs champion"
    if reference.mae is None:
        return GateResult(name, True, _fmt(metrics.mae), "n/a", skipped=True, note=reference.note)
    limit = reference.mae + config.mae_tolerance
    note = f"{reference.model_id} scored {reference.mae:.2f} on the same window"
    return GateResult(name, metrics.mae <= limit, _fmt(metrics.mae), f"<= {limit:.2f}", note=note)


def _coverage_gate(metrics: Metrics, alpha: float | None, config: GateConfig) -> GateResult:
    name = "quantile coverage"
    if alpha is None or metrics.coverage is None:
        return GateResult(name, True, "n/a", "n/a", skipped=True, note="not a quantile model")
    low, high = alpha - config.coverage_band, alpha + config.coverage_band
    return GateResult(name, low <= metrics.coverage <= high, f"{metrics.coverage:.3f}", f"{low:.2f}..{high:.2f}")


def failures(results: list[GateResult]) -> list[str]:
    """One line per failed gate."""
    return [r.reason() for r in results if not r.passed]
