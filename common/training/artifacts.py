"""From a trained model to a registered one: model card, ``.cbm`` bytes, upload, registration.

Registration goes through :class:`RegistrationService.register_object`, the very
path the bucket's finalize event takes, so a model trained here and a model
dropped into the bucket by hand are validated and recorded the same way (and an
upload that also fires the finalize event in production registers only once).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from common.errors import InvalidArgument
from common.feature_sets import get_feature_set
from common.registry.model import ModelRecord
from common.registry.modelfile import ModelCard
from common.registry.naming import STAGING_PREFIX
from common.registry.registration import RegistrationService
from common.training.metrics import Metrics
from common.training.request import TrainRequest

log = logging.getLogger(__name__)

_PACKAGE = "nba-model-lifecycle"
_ROOT = Path(__file__).resolve().parent.parent  # common/
# The code that decides what a model learns: features, feature sets, training.
_CODE = ("features", "feature_sets.py", "training/request.py", "training/model.py", "training/trainer.py")
_FINGERPRINT_COLUMNS = ["game_id", "player_id", "actual_points", "line", "opening_line", "closing_line"]


def code_version() -> str:
    """``{package version}+src.{hash}``: the hash covers the modules that shape a model."""
    try:
        version = metadata.version(_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "0"
    digest = hashlib.sha256()
    for name in _CODE:
        path = _ROOT / name
        for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(source.read_bytes())
    return f"{version}+src.{digest.hexdigest()[:12]}"


def data_fingerprint(*frames: pd.DataFrame) -> str:
    """A short sha256 of the rows (ids, outcomes, lines) a model was trained and evaluated on."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame[_FINGERPRINT_COLUMNS], index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def build_card(request: TrainRequest, metrics: Metrics, strengths: dict[str, Any], fingerprint: str) -> ModelCard:
    """The model card (keys are what registration validates). The id is left to the registry."""
    return ModelCard(
        model_family=request.family,
        feature_set=request.feature_set,
        loss_function=request.loss_function,
        quantile_alpha=request.quantile_alpha,
        train_start=request.train_start.isoformat(),
        train_end=request.train_end.isoformat(),
        eval_start=request.eval_start.isoformat() if request.eval_start else None,
        eval_end=request.eval_end.isoformat() if request.eval_end else None,
        backtest_mae=round(metrics.mae, 3),
        backtest_hit_rate_all=_round(metrics.hit_rate, 1),
        backtest_hit_rate_edge_3plus=_round(metrics.hit_rate_edge_3plus, 1),
        backtest_n_edge_3plus=metrics.n_edge_3plus,
        description=(
            f"{request.name.strip()} — {request.family}, trained {request.train_start}..{request.train_end}, "
            f"evaluated {request.eval_start}..{request.eval_end} against the {request.grading_line_label}"
        )[:1000],
        strengths={**strengths, "iterations": request.iterations, "learning_rate": request.effective_learning_rate},
        data_fingerprint=fingerprint,
        code_version=code_version(),
    )


def file_name(request: TrainRequest, saved_at: datetime) -> str:
    """``catboost_v9_33f_q43_train20251102-20260215_20260216_123456.cbm`` (the legacy shape)."""
    n = len(get_feature_set(request.feature_set))
    loss = request.family[len(request.feature_set) + 1 :]
    return (
        f"catboost_{request.feature_set}_{n}f_{loss}_train{request.train_start:%Y%m%d}-{request.train_end:%Y%m%d}"
        f"_{saved_at:%Y%m%d_%H%M%S}.cbm"
    )


def object_name(request: TrainRequest, saved_at: datetime) -> str:
    """Where the model goes in the models bucket: ``models/{feature_set}/{family}/{file}``."""
    return f"models/{request.feature_set}/{request.family}/{file_name(request, saved_at)}"


@dataclass(frozen=True)
class Publication:
    """Where a trained model went."""

    local_path: Path | None
    object_uri: str | None
    outcome: str  # registered | already_registered | reregistered | uploaded | not_uploaded
    record: ModelRecord | None


def publish(
    request: TrainRequest, data: bytes, registration: RegistrationService, now: datetime | None = None
) -> Publication:
    """Save (``output_dir``), upload and register ``data`` as the request's flags allow."""
    now = now or datetime.now(UTC)
    local = _save_local(request, data, now)
    if request.skip_upload:
        log.info("--skip-auto-upload: %s not uploaded or registered", request.family)
        return Publication(local, None, "not_uploaded", None)
    twin = registration.live_twin(data)
    if twin is not None:  # the same bytes were trained before: nothing new to upload
        return Publication(local, twin.model_path, "already_registered", twin)
    # --skip-auto-register: staged where the finalize trigger and `watch` do not register by design
    name = f"{STAGING_PREFIX}{object_name(request, now)}" if request.skip_register else object_name(request, now)
    info = registration.upload(name, data, {"uploaded_by": "modelctl train", "model_family": request.family})
    log.info("uploaded %s", info.uri, extra={"object": info.uri, "family": request.family})
    if request.skip_register:
        return Publication(local, info.uri, "uploaded", None)
    result = registration.register_object(info.name, info.generation, info.size)
    return Publication(local, info.uri, result.outcome, result.record)


def _save_local(request: TrainRequest, data: bytes, now: datetime) -> Path | None:
    if request.output_dir is None:
        return None
    path = request.output_dir / file_name(request, now)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidArgument(f"cannot write the model to --output-dir {request.output_dir}: {exc.strerror}") from None
    return path
