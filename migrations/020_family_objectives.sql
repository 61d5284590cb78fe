-- 020: the objective each model family is judged on (issue 21): `mae`, `clv` or `roi`.
-- Append-only: a change adds a row (who, when, why) and the latest row per family is in force;
-- a family without a row has the default (common/grading/objective.py, DEFAULT_OBJECTIVE). The
-- change's audit event goes to model_registry_events in the same atomic unit. Safe to re-run.
CREATE TABLE IF NOT EXISTS family_objectives (
  family STRING NOT NULL,
  objective STRING NOT NULL,
  reason STRING,
  set_by STRING,
  set_at TIMESTAMP NOT NULL
);
