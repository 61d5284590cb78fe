"""Loaded models and the immutable serving set a worker swaps atomically.

Model files are cached on local disk by sha256, so a model is downloaded once
per machine; a file whose bytes do not match the manifest's sha256 is refused.
Loading a new set reuses every already-loaded model with the same sha256. A model fused into
an ensemble keeps no CatBoost object of its own (``slim``): it is read again from the cache
(``DroppedModel``) only if it has to be scored alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from common.errors import AppError, InvalidModel
from common.feature_sets import get_feature_set
from common.manifest import ManifestModel
from common.storage import Bucket, check_sha256, confined, read_uri
from common.worker.fusion import ScoringPlan, carry_over, plan_key, plan_scoring
from common.worker.memory import on_model_thread, trim_heap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingModel:
    """One model ready to score: its identity and the CatBoost object."""

    model_id: str
    role: str
    model_family: str
    feature_set: str
    sha256: str
    model: Any = field(compare=False, repr=False)
    feature_names: tuple[str, ...] = ()
    signature: tuple[Any, ...] | None = field(default=(), compare=False, repr=False)  # (): not computed
    reload: Callable[[], Any] | None = field(default=None, compare=False, repr=False)  # its model, read again

    @property
    def is_champion(self) -> bool:
        return self.role == "champion"

    @property
    def input_order(self) -> tuple[str, ...]:
        """The feature order this model reads: the set's positions (V9) or its own names (V12)."""
        fs = get_feature_set(self.feature_set)
        return self.feature_names if fs.by_name else fs.features


@dataclass(frozen=True)
class ServingSet:
    """What a worker serves at one moment. Never mutated: reloads build a new one."""

    generation: int
    source: str  # manifest | registry | cached manifest | built-in
    models: tuple[ServingModel, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (model_id, reason)
    expected_champion: str | None = None  # the champion the serving list names
    prepared: ScoringPlan | None = field(default=None, compare=False, repr=False)  # built with the set

    @property
    def champion(self) -> ServingModel | None:
        return next((m for m in self.models if m.is_champion), None)

    @property
    def problem(self) -> str | None:
        """Why this set cannot produce user-facing picks; None when its champion is loaded."""
        if self.champion is not None:
            return None
        if self.expected_champion is None:
            if self.source == "none":
                return "no models loaded yet"
            return f"the {self.source} names no champion: promote one (`modelctl promote ID`)"
        reason = dict(self.skipped).get(self.expected_champion, "not loaded")
        return f"champion {self.expected_champion} could not be loaded: {reason}"

    def by_feature_set(self) -> dict[str, list[ServingModel]]:
        groups: dict[str, list[ServingModel]] = {}
        for model in self.models:
            groups.setdefault(model.feature_set, []).append(model)
        return groups

    @cached_property
    def input_groups(self) -> tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]:
        """(feature order, indices of the models reading it), largest group first.

        Computed once per set (a set is never mutated): scoring builds one shared input
        per group.
        """
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, model in enumerate(self.models):
            groups.setdefault(model.input_order, []).append(i)
        ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
        return tuple((order, tuple(members)) for order, members in ordered)

    @cached_property
    def plan(self) -> ScoringPlan:
        """Which models are scored fused, which alone (``common/worker/fusion.py``).

        Built with the set on reload (``build_serving_set``); a set derived by
        ``dataclasses.replace`` with other models gets its own plan on first use.
        """
        if self.prepared is not None and self.prepared.key == plan_key(self.models):
            return self.prepared
        return plan_scoring(self.models, self.prepared)

    def ack(self) -> dict[str, Any]:
        """What this worker serves, for the reload acknowledgement."""
        return {
            "generation": self.generation,
            "source": self.source,
            "champion": self.champion.model_id if self.champion else None,
            "models": {m.model_id: m.sha256 for m in self.models},
            "skipped": dict(self.skipped),
            "problem": self.problem,
        }


