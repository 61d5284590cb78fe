"""Settings, read once from the environment.

Every knob has one environment variable; CLI options map onto the same names.
Nothing deeper in the code reads ``os.environ``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.betting import DEFAULT_BET_PRICE, win_payout
from common.errors import ConfigError
from common.registry import limits

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = REPO_ROOT / ".local"
# The as-of rule's default lead (common/features/market.py): minutes before a slate's first tip-off.
DEFAULT_LEAD_MINUTES = 180


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _number(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float, zero: bool = False) -> float:
    """A positive number (``zero``: zero or more)."""
    value = _number(env, name)
    if value is None:
        return default
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{name} must be {'zero or more' if zero else 'positive'}, got {value}")
    return value


def _bet_price(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name)
    if value is None:
        return default
    try:
        win_payout(value)
    except ValueError:
        raise ConfigError(f"{name} must be American odds (<= -100 or >= 100, e.g. -110), got {value:g}") from None
    return value


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name) or default


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int_tuple(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        values = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated whole numbers, got {raw!r}") from None
    if len(values) != len(default) or list(values) != sorted(values):
        raise ConfigError(f"{name} must be {len(default)} increasing numbers, got {raw!r}")
    return values


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _webhook(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """An incoming-webhook URL: https (http only on the loopback, for local stand-ins).

    It is a secret: the error names the variable, never its value."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        if parts.port == 0 or "@" in parts.netloc:  # never reachable: urllib sends no userinfo, resolves it
            host = None
    except ValueError:  # a port out of range or not a number
        host, parts = None, None
    secure = parts is not None and (parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK))
    if not host or not secure or any(c.isspace() or not c.isprintable() for c in raw):
        raise ConfigError(
            f"{name} is not a valid webhook URL: expected https://hooks.slack.com/services/…"
            " (the value is a secret and is not shown)"
        )
    return raw


@dataclass(frozen=True)
class Settings:
    """Typed, immutable configuration of one process."""

    registry_url: str = f"duckdb://{LOCAL_DIR / 'registry.duckdb'}"  # duckdb:///abs/path
    bucket_url: str = f"file://{LOCAL_DIR / 'bucket'}"  # file:///abs/path
    slack_webhook_url: str | None = field(default=None, repr=False)  # a secret: never printed
    gcp_project: str = "local-project"
    event_bus_url: str = "inprocess://"
    max_event_age_seconds: int = 3 * 24 * 3600
    max_model_bytes: int = 64 * 1024 * 1024
    reminder_min_days: int = 10
    reminder_levels: tuple[int, int, int] = (10, 14, 21)
    reminder_silent_when_clear: bool = False
    model_cache_dir: str = str(LOCAL_DIR / "cache" / "models")
    # DuckDB SQL transpiled from the BigQuery source, kept for the next `modelctl` process
    # (common/sql_cache.py); "none" keeps it in memory only
    sql_cache_dir: str = str(LOCAL_DIR / "cache" / "sql")
    manifest_poll_seconds: float = 0.25
    worker_retry_seconds: float = 30.0  # a worker retries a model it could not load (or a refused set)
    registry_check_seconds: float = 60.0  # a worker compares the manifest's registry version with the registry's
    # workers score models that share a feature order in one pass; it holds their trees twice
    fused_scoring: bool = True
    # BigQuery guards (bench/README.md sizes them): a production query reads at most a season's
    # partitions (a full-season regrade, ~0.35 GB at 30 models); reading every season of one big
    # table (~2 GB after 5 seasons) means a missing game_date filter, and fails instead of billing.
    bq_maximum_bytes_billed: int = 1024**3
    # Migrations copy whole tables (010 re-partitions five seasons, ~4 GB): their own cap.
    bq_migration_maximum_bytes_billed: int = 100 * 1024**3
    bet_price: float = DEFAULT_BET_PRICE  # American odds of a bet (units won, ROI)
    promotion_margin_mae: float = 0.05  # points of MAE a challenger must beat the champion by
    promotion_margin_roi: float = 0.01  # or units per bet of ROI
    promotion_margin_clv: float = 0.0025  # or no-vig probability CLV per bet (0.25 percentage points)
    actor: str = field(default_factory=lambda: _default_actor())
    notify_lease_seconds: int = 300  # a notification claim's lease: must outlast the longest Slack post
    slack_timeout_seconds: int = 10
    slack_retries: int = 3
    slack_backoff_seconds: float = 0.5
    picks_alert_top_n: int = 10  # the champion's picks alert: at most this many, by |edge|
    # A slate is predicted (and replayed, and trained on) as of this long before its first tip-off.
    predict_lead_minutes: int = DEFAULT_LEAD_MINUTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: the process environment), one ``ENVIRONMENT`` row a field."""
        env = os.environ if env is None else env
        base = cls()
        return cls(**{v.field: v.read(env, v.name, getattr(base, v.field)) for v in ENVIRONMENT})

    def to_env(self, function: str) -> dict[str, str]:
        """The environment variables (not the secrets) a deployed ``function`` is given, as text
        ``from_env`` reads back to these values: the ``ENVIRONMENT`` rows that name it."""
        return {v.name: _env_text(getattr(self, v.field)) for v in ENVIRONMENT if v.sets(function) and not v.secret}

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (CLI options use this)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _actor(env: Mapping[str, str], name: str, default: str) -> str:
    return limits.actor(env.get(name) or env.get("USER") or default, name)


def _env_text(value: Any) -> str:
    """A setting as the text its reader parses back: ``1`` not ``1.0``, ``a,b`` for a tuple."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


