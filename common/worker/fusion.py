"""Fused scoring: served models that read one feature order, evaluated in one CatBoost pass.

Every ``model.predict`` call costs about 0.4 ms of CatBoost overhead whatever its size, which
at 30-200 served models is most of a slate's scoring time. ``sum_models`` concatenates the
members' trees into one ensemble (their float borders merged, each split kept as it was);
``staged_predict(eval_period=T)`` yields the running raw sum after every ``T`` trees, so with
members of ``T`` trees each, member ``j``'s output is the difference of two consecutive
stages plus its own bias (the ensemble's bias is set to 0, so the first member's stage is its
own tree sum). The sums are of doubles in another order than the model's own ``predict``:
agreement within about 1e-13, not bit for bit.

So that nothing is ever scored wrongly:

- only models that are plainly compatible are fused: symmetric (oblivious) trees, numeric
  features only, one output, scale 1, the same missing-value mode and the same tree count;
  any other model is scored alone by its own ``predict``;
- each fused group is checked when it is built, on probe rows that sit on and just above
  every border of every member and on missing values, against each member's own ``predict``;
  a group that differs anywhere by more than ``TOLERANCE`` is not used (its members are
  scored alone) and says so in the log;
- the champion is always scored alone: the user-facing picks are its own ``predict``, bit
  for bit, whatever shadows serve beside it.

Fused ensembles are built beside the serving set: the worker swaps in a new set at once, scored
with the previous set's ensembles wherever they still hold its models (``carry_over``: a member
no longer served is computed and dropped) and every other model alone; it builds the new set's
ensembles in the background (a few hundred ms for 30 models) and then swaps in the same set with
them, so neither a cold start nor a reload waits for fusion. A rebuild reuses the previous set's
groups whose feature order and members' sha256s are unchanged.

Once fused, a member's own CatBoost object is dropped (``serving.slim``): the ensemble holds its
trees, and the object is read again from the local model cache only if the member must be scored
alone (promoted to champion, or its group not rebuilt). At 200 served models this halves memory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from common.errors import InvalidModel

log = logging.getLogger(__name__)

TOLERANCE = 1e-9
MIN_MEMBERS = 2  # one model gains nothing from fusing
PROBE_ROWS = 2048  # at most this many probe rows per group check (borders cycled within it)


@dataclass(frozen=True, eq=False)
class FusedGroup:
    """Several models of one feature order, as one ensemble scored in one pass."""

    order: tuple[str, ...]
    members: tuple[int, ...]  # indices into the serving set's models, in ensemble order; -1: not served
    ensemble: Any = None  # catboost.CatBoost: the members' trees, one after another
    period: int = 0  # trees per member
    biases: tuple[float, ...] = ()
    signature: tuple[Any, ...] | None = None  # the members' fusion signature

    def predict(self, pool: Any, thread_count: int = 1) -> np.ndarray:
        """Each member's predictions on ``pool``: shape (members, rows), float64."""
        out = np.empty((len(self.members), pool.num_row()), dtype=np.float64)
        stages = self.ensemble.staged_predict(
            pool, prediction_type="RawFormulaVal", eval_period=self.period, thread_count=thread_count
        )
        previous: np.ndarray | float = 0.0
        count = 0
        for j, stage in enumerate(stages):
            if j >= len(self.members):
                break
            np.subtract(stage, previous, out=out[j])
            out[j] += self.biases[j]
            previous = stage
            count = j + 1
        if count != len(self.members) or self.period * count != self.ensemble.tree_count_:
            raise InvalidModel(
                f"a fused ensemble of {self.ensemble.tree_count_} trees does not split into "
                f"{len(self.members)} members of {self.period}"
            )
        return out


