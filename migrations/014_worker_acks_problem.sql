-- 014: worker_acks says what is wrong with what a worker serves (e.g. it holds on to an
-- older serving set because the new one has no loadable champion), for `modelctl workers`.
-- An acknowledgement is a worker's latest report, rewritten on every reload, so the table
-- is recreated rather than altered (the BigQuery emulator has no ADD COLUMN); each worker
-- writes its row again at its next reload.
DROP TABLE IF EXISTS worker_acks;

CREATE TABLE IF NOT EXISTS worker_acks (
  worker_id STRING NOT NULL,
  generation INT64,
  source STRING,
  models_json STRING,
  champion STRING,
  problem STRING,
  acked_at TIMESTAMP
);
