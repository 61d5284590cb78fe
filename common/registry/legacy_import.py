"""Cutover: bring the legacy ``MONTHLY_MODELS`` dict and its champion into the registry.

The legacy system kept its models in a Python dict (id → ``model_path``, training dates,
backtest metrics, ``enabled``, ``description``; the seed's Parallel Models guide, step 2)
and its champion in ``CATBOOST_V9_MODEL_PATH``. :func:`plan_import` reads every file and
works out what would change; :func:`apply_import` does it through the normal services:
each model is registered from its own bytes by :class:`RegistrationService` (validation,
rejections, idempotency), under its legacy id, then enabled and promoted by
:class:`RegistryService`. Every change is audited with :data:`IMPORT_REASON`; a second
run finds nothing to do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common.errors import AppError, Conflict, InvalidArgument, InvalidModel
from common.feature_sets import FEATURE_SETS
from common.registry.card import CARD_FIELDS
from common.registry.model import ModelRecord
from common.registry.naming import check_model_id
from common.registry.registration import RegistrationService
from common.registry.validation import ModelFacts, read_facts
from common.storage import StoredObject, open_bucket, sha256_hex, split_uri

IMPORT_REASON = "imported from MONTHLY_MODELS"
MAX_EXPORT_CHARS = 10_000_000  # the legacy dict holds a few dozen models: a few kB
# The dict's fields that become object metadata, which registration reads under a model card.
_FACT_FIELDS = tuple(f.name for f in CARD_FIELDS if f.legacy)
_ID_FEATURE_SET = re.compile(r"^catboost_(?P<fs>v\d+(?:_noveg)?)_")


@dataclass(frozen=True)
class LegacyModel:
    """One entry of ``MONTHLY_MODELS`` (``model_id`` None: the champion file alone)."""

    model_id: str | None
    model_path: str
    enabled: bool
    facts: dict[str, str]


@dataclass(frozen=True)
class Source:
    """What a legacy model's bytes hold, and where registration will find them. The bytes are not
    kept: the plan reads one file at a time (memory bounded by the largest file, however many
    entries the dict has), and applying it reads each again and checks it is the file planned."""

    model: LegacyModel
    sha256: str
    facts: ModelFacts
    in_bucket: StoredObject | None  # the object, when the file already lives in the models bucket


@dataclass(frozen=True)
class Step:
    """One change (or a model left as it is) in the import plan."""

    model_id: str
    action: str  # register | enable | promote | unchanged
    detail: str


@dataclass(frozen=True)
class ImportPlan:
    sources: tuple[Source, ...]
    champion: Source | None
    steps: tuple[Step, ...]
    force: bool = False  # replace a sitting champion without compare's evidence (audited as forced)

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action != "unchanged")


# -- reading the dict ----------------------------------------------------------------------
def parse_monthly_models(text: str, base: Path) -> list[LegacyModel]:
    """The exported dict, checked; relative ``model_path`` values resolve against ``base``."""
    if len(text) > MAX_EXPORT_CHARS:
        raise InvalidArgument(f"MONTHLY_MODELS is larger than {MAX_EXPORT_CHARS:,} characters: not a model dict")
    try:
        raw = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"MONTHLY_MODELS is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidArgument("MONTHLY_MODELS is nested too deeply: not a model dict") from None
    if not isinstance(raw, dict) or not raw:
        raise InvalidArgument("MONTHLY_MODELS must be a non-empty JSON object: {model_id: {model_path: …, …}}")
    return [_entry(str(model_id), spec, base) for model_id, spec in raw.items()]


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: with a key twice, JSON parsers keep the last silently."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise InvalidArgument(f"MONTHLY_MODELS lists the key {key!r:.120} twice: keep one entry")
        found[key] = value
    return found


def _entry(model_id: str, spec: Any, base: Path) -> LegacyModel:
    try:
        check_model_id(model_id)
    except InvalidArgument as exc:
        raise InvalidArgument(f"MONTHLY_MODELS: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("model_path"), str) or not spec["model_path"]:
        raise InvalidArgument(f"MONTHLY_MODELS[{model_id!r}] needs a model_path (gs://…, file://… or a file path)")
    enabled = spec.get("enabled", False)
    if not isinstance(enabled, bool):
        raise InvalidArgument(f"MONTHLY_MODELS[{model_id!r}].enabled must be true or false, got {enabled!r}")
    facts = {k: _fact(model_id, k, spec[k]) for k in _FACT_FIELDS if spec.get(k) not in (None, "")}
    return LegacyModel(model_id, resolve_path(spec["model_path"], base), enabled, facts)


def _fact(model_id: str, name: str, value: Any) -> str:
    """One of the dict's facts as the object metadata string registration reads (checked there)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidArgument(f"MONTHLY_MODELS[{model_id!r}].{name} must be a string or a number, got {value!r:.80}")
    text = str(value)
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        raise InvalidArgument(f"MONTHLY_MODELS[{model_id!r}].{name} contains control characters: {text!r:.80}")
    return text