@dataclass(frozen=True, eq=False)
class ScoringPlan:
    """How a serving set is scored: fused groups, and the models scored by their own predict."""

    key: tuple[tuple[str, str, str], ...]  # (model id, sha256, role) of the models it was made for
    fused: tuple[FusedGroup, ...]
    alone: tuple[int, ...]

    def reusable(self) -> dict[tuple[tuple[str, ...], tuple[str, ...]], FusedGroup]:
        """Its whole groups by (feature order, members' sha256s), for the next set to reuse."""
        return {(g.order, tuple(self.key[i][1] for i in g.members)): g for g in self.fused if min(g.members) >= 0}

    @property
    def fused_models(self) -> int:
        return sum(1 for g in self.fused for i in g.members if i >= 0)


def fusion_signature(model: Any) -> tuple[Any, ...] | None:
    """What must match for two models to be fused; None when a model can never be fused."""
    try:
        params = model.get_all_params()
        scale, bias = model.get_scale_and_bias()
    except Exception:  # an object that is not a plain CatBoost model: never fused
        return None
    if params.get("grow_policy", "SymmetricTree") != "SymmetricTree" or scale != 1.0:
        return None
    if not isinstance(bias, float) or model.get_cat_feature_indices() or model.get_text_feature_indices():
        return None
    if model.get_embedding_feature_indices():
        return None
    return (params.get("nan_mode", "Min"), int(model.tree_count_))


def signature_of(served: Any) -> tuple[Any, ...] | None:
    """A served model's fusion signature: the one kept when its object was dropped, else computed."""
    known = getattr(served, "signature", ())
    return fusion_signature(served.model) if known == () else known


def plan_key(models: Sequence[Any]) -> tuple[tuple[str, str, str], ...]:
    return tuple((m.model_id, m.sha256, m.role) for m in models)


def unfused(models: Sequence[Any]) -> ScoringPlan:
    """Every model scored by its own ``predict``: what a set serves until its ensembles are built."""
    return ScoringPlan(plan_key(models), (), tuple(range(len(models))))


def plan_scoring(models: Sequence[Any], previous: ScoringPlan | None = None, chunks: int = 1) -> ScoringPlan:
    """Group ``models`` (``ServingModel``s) for fused scoring.

    Fusable models of one feature order and signature form groups of at least
    ``MIN_MEMBERS``, split into ``chunks`` ensembles so the scoring threads share the work.
    A group of ``previous`` with the same feature order and members' sha256s is reused.
    """
    reuse = previous.reusable() if previous is not None else {}
    candidates: dict[tuple[Any, ...], list[int]] = {}
    alone: list[int] = []
    for i, served in enumerate(models):
        signature = None if served.is_champion or not served.sha256 else signature_of(served)
        if signature is None:
            alone.append(i)
        else:
            candidates.setdefault((served.input_order, signature), []).append(i)
    fused: list[FusedGroup] = []
    for (order, signature), members in candidates.items():
        for part in _split(members, chunks):
            shas = tuple(models[i].sha256 for i in part)
            group = reuse.get((order, shas)) or _build(order, tuple(models[i].model for i in part))
            if group is None:
                alone.extend(part)
            else:
                fused.append(replace(group, members=tuple(part), signature=signature))
    return ScoringPlan(plan_key(models), tuple(fused), tuple(sorted(alone)))


def carry_over(models: Sequence[Any], previous: ScoringPlan | None) -> ScoringPlan:
    """What a new set serves with until its own ensembles are built: no ensemble is built.

    Each of ``previous``'s groups that still holds one or more of ``models`` (same sha256, same
    feature order, not the champion) scores them; a member no longer served is computed and
    dropped (index -1). Every other model is scored alone. Exact: the groups were checked when built.
    """
    if previous is None or not previous.fused:
        return unfused(models)
    free: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for i, served in enumerate(models):
        if not served.is_champion and served.sha256:
            free.setdefault((served.sha256, served.input_order), []).append(i)
    fused: list[FusedGroup] = []
    for group in previous.fused:
        found = [free.get((previous.key[i][1], group.order), []) if i >= 0 else [] for i in group.members]
        members = tuple(f.pop(0) if f else -1 for f in found)
        if max(members) >= 0:
            fused.append(replace(group, members=members))
    covered = {i for g in fused for i in g.members}
    alone = tuple(i for i in range(len(models)) if i not in covered)
    return ScoringPlan(plan_key(models), tuple(fused), alone)