class ModelCache:
    """``<dir>/<sha256>.cbm``: download once, verify always.

    The sha256 and the model path come from the manifest, i.e. from outside: a sha256
    must be 64 lowercase hex digits, every cache path stays inside ``directory``, and a
    ``file://`` model path must lie inside the models bucket folder (``bucket_url``).
    """

    def __init__(
        self, directory: Path, bucket_url: str | None = None, buckets: Callable[[str], Bucket] | None = None
    ) -> None:
        self.directory = directory
        self.bucket_url = bucket_url
        self.buckets = buckets  # the runtime's buckets by URL: no storage client built per download

    def path(self, sha256: str, suffix: str = ".cbm") -> Path:
        return confined(self.directory, f"{check_sha256(sha256, 'model cache')}{suffix}")

    def _read(self, entry: ManifestModel) -> bytes:
        uri = entry.model_path
        if uri.startswith("file://"):
            bucket = self.bucket_url or ""
            root = bucket[len("file://") :]
            if not bucket.startswith("file://"):
                raise InvalidModel(
                    f"{entry.model_id}: {uri} is a local file, but the models bucket is {self.bucket_url}"
                )
            confined(Path(root), os.path.relpath(uri[len("file://") :], root))
        return read_uri(uri, buckets=self.buckets)

    def fetch(self, entry: ManifestModel) -> bytes:
        if not entry.sha256:
            # Only legacy built-in entries lack a hash (registered models always have one).
            log.warning(
                "%s has no sha256 to verify against; loading it unverified",
                entry.model_id,
                extra={"model_id": entry.model_id},
            )
            return self._read(entry)
        path = self.path(entry.sha256)
        if path.exists():
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == entry.sha256:
                return data
            path.unlink()  # a damaged cache entry: fetch again
        data = self._read(entry)
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.sha256:
            raise InvalidModel(
                f"{entry.model_id}: {entry.model_path} has sha256 {actual[:12]}…, manifest says {entry.sha256[:12]}…"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path(entry.sha256, f".tmp{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return data


class DroppedModel:
    """Stands for a fused member's CatBoost object, which was dropped to save memory: the first
    use reads the model again (``load``, from the local cache, sha256 verified) and keeps it.
    The read runs on the models thread (``common/worker/memory.py``), which also makes two first
    uses at once read it once."""

    __slots__ = ("_load", "_model")

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> Any:
        if self._model is None:
            on_model_thread(self._fill)
        return self._model

    def _fill(self) -> None:
        if self._model is None:
            self._model = self._load()

    def __getattr__(self, name: str) -> Any:  # only for what the proxy lacks: the model's own API
        return getattr(self.get(), name)


def slim(models: Sequence[ServingModel], plan: ScoringPlan) -> tuple[ServingModel, ...]:
    """``models`` with the fused members' own CatBoost objects dropped (each ensemble holds them);
    each keeps its fusion signature, so planning never reads a dropped model again. A member read
    again to build its ensemble is dropped again (it stayed loaded: +75 MB after a reload at 200)."""
    fused = {i: group.signature for group in plan.fused for i in group.members}
    return tuple(
        replace(m, model=DroppedModel(m.reload), signature=fused[i])
        if i in fused and m.reload is not None and _held(m.model)
        else m
        for i, m in enumerate(models)
    )


def _held(model: Any) -> bool:
    """Whether ``model`` holds a CatBoost object of its own (a read-again ``DroppedModel`` does)."""
    return not isinstance(model, DroppedModel) or model.loaded


def _own_model(cache: ModelCache, entry: ManifestModel) -> Any:
    return load_model(entry, cache.fetch(entry)).model


def _load_entry(cache: ModelCache, entry: ManifestModel) -> ServingModel | AppError | OSError:
    """``entry``'s model, able to read itself again once dropped; or why it cannot be served."""
    try:
        return replace(load_model(entry, cache.fetch(entry)), reload=partial(_own_model, cache, entry))
    except (AppError, OSError) as exc:
        return exc


def load_model(entry: ManifestModel, data: bytes) -> ServingModel:
    from catboost import CatBoostError, CatBoostRegressor

    model = CatBoostRegressor()
    try:
        model.load_model(blob=data)
    except CatBoostError as exc:
        raise InvalidModel(f"{entry.model_id}: not a readable CatBoost model ({str(exc).splitlines()[0]})") from None
    names = tuple(model.feature_names_ or ())
    expected = get_feature_set(entry.feature_set)
    if len(names) != len(expected):
        raise InvalidModel(
            f"{entry.model_id}: {len(names)} features, feature set {entry.feature_set} has {len(expected)}"
        )
    return ServingModel(
        entry.model_id, entry.role, entry.model_family, entry.feature_set, entry.sha256 or "", model, names
    )


def build_serving_set(
    entries: Sequence[ManifestModel],
    generation: int,
    source: str,
    cache: ModelCache,
    previous: ServingSet | None = None,
    fuse: bool = True,
) -> ServingSet:
    """Load every entry (reusing ``previous`` models by sha256); skip bad ones with a reason.

    ``fuse=False``: no ensemble is built; the set is scored with ``previous``'s ensembles where they
    still hold its models, every other model alone, until the caller fuses it (``Worker`` does it in
    the background). Fused members keep no CatBoost object of their own (``slim``). The models are
    read on the models thread (``common/worker/memory.py``), which then trims glibc's heap."""
    return on_model_thread(_build_set, entries, generation, source, cache, previous, fuse)


def _build_set(
    entries: Sequence[ManifestModel],
    generation: int,
    source: str,
    cache: ModelCache,
    previous: ServingSet | None,
    fuse: bool,
) -> ServingSet:
    reuse = {m.sha256: m for m in previous.models} if previous else {}
    models: list[ServingModel] = []
    skipped: list[tuple[str, str]] = []
    for entry in entries:
        old = reuse.get(entry.sha256 or "")
        if old is not None:
            fields = (entry.model_id, entry.role, entry.model_family, entry.feature_set, old.sha256)
            models.append(ServingModel(*fields, old.model, old.feature_names, old.signature, old.reload))
            continue
        result = _load_entry(cache, entry)
        if isinstance(result, ServingModel):
            models.append(result)
        else:
            log.error("skipping model %s: %s", entry.model_id, result, extra={"model_id": entry.model_id})
            skipped.append((entry.model_id, str(result)))
    champion = next((e.model_id for e in entries if e.role == "champion"), None)
    before = previous.prepared if previous else None
    plan = plan_scoring(models, before) if fuse else carry_over(models, before)
    for i in plan.alone:  # a dropped member now scored alone (e.g. promoted): read before serving
        if isinstance(models[i].model, DroppedModel):
            models[i].model.get()
    trim_heap()  # the files' bytes, read and freed
    return ServingSet(generation, source, slim(models, plan), tuple(skipped), champion, plan)