def resolve_path(path: str, base: Path) -> str:
    """gs:// and file:// stay; a plain path becomes a file:// URL (relative to ``base``)."""
    if path.startswith(("gs://", "file://")):
        return path
    return f"file://{(base / path).resolve()}"


# -- planning ------------------------------------------------------------------------------
def plan_import(
    service: RegistrationService, models: list[LegacyModel], champion_path: str | None, force: bool = False
) -> ImportPlan:
    """Read and validate every file and work out the changes; nothing is written.

    The champion is set at cutover: replacing a sitting champion (one promoted since, say)
    is refused here, before anything is written, unless ``force`` (an audited override)."""
    sources = _read_all(service, models)
    champion = None
    if champion_path is not None:
        champion = _read(service, LegacyModel(None, champion_path, False, {}))
        champion = next((s for s in sources if s.sha256 == champion.sha256), champion)
    records = service.registry.list()
    steps: list[Step] = []
    for source in _with_champion(sources, champion):
        steps += _model_steps(source, source is champion, records)
    if champion is not None:
        steps += _champion_steps(champion, records, force)
    return ImportPlan(sources, champion, tuple(steps), force)


def _read_all(service: RegistrationService, models: list[LegacyModel]) -> tuple[Source, ...]:
    """Each model's facts, one file at a time; one file under two ids is refused as soon as it is
    seen (registration keeps one of them, so the plan would lie)."""
    sources: list[Source] = []
    first: dict[str, str] = {}
    for model in models:
        source = _read(service, model)
        model_id = model.model_id or "champion"
        if (other := first.setdefault(source.sha256, model_id)) != model_id:
            raise Conflict(
                f"MONTHLY_MODELS lists the same file (sha256 {source.sha256[:12]}…) as {other} and {model_id}; "
                f"a file registers once: keep one entry"
            )
        sources.append(source)
    return tuple(sources)


def _with_champion(sources: tuple[Source, ...], champion: Source | None) -> tuple[Source, ...]:
    """The dict's models, then the champion's file when it is not one of them."""
    if champion is None or any(s is champion for s in sources):
        return sources
    return (*sources, champion)


def _load(service: RegistrationService, model: LegacyModel) -> tuple[bytes, StoredObject, bool]:
    """The model's bytes, its object, and whether it lives in the models bucket."""
    bucket = service.bucket
    prefix = bucket.url.rstrip("/") + "/"
    in_bucket = model.model_path.startswith(prefix)
    if in_bucket:
        data, info = bucket.read(model.model_path[len(prefix) :], max_bytes=service.max_bytes)
    else:
        bucket_url, name = split_uri(model.model_path)
        data, info = open_bucket(bucket_url).read(name, max_bytes=service.max_bytes)
    if info.size > service.max_bytes:  # read() gives no bytes then: say why, not "empty"
        raise InvalidModel(service._too_big(info.size))
    return data, info, in_bucket


def _read(service: RegistrationService, model: LegacyModel) -> Source:
    try:
        data, info, in_bucket = _load(service, model)
        facts = read_facts(data, model.model_path.rsplit("/", 1)[-1], _metadata(model))
    except AppError as exc:
        raise type(exc)(f"{model.model_id or 'champion'} ({model.model_path}): {exc}") from None
    if model.model_id and facts.declared_id not in (None, model.model_id):
        raise Conflict(
            f"{model.model_path}: its model card names it {facts.declared_id}, MONTHLY_MODELS {model.model_id}"
        )
    return Source(model, sha256_hex(data), facts, info if in_bucket else None)


def _metadata(model: LegacyModel) -> dict[str, str]:
    """What registration reads beside a card-less file: the legacy id, facts and feature set."""
    meta = dict(model.facts)
    if model.model_id:
        meta["model_id"] = model.model_id
        match = _ID_FEATURE_SET.match(model.model_id)
        if match and match["fs"] in FEATURE_SETS:
            meta["feature_set"] = match["fs"]
    return meta