def _split(members: list[int], chunks: int) -> list[list[int]]:
    if len(members) < MIN_MEMBERS:
        return [[m] for m in members]
    parts = max(1, min(chunks, len(members) // MIN_MEMBERS))
    size = -(-len(members) // parts)
    return [members[i : i + size] for i in range(0, len(members), size)]


def _build(order: tuple[str, ...], models: tuple[Any, ...]) -> FusedGroup | None:
    """The checked ensemble of ``models``, or None to score them alone."""
    if len(models) < MIN_MEMBERS:
        return None
    from catboost import CatBoostError

    from common.worker.memory import on_model_thread

    try:  # on the models thread, whose heap the ensemble lives and is freed in
        ensemble = on_model_thread(_summed, models)
    except CatBoostError as exc:
        log.warning("models of one feature order could not be fused, scored alone: %s", str(exc).splitlines()[0])
        return None
    period = int(models[0].tree_count_)
    biases = tuple(float(m.get_scale_and_bias()[1]) for m in models)
    group = FusedGroup(order, tuple(range(len(models))), ensemble, period, biases)
    worst = largest_difference(group, models)
    if not worst <= TOLERANCE:
        log.warning("a fused group of %d models differs by %.3g from their own predictions: scored alone",
                    len(models), worst)  # fmt: skip
        return None
    return group


def _summed(models: Sequence[Any]) -> Any:
    from catboost import sum_models

    ensemble = sum_models(list(models))
    ensemble.set_scale_and_bias(1.0, 0.0)
    return ensemble


def largest_difference(group: FusedGroup, models: Sequence[Any]) -> float:
    """The largest gap between ``group``'s outputs and its members' own ``predict`` (``models``,
    in the group's order) on probe rows at every border and on missing values; NaN counts as
    infinitely wrong."""
    from catboost import CatBoostError, Pool

    pool = Pool(probe_rows(models, len(group.order)))
    try:
        fused = group.predict(pool)
    except (CatBoostError, InvalidModel):
        return float("inf")
    gaps = [np.nan_to_num(np.abs(fused[j] - m.predict(pool, thread_count=1)), nan=np.inf) for j, m in enumerate(models)]
    return float(max(np.max(g) for g in gaps))


def probe_rows(models: Sequence[Any], width: int) -> np.ndarray:
    """Rows that sit on, just above and just below every border of every model, and on NaN."""
    every = [m.get_borders() for m in models]  # {feature index: borders}, once per model
    columns: list[np.ndarray] = []
    nan = np.array([np.nan], dtype=np.float32)
    for feature in range(width):
        borders = np.unique(np.concatenate([np.asarray(b.get(feature, []), dtype=np.float32) for b in every]))
        if not borders.size:
            columns.append(np.array([np.nan, 0.0], dtype=np.float32))
            continue
        with np.errstate(over="ignore"):  # a border at the float32 limit steps to infinity
            up = np.nextafter(borders, np.float32(np.inf))
            down = np.nextafter(borders, np.float32(-np.inf))
        columns.append(np.concatenate([borders, up, down, nan]).astype(np.float32))
    rows = min(PROBE_ROWS, max(len(c) for c in columns))
    rng = np.random.default_rng(0)
    matrix = np.empty((rows, width), dtype=np.float32)
    for j, column in enumerate(columns):
        # each column cycles through its own values, shifted by a seeded permutation so that
        # rows combine different features' borders
        matrix[:, j] = np.resize(column[rng.permutation(len(column))], rows)
    return matrix
