-- 003: the audit trail. Every registry change appends one row: who, what, when, why,
-- and the model's state before and after (JSON text).
CREATE TABLE IF NOT EXISTS model_registry_events (
  event_id STRING NOT NULL,
  model_id STRING NOT NULL,
  action STRING NOT NULL,
  actor STRING,
  reason STRING,
  before_json STRING,
  after_json STRING,
  occurred_at TIMESTAMP NOT NULL
);
