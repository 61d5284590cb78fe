"""Every registry query, written once in BigQuery SQL with named parameters.

Column lists for inserts are generated from the domain dataclasses so the SQL and
the objects cannot drift; values always travel as parameters.
"""

from __future__ import annotations

from dataclasses import fields

from common.registry.model import ModelRecord, Promotion, RegistryEvent, Rejection

MIGRATIONS_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT64 NOT NULL,
  name STRING NOT NULL,
  applied_at TIMESTAMP NOT NULL
)"""

APPLIED_VERSIONS = "SELECT version FROM schema_migrations"
RECORD_MIGRATION = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @applied_at)"


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def insert_sql(table: str, cls: type) -> str:
    cols = _columns(cls)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('@' + c for c in cols)})"


MODEL_COLUMNS = ", ".join(_columns(ModelRecord))
INSERT_MODEL = insert_sql("model_registry", ModelRecord)
INSERT_EVENT = insert_sql("model_registry_events", RegistryEvent)
INSERT_REJECTION = insert_sql("model_registry_rejections", Rejection)
INSERT_PROMOTION = insert_sql("model_registry_promotions", Promotion)

GET_MODEL = f"SELECT {MODEL_COLUMNS} FROM model_registry WHERE model_id = @model_id"
LIST_MODELS = f"""
SELECT {MODEL_COLUMNS} FROM model_registry
WHERE (@family IS NULL OR model_family = @family)
  AND (@enabled IS NULL OR COALESCE(enabled, FALSE) = @enabled)
ORDER BY model_family, train_end DESC, model_id"""
FIND_BY_SHA = f"SELECT {MODEL_COLUMNS} FROM model_registry WHERE sha256 = @sha256 ORDER BY created_at"
FIND_BY_SOURCE = f"""
SELECT {MODEL_COLUMNS} FROM model_registry
WHERE source_bucket = @bucket AND source_object = @object AND source_generation = @generation"""

# Guards: abort the surrounding atomic unit with a readable reason.
GUARD_VERSION = """
SELECT IF((SELECT COUNT(*) FROM model_registry WHERE model_id = @model_id AND row_version = @row_version) = 1,
          0, ERROR(CONCAT('conflict: model ', @model_id, ' changed while this change was prepared; retry')))"""
GUARD_ABSENT = """
SELECT IF(EXISTS(SELECT 1 FROM model_registry WHERE model_id = @model_id),
          ERROR(CONCAT('conflict: model id ', @model_id, ' is already registered')), 0)"""
GUARD_SHA_FREE = """
SELECT IF(EXISTS(SELECT 1 FROM model_registry WHERE sha256 = @sha256 AND status != 'retired'),
          ERROR(CONCAT('conflict: these bytes (sha256 ', @sha256, ') are already registered')), 0)"""
GUARD_NO_OTHER_CHAMPION = """
SELECT IF((SELECT COUNT(*) FROM model_registry WHERE status = 'champion' AND model_id != @model_id) = 0,
          0, ERROR('conflict: another champion appeared while promoting; retry'))"""

UPDATE_STATE = """
UPDATE model_registry
SET enabled = @enabled, status = @status, retired_reason = @retired_reason,
    row_version = row_version + 1, updated_at = @updated_at
WHERE model_id = @model_id AND row_version = @row_version"""

REREGISTER = """
UPDATE model_registry
SET enabled = FALSE, status = 'shadow', retired_reason = NULL, model_path = @model_path,
    source_bucket = @source_bucket, source_object = @source_object, source_generation = @source_generation,
    registered_by = @registered_by, row_version = row_version + 1, updated_at = @updated_at
WHERE model_id = @model_id AND row_version = @row_version"""

EVENT_COLUMNS = ", ".join(_columns(RegistryEvent))
# The registry's version (``RegistryVersion``): the audit trail only grows, one event per change.
REGISTRY_VERSION = "SELECT COUNT(*) AS events, MAX(event_id) AS last_event_id FROM model_registry_events"
HAS_EVENT = "SELECT COUNT(*) AS n FROM model_registry_events WHERE event_id = @event_id"
LIST_EVENTS = f"""
SELECT {EVENT_COLUMNS} FROM model_registry_events
WHERE (@model_id IS NULL OR model_id = @model_id)
  AND (@until IS NULL OR occurred_at < @until)
ORDER BY occurred_at, event_id"""

# The champion at a moment: each model's latest event before then, whose after-state
# says champion. Promotion demotes in the same transaction, so at most one qualifies.
CHAMPION_AT = f"""
SELECT {EVENT_COLUMNS} FROM model_registry_events
WHERE occurred_at < @until AND after_json IS NOT NULL
QUALIFY ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY occurred_at DESC, event_id DESC) = 1
  AND JSON_VALUE(after_json, '$.status') = 'champion'"""

REJECTION_COLUMNS = ", ".join(_columns(Rejection))

# The registry-wide activity feed, newest first, one page: every audit event (with its model's
# family; an objective's event is ``family_<family>``) and every rejection (no family: it never entered).
ACTIVITY = """
SELECT kind, item_id, subject, action, actor, reason, occurred_at, family FROM (
  SELECT 'event' AS kind, e.event_id AS item_id, e.model_id AS subject, e.action AS action, e.actor AS actor,
    e.reason AS reason, e.occurred_at AS occurred_at,
    COALESCE(m.model_family, IF(STARTS_WITH(e.model_id, 'family_'), SUBSTR(e.model_id, 8), NULL)) AS family
  FROM model_registry_events e LEFT JOIN model_registry m ON m.model_id = e.model_id
  UNION ALL
  SELECT 'rejection', r.rejection_id, r.source_uri, r.error_type, r.actor, r.reason, r.rejected_at,
    CAST(NULL AS STRING)
  FROM model_registry_rejections r
) AS a
WHERE @family IS NULL OR family = @family
ORDER BY occurred_at DESC, item_id DESC
LIMIT @limit OFFSET @offset"""
LIST_REJECTIONS = f"""
SELECT {REJECTION_COLUMNS} FROM model_registry_rejections
ORDER BY rejected_at DESC, rejection_id LIMIT @limit"""
FIND_REJECTION = """
SELECT COUNT(*) AS n FROM model_registry_rejections
WHERE source_uri = @source_uri AND COALESCE(source_generation, '') = COALESCE(@source_generation, '')
  AND COALESCE(sha256, '') = COALESCE(@sha256, '')"""

PROMOTION_COLUMNS = ", ".join(_columns(Promotion))
LIST_PROMOTIONS = f"""
SELECT {PROMOTION_COLUMNS} FROM model_registry_promotions
WHERE (@model_id IS NULL OR model_id = @model_id)
ORDER BY promoted_at, event_id"""

# Each family's objective in force: its latest row (migration 020).
FAMILY_OBJECTIVES = """
SELECT family, objective, reason, set_by, set_at FROM family_objectives
QUALIFY ROW_NUMBER() OVER (PARTITION BY family ORDER BY set_at DESC) = 1
ORDER BY family"""
INSERT_FAMILY_OBJECTIVE = """
INSERT INTO family_objectives (family, objective, reason, set_by, set_at)
VALUES (@family, @objective, @reason, @set_by, @set_at)"""
