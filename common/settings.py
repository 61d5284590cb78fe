"""Settings, read once from the environment.

Every knob has one environment variable; CLI options map onto the same names.
Nothing deeper in the code reads ``os.environ``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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


def _webhook(env: Mapping[str, str], name: str) -> str | None:
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
        """Build settings from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        base = cls()
        levels = _int_tuple(env, "REMINDER_LEVEL_DAYS", base.reminder_levels)
        return cls(
            registry_url=env.get("MODEL_REGISTRY_URL") or base.registry_url,
            bucket_url=env.get("MODEL_BUCKET_URL") or base.bucket_url,
            slack_webhook_url=_webhook(env, "SLACK_WEBHOOK_URL"),
            gcp_project=env.get("GOOGLE_CLOUD_PROJECT") or base.gcp_project,
            event_bus_url=env.get("EVENT_BUS_URL") or base.event_bus_url,
            max_event_age_seconds=_int(env, "MAX_EVENT_AGE_SECONDS", base.max_event_age_seconds, 1),
            max_model_bytes=_int(env, "MAX_MODEL_BYTES", base.max_model_bytes, 1),
            reminder_min_days=_int(env, "REMINDER_MIN_DAYS", base.reminder_min_days, 1),
            reminder_levels=levels,  # type: ignore[arg-type]
            reminder_silent_when_clear=_bool(env, "REMINDER_SILENT_WHEN_CLEAR", False),
            model_cache_dir=env.get("MODEL_CACHE_DIR") or base.model_cache_dir,
            manifest_poll_seconds=_float(env, "MANIFEST_POLL_SECONDS", base.manifest_poll_seconds),
            worker_retry_seconds=_float(env, "WORKER_RETRY_SECONDS", base.worker_retry_seconds),
            registry_check_seconds=_float(env, "REGISTRY_CHECK_SECONDS", base.registry_check_seconds),
            fused_scoring=_bool(env, "FUSED_SCORING", base.fused_scoring),
            bq_maximum_bytes_billed=_int(env, "BQ_MAXIMUM_BYTES_BILLED", base.bq_maximum_bytes_billed, 1),
            bq_migration_maximum_bytes_billed=_int(
                env, "BQ_MIGRATION_MAXIMUM_BYTES_BILLED", base.bq_migration_maximum_bytes_billed, 1
            ),
            bet_price=_bet_price(env, "BET_PRICE", base.bet_price),
            promotion_margin_mae=_float(env, "PROMOTION_MARGIN_MAE", base.promotion_margin_mae, zero=True),
            promotion_margin_roi=_float(env, "PROMOTION_MARGIN_ROI", base.promotion_margin_roi, zero=True),
            promotion_margin_clv=_float(env, "PROMOTION_MARGIN_CLV", base.promotion_margin_clv, zero=True),
            actor=limits.actor(env.get("MODELCTL_ACTOR") or env.get("USER") or _default_actor()),
            notify_lease_seconds=_int(env, "NOTIFY_LEASE_SECONDS", base.notify_lease_seconds, 1),
            slack_timeout_seconds=_int(env, "SLACK_TIMEOUT_SECONDS", base.slack_timeout_seconds, 1),
            slack_retries=_int(env, "SLACK_RETRIES", base.slack_retries, 0),
            slack_backoff_seconds=_float(env, "SLACK_BACKOFF_SECONDS", base.slack_backoff_seconds),
            picks_alert_top_n=_int(env, "PICKS_ALERT_TOP_N", base.picks_alert_top_n, 1),
            predict_lead_minutes=_int(env, "PREDICT_LEAD_MINUTES", base.predict_lead_minutes, 0),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (CLI options use this)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
