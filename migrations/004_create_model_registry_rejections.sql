-- 004: models that could not enter the registry, with the reason (modelctl rejections).
CREATE TABLE IF NOT EXISTS model_registry_rejections (
  rejection_id STRING NOT NULL,
  source_uri STRING,
  source_bucket STRING,
  source_object STRING,
  source_generation STRING,
  sha256 STRING,
  size_bytes INT64,
  reason STRING,
  error_type STRING,
  actor STRING,
  rejected_at TIMESTAMP NOT NULL
);
