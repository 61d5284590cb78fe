"""The promotion rule lives in ``RegistryService.promote`` (issue 12.2), on every engine.

"Promote only with evidence, or with force and a reason": the evidence comes from an
injected provider (in production ``common.app`` wires grading's ``promotion_check``;
``test_grading.py`` drives that through the CLI). Each promotion writes, in the same
unit as its audit event, a ``model_registry_promotions`` row (migration 009) saying
whether it was forced and which evidence it relied on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest

from common.errors import Conflict, InvalidArgument
from common.registry.model import ModelRecord, PromotionEvidence
from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.registry.store import RegistryStore
from tests.conftest import ModelFiles

PROMOTE_FINDING = "challenger's MAE is lower and the interval excludes 0"


def evidence(verdict: str) -> PromotionEvidence:
    return PromotionEvidence(
        sufficient=verdict == "promote",
        verdict=verdict,
        finding=PROMOTE_FINDING if verdict == "promote" else "insufficient evidence: 12 shared player-games",
        rule="promote when the challenger's MAE interval lies below the margin",
        champion_id="(set below)",
        details_json=json.dumps({"verdict": verdict, "n_shared": 12}),
    )


class Provider:
    """A provider answering a fixed verdict, recording what it was asked."""

    def __init__(self, verdict: str) -> None:
        self.verdict = verdict
        self.asked: list[tuple[str, int]] = []

    def __call__(
        self, model_id: str, models: Sequence[ModelRecord], objectives: Mapping[str, str]
    ) -> PromotionEvidence:
        self.asked.append((model_id, len(models)))
        return evidence(self.verdict)


def two_enabled(registration: RegistrationService, files: ModelFiles) -> tuple[str, str]:
    ids = []
    for data in (files.v9_mae, files.v12_mae):
        info = registration.bucket.write(f"models/{len(ids)}.cbm", data)
        ids.append(registration.register_object(info.name, info.generation, info.size).record.model_id)
        registration.registry.enable(ids[-1])
    return ids[0], ids[1]


def service(store: RegistryStore, provider: Provider | None) -> RegistryService:
    return RegistryService(store, actor="pytest", evidence=provider)


def test_the_first_champion_needs_no_evidence(
    store: RegistryStore, registration: RegistrationService, model_files: ModelFiles
) -> None:
    a, _ = two_enabled(registration, model_files)
    provider = Provider("keep watching")
    service(store, provider).promote(a, reason="first champion")
    assert provider.asked == []  # nothing to compare with
    proof = registration.registry.promotions(a)
    assert [(p.forced, p.previous_champion, p.verdict, p.evidence_json) for p in proof] == [(False, None, None, None)]
    assert proof[0].event_id == registration.registry.events(a)[-1].event_id


def test_evidence_that_supports_the_promotion_is_recorded(
    store: RegistryStore, registration: RegistrationService, model_files: ModelFiles
) -> None:
    a, b = two_enabled(registration, model_files)
    registry = service(store, Provider("promote"))
    registry.promote(a)
    assert registry.promote(b).is_champion
    proof = registry.promotions(b)[-1]
    assert (proof.forced, proof.previous_champion, proof.verdict, proof.finding) == (
        False,
        a,
        "promote",
        PROMOTE_FINDING,
    )
    assert json.loads(proof.evidence_json or "")["n_shared"] == 12
    assert [e.action for e in registry.events()][-2:] == ["demoted", "promoted"]


@pytest.mark.parametrize(
    ("force", "reason"), [(False, None), (False, "I like it"), (True, None), (True, "   ")], ids=str
)
def test_insufficient_evidence_refuses_unless_forced_with_a_reason(
    store: RegistryStore,
    registration: RegistrationService,
    model_files: ModelFiles,
    force: bool,
    reason: str | None,
) -> None:
    a, b = two_enabled(registration, model_files)
    registry = service(store, Provider("keep watching"))
    registry.promote(a)
    events = len(registry.events())
    with pytest.raises(Conflict, match="evidence is insufficient to promote .* pass --force --reason TEXT"):
        registry.promote(b, reason=reason, force=force)
    assert registry.champion().model_id == a  # type: ignore[union-attr]
    assert len(registry.events()) == events and len(registry.promotions()) == 1


def test_a_forced_promotion_records_what_it_overrode(
    store: RegistryStore, registration: RegistrationService, model_files: ModelFiles
) -> None:
    a, b = two_enabled(registration, model_files)
    registry = service(store, Provider("keep watching"))
    registry.promote(a)
    registry.promote(b, reason="backtest is strong", force=True)
    event = registry.events(b)[-1]
    assert event.action == "promoted" and event.reason == (
        "forced past compare (keep watching: insufficient evidence: 12 shared player-games): backtest is strong"
    )
    proof = registry.promotions(b)[-1]
    assert (proof.event_id, proof.forced, proof.verdict, proof.previous_champion) == (
        event.event_id,
        True,
        "keep watching",
        a,
    )


def test_without_a_provider_a_champion_is_replaced_only_by_force(
    store: RegistryStore, registration: RegistrationService, model_files: ModelFiles
) -> None:
    """No path around the rule: a service built without evidence cannot promote quietly."""
    a, b = two_enabled(registration, model_files)
    registry = service(store, None)
    registry.promote(a)
    with pytest.raises(Conflict, match=r"no evidence: no comparison is available"):
        registry.promote(b, reason="trust me")
    registry.promote(b, reason="trust me", force=True)
    assert registry.promotions(b)[-1].forced and registry.promotions(b)[-1].verdict == "no evidence"


def test_a_reason_over_the_limit_is_refused_before_anything(
    store: RegistryStore, registration: RegistrationService, model_files: ModelFiles
) -> None:
    a, _ = two_enabled(registration, model_files)
    provider = Provider("promote")
    with pytest.raises(InvalidArgument, match="at most 1,000"):
        service(store, provider).promote(a, reason="x" * 1001, force=True)
    assert registration.registry.champion() is None and registration.registry.promotions() == []