def _model_steps(source: Source, is_champion: bool, records: list[ModelRecord]) -> list[Step]:
    wanted_id = source.model.model_id
    twin = next((r for r in records if r.sha256 == source.sha256 and not r.is_retired), None)
    retired = next((r for r in records if r.sha256 == source.sha256 and r.is_retired), None)
    if twin is None and retired is not None and not is_champion:
        return [Step(retired.model_id, "unchanged", "retired: the import never revives a retired model")]
    if twin is None:
        taken = next((r for r in records if r.model_id == wanted_id and r.sha256 != source.sha256), None)
        if taken is not None:
            raise Conflict(
                f"{wanted_id} is already registered with other bytes (sha256 {(taken.sha256 or '?')[:12]}…); "
                f"retire it, or remove it from MONTHLY_MODELS"
            )
        label = _expected_id(source)
        steps = [Step(label, "register", f"{source.facts.family} from {source.model.model_path}")]
        if source.model.enabled or is_champion:
            steps.append(Step(label, "enable", "enabled in MONTHLY_MODELS" if source.model.enabled else "the champion"))
        return steps
    if (source.model.enabled or is_champion) and not twin.enabled:
        return [Step(twin.model_id, "enable", "registered, disabled")]
    return [Step(twin.model_id, "unchanged", f"already registered as {twin.model_id}")]


def _expected_id(source: Source) -> str:
    facts = source.facts
    return source.model.model_id or facts.declared_id or facts.legacy_id or f"(new {facts.family} model)"


def _champion_steps(champion: Source, records: list[ModelRecord], force: bool) -> list[Step]:
    current = next((r for r in records if r.is_champion), None)
    twin = next((r for r in records if r.sha256 == champion.sha256 and not r.is_retired), None)
    label = twin.model_id if twin else _expected_id(champion)
    if twin is not None and twin.is_champion:
        return [Step(label, "unchanged", "already the champion")]
    if current is not None and not force:
        raise Conflict(
            f"the registry's champion is {current.model_id}; import-legacy would demote it for {label} without "
            f"evidence: leave out --champion to import the dict's models only, promote on compare's evidence "
            "(`modelctl promote`), or pass --force to import-legacy (recorded as a forced promotion)"
        )
    detail = f"champion from {champion.model.model_path}" + (f" (demotes {current.model_id})" if current else "")
    return [Step(label, "promote", detail)]


# -- applying ------------------------------------------------------------------------------
def apply_import(service: RegistrationService, plan: ImportPlan) -> list[Step]:
    """Make the plan's changes through the registration and registry services; return what changed."""
    done: list[Step] = []
    champion_id: str | None = None
    records = service.registry.list()
    revive = {r.sha256 for r in records if r.is_retired} - {r.sha256 for r in records if not r.is_retired}
    for source in _with_champion(plan.sources, plan.champion):
        if source.sha256 in revive and source is not plan.champion:
            continue  # never revived (the plan says so)
        record, registered = _register(service, source)
        if registered:
            done.append(Step(record.model_id, "register", f"{record.model_family} from {source.model.model_path}"))
        is_champion = source is plan.champion
        if (source.model.enabled or is_champion) and not record.enabled:
            service.registry.enable(record.model_id, reason=IMPORT_REASON)
            done.append(Step(record.model_id, "enable", IMPORT_REASON))
        if is_champion:
            champion_id = record.model_id
    if champion_id is not None and not service.registry.get(champion_id).is_champion:
        # the cutover names the legacy champion; over a sitting champion (one promoted since the plan,
        # too) the promotion rule applies: only on evidence, or with --force (an audited override)
        service.registry.promote(champion_id, reason=IMPORT_REASON, force=plan.force)
        done.append(Step(champion_id, "promote", IMPORT_REASON))
    return done


def _register(service: RegistrationService, source: Source) -> tuple[ModelRecord, bool]:
    """Register the source's bytes from the models bucket (copied there first if elsewhere)."""
    metadata = _metadata(source.model)
    info = source.in_bucket
    if info is None:
        existing = next((m for m in service.registry.list() if m.sha256 == source.sha256 and not m.is_retired), None)
        if existing is not None:
            return existing, False
    data, _, _ = _load(service, source.model)
    if sha256_hex(data) != source.sha256:
        raise Conflict(f"{source.model.model_path} changed after it was read: run import-legacy again")
    if info is None:
        name = source.model.model_path.rsplit("/", 1)[-1]
        metadata["imported_from"] = source.model.model_path
        info = service.upload(f"models/{source.facts.feature_set}/{source.facts.family}/{name}", data, metadata)
    else:
        info = replace(info, metadata={**info.metadata, **metadata})
    result = service.register_bytes(data, info, reason=IMPORT_REASON)
    return result.record, result.changed
