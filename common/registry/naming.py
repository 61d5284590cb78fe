"""Family names, model ids and the legacy file-name convention."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from common.errors import InvalidArgument, InvalidModel
from common.feature_sets import FEATURE_SETS, get_feature_set

LOSSES = ("MAE", "Quantile")
#: Objects under this prefix of the models bucket are staged, not auto-registered: the finalize
#: trigger (``register_model``) and ``modelctl watch`` ignore them by design. ``modelctl train
#: --skip-auto-register`` uploads there; ``modelctl register gs://…/staging/…`` registers one by hand.
STAGING_PREFIX = "staging/"
MODEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{2,127}$")
_FAMILY = re.compile(r"^(?P<fs>v\d+(?:_noveg)?)_(?P<loss>mae|q(?P<alpha>\d{2}))$")
# catboost_v9_33f_train20251102-20260215_20260216_123456.cbm
LEGACY_FILE = re.compile(
    r"^catboost_(?P<fs>v\d+(?:_noveg)?)_(?P<nf>\d+)f(?:_(?P<loss>mae|q\d{2}))?"
    r"_train(?P<start>\d{8})-(?P<end>\d{8})_(?P<saved>\d{8})_(?P<time>\d{6})\.cbm$"
)


@dataclass(frozen=True)
class Family:
    """``{feature_set}_{loss}``: mae, or q{alpha*100} for quantile models."""

    feature_set: str
    loss_function: str
    quantile_alpha: float | None

    @property
    def name(self) -> str:
        return family_name(self.feature_set, self.loss_function, self.quantile_alpha)


def check_alpha(alpha: float | None, loss_function: str) -> None:
    if loss_function == "Quantile":
        if alpha is None or not 0.0 < alpha < 1.0:
            raise InvalidModel(f"quantile_alpha must be strictly between 0 and 1 for a quantile model, got {alpha}")
        if abs(alpha * 100 - round(alpha * 100)) > 1e-9:
            raise InvalidModel(f"quantile_alpha {alpha} has more than two decimals; families are named q{{alpha*100}}")
    elif alpha is not None:
        raise InvalidModel(f"quantile_alpha {alpha} given for a {loss_function} model; alpha goes with quantile loss")


def family_name(feature_set: str, loss_function: str, alpha: float | None) -> str:
    """``v9`` + ``Quantile`` + 0.43 → ``v9_q43``."""
    get_feature_set(feature_set)
    if loss_function not in LOSSES:
        raise InvalidModel(f"unknown loss {loss_function!r}; known losses: {', '.join(LOSSES)}")
    check_alpha(alpha, loss_function)
    suffix = "mae" if loss_function == "MAE" else f"q{round(alpha * 100):02d}"  # type: ignore[operator]
    return f"{feature_set}_{suffix}"


def parse_family(name: str) -> Family:
    """``v12_noveg_q45`` → Family('v12_noveg', 'Quantile', 0.45); unknown → InvalidArgument."""
    match = _FAMILY.match(name or "")
    if not match or match["fs"] not in FEATURE_SETS:
        sets = ", ".join(sorted(FEATURE_SETS))
        raise InvalidArgument(
            f"unknown family {name!r}: families are {{feature_set}}_{{mae|qNN}} with feature sets {sets}"
        )
    if match["alpha"]:
        return Family(match["fs"], "Quantile", int(match["alpha"]) / 100)
    return Family(match["fs"], "MAE", None)


def model_id(family: str, train_start: date, train_end: date) -> str:
    """``catboost_{family}_train{MMDD}_{MMDD}``."""
    return f"catboost_{family}_train{train_start:%m%d}_{train_end:%m%d}"


def legacy_model_id(feature_set: str, train_start: date, train_end: date) -> str:
    """The old ids, ``catboost_v9_train1102_0215``, kept for legacy V9 MAE files."""
    return f"catboost_{feature_set}_train{train_start:%m%d}_{train_end:%m%d}"


def with_suffix(base: str, sha256: str) -> str:
    """A deterministic id for a second model sharing family and dates."""
    return f"{base}_{sha256[:8]}"


def check_model_id(value: str) -> str:
    """Ids are lower-case letters, digits and underscores: safe in paths, SQL and URLs."""
    if not isinstance(value, str) or not MODEL_ID_PATTERN.match(value):
        raise InvalidArgument(
            f"invalid model id {value!r}: use 3-128 characters of a-z, 0-9 and _, starting with a letter or digit"
        )
    return value


@dataclass(frozen=True)
class LegacyFileName:
    feature_set: str
    n_features: int
    loss_hint: str | None
    train_start: date
    train_end: date
    saved_at: datetime


def parse_legacy_file_name(name: str) -> LegacyFileName | None:
    """Parse ``catboost_v9_33f_train20251102-20260215_20260216_123456.cbm`` (or None)."""
    match = LEGACY_FILE.match(name.rsplit("/", 1)[-1])
    if not match:
        return None
    try:
        return LegacyFileName(
            feature_set=match["fs"],
            n_features=int(match["nf"]),
            loss_hint=match["loss"],
            train_start=datetime.strptime(match["start"], "%Y%m%d").date(),
            train_end=datetime.strptime(match["end"], "%Y%m%d").date(),
            saved_at=datetime.strptime(match["saved"] + match["time"], "%Y%m%d%H%M%S"),
        )
    except ValueError as exc:
        raise InvalidModel(
            f"file name {name!r} follows the legacy convention but its dates do not parse: {exc}"
        ) from None