#: the Slack incoming webhook: a secret (Secret Manager in production), named here once
SLACK_WEBHOOK_URL = "SLACK_WEBHOOK_URL"
#: ``EnvVar.functions`` naming every deployed function
EVERY_FUNCTION = ("*",)


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: the ``Settings`` field it sets (whose default is the variable's
    default, and whose annotation its type), how its text is read and checked, which deployed
    functions the deploy gives it (``infra/deploy``), and whether it is a secret (mounted from Secret
    Manager, never printed)."""

    name: str
    field: str
    read: Callable[[Mapping[str, str], str, Any], Any]
    functions: tuple[str, ...] = ()  # deployed functions the deploy sets it on; () none: the default holds
    secret: bool = False

    @property
    def default(self) -> Any:
        return getattr(Settings(), self.field)

    @property
    def type(self) -> str:
        return str(Settings.__dataclass_fields__[self.field].type)

    def sets(self, function: str) -> bool:
        """Whether the deploy gives this variable to ``function`` (a folder name under functions/)."""
        return self.functions == EVERY_FUNCTION or function in self.functions


#: Every variable the code reads, once. ``Settings.from_env`` reads these rows; the deploy sets the
#: variables and mounts the secrets the rows name for each function (``infra/deploy/functions.py``).
ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("MODEL_REGISTRY_URL", "registry_url", _text, EVERY_FUNCTION),
    EnvVar("MODEL_BUCKET_URL", "bucket_url", _text, EVERY_FUNCTION),
    EnvVar(SLACK_WEBHOOK_URL, "slack_webhook_url", _webhook, secret=True,
           # registry notifications, the reminder, promotion advice, the champion's picks alert
           functions=("on_registry_change", "retrain_reminder", "update_performance", "predict")),
    EnvVar("GOOGLE_CLOUD_PROJECT", "gcp_project", _text, EVERY_FUNCTION),
    EnvVar("EVENT_BUS_URL", "event_bus_url", _text, EVERY_FUNCTION),
    EnvVar("MAX_EVENT_AGE_SECONDS", "max_event_age_seconds", partial(_int, minimum=1), EVERY_FUNCTION),
    EnvVar("MAX_MODEL_BYTES", "max_model_bytes", partial(_int, minimum=1)),
    EnvVar("REMINDER_MIN_DAYS", "reminder_min_days", partial(_int, minimum=1)),
    EnvVar("REMINDER_LEVEL_DAYS", "reminder_levels", _int_tuple),
    EnvVar("REMINDER_SILENT_WHEN_CLEAR", "reminder_silent_when_clear", _bool),
    EnvVar("MODEL_CACHE_DIR", "model_cache_dir", _text, EVERY_FUNCTION),
    EnvVar("SQL_CACHE_DIR", "sql_cache_dir", _text),  # modelctl only: functions keep it in memory
    EnvVar("MANIFEST_POLL_SECONDS", "manifest_poll_seconds", _float, EVERY_FUNCTION),
    EnvVar("WORKER_RETRY_SECONDS", "worker_retry_seconds", _float),
    EnvVar("REGISTRY_CHECK_SECONDS", "registry_check_seconds", _float),
    EnvVar("FUSED_SCORING", "fused_scoring", _bool),
    EnvVar("BQ_MAXIMUM_BYTES_BILLED", "bq_maximum_bytes_billed", partial(_int, minimum=1)),
    EnvVar("BQ_MIGRATION_MAXIMUM_BYTES_BILLED", "bq_migration_maximum_bytes_billed", partial(_int, minimum=1)),
    EnvVar("BET_PRICE", "bet_price", _bet_price),
    EnvVar("PROMOTION_MARGIN_MAE", "promotion_margin_mae", partial(_float, zero=True)),
    EnvVar("PROMOTION_MARGIN_ROI", "promotion_margin_roi", partial(_float, zero=True)),
    EnvVar("PROMOTION_MARGIN_CLV", "promotion_margin_clv", partial(_float, zero=True)),
    EnvVar("MODELCTL_ACTOR", "actor", _actor, EVERY_FUNCTION),  # else USER, else the login name
    EnvVar("NOTIFY_LEASE_SECONDS", "notify_lease_seconds", partial(_int, minimum=1)),
    EnvVar("SLACK_TIMEOUT_SECONDS", "slack_timeout_seconds", partial(_int, minimum=1)),
    EnvVar("SLACK_RETRIES", "slack_retries", partial(_int, minimum=0)),
    EnvVar("SLACK_BACKOFF_SECONDS", "slack_backoff_seconds", _float),
    EnvVar("PICKS_ALERT_TOP_N", "picks_alert_top_n", partial(_int, minimum=1)),
    EnvVar("PREDICT_LEAD_MINUTES", "predict_lead_minutes", partial(_int, minimum=0)),
)  # fmt: skip
#: the rows by variable name
ENV: dict[str, EnvVar] = {v.name: v for v in ENVIRONMENT}
