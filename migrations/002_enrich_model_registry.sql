-- 002: the seed's migration 001_enrich_model_registry.sql story.
-- Adds the seven enrichment columns (IF NOT EXISTS: safe to run twice), the columns the
-- lifecycle needs (role, integrity, provenance), then backfills family / feature set / loss
-- for legacy rows from their ids (catboost_v9_train1102_0215 → v9_mae).
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS model_family STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS feature_set STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS loss_function STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS quantile_alpha FLOAT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS enabled BOOL;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS strengths_json STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS evaluation_n_edge_3plus INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS status STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS sha256 STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS size_bytes INT64;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS source_bucket STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS source_object STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS source_generation STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS registered_by STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS retired_reason STRING;
ALTER TABLE model_registry ADD COLUMN IF NOT EXISTS row_version INT64;

-- Backfill legacy rows. Quantile ids carry q{alpha*100}: catboost_v9_q43_train… → v9_q43.
UPDATE model_registry
SET
  feature_set = COALESCE(feature_set,
    IF(REGEXP_CONTAINS(model_id, r'^catboost_v12_noveg_'), 'v12_noveg',
      IF(REGEXP_CONTAINS(model_id, r'^catboost_v12_'), 'v12', 'v9'))),
  loss_function = COALESCE(loss_function,
    IF(REGEXP_CONTAINS(model_id, r'_q[0-9]{2}_'), 'Quantile', 'MAE')),
  quantile_alpha = COALESCE(quantile_alpha,
    IF(REGEXP_CONTAINS(model_id, r'_q[0-9]{2}_'),
       SAFE_CAST(REGEXP_EXTRACT(model_id, r'_q([0-9]{2})_') AS INT64) / 100.0, NULL))
WHERE model_family IS NULL;

UPDATE model_registry
SET model_family = CONCAT(feature_set, '_',
  IF(loss_function = 'Quantile', CONCAT('q', REGEXP_EXTRACT(model_id, r'_q([0-9]{2})_')), 'mae'))
WHERE model_family IS NULL;

UPDATE model_registry SET enabled = FALSE WHERE enabled IS NULL;
UPDATE model_registry SET status = 'shadow' WHERE status IS NULL;
UPDATE model_registry SET row_version = 1 WHERE row_version IS NULL;
UPDATE model_registry SET registered_by = 'legacy' WHERE registered_by IS NULL;
