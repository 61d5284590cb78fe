-- 009: promotions on evidence. RegistryService.promote owns the rule "promote only with evidence
-- (compare says promote), or with force and a reason"; each promotion's audit event in
-- model_registry_events gets one row here, written in the same atomic unit: whether it was forced
-- and the comparison it relied on. A side table keyed by event_id rather than new columns on the
-- events table, because BigQuery's emulator has no ALTER TABLE ... ADD COLUMN.
CREATE TABLE IF NOT EXISTS model_registry_promotions (
  event_id STRING NOT NULL,
  model_id STRING NOT NULL,
  previous_champion STRING,
  forced BOOL NOT NULL,
  verdict STRING,
  finding STRING,
  rule STRING,
  evidence_json STRING,
  promoted_at TIMESTAMP NOT NULL
);
