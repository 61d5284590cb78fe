-- 013: once-per-key deliveries become leases (issue 11.2).
-- A claim now names its owner and expires: a delivery whose process died mid-post is taken
-- over once its lease runs out, instead of staying `claimed` (and swallowed) forever.
-- A new table rather than ALTER TABLE ADD COLUMN (the BigQuery emulator has none); every
-- statement is safe to re-run. Old rows keep their status; an old claim's lease ends at its
-- claim time, so it is expired at once and the next delivery takes it over.
CREATE TABLE IF NOT EXISTS notification_deliveries (
  notification_key STRING NOT NULL,
  kind STRING NOT NULL,
  status STRING NOT NULL,
  payload STRING,
  claimed_by STRING,
  claimed_at TIMESTAMP NOT NULL,
  lease_expires_at TIMESTAMP NOT NULL,
  attempts INT64 NOT NULL,
  sent_at TIMESTAMP
);

-- 005's table, back (empty) if this migration runs again after its DROP (its record lost): the copy
-- below then finds nothing to add instead of failing on a missing table (issue 19.2).
CREATE TABLE IF NOT EXISTS notifications (
  notification_key STRING NOT NULL,
  kind STRING NOT NULL,
  status STRING NOT NULL,
  payload STRING,
  claimed_at TIMESTAMP NOT NULL,
  sent_at TIMESTAMP
);

INSERT INTO notification_deliveries
  (notification_key, kind, status, payload, claimed_by, claimed_at, lease_expires_at, attempts, sent_at)
SELECT n.notification_key, n.kind, n.status, n.payload, CAST(NULL AS STRING), n.claimed_at, n.claimed_at, 1, n.sent_at
FROM notifications AS n
WHERE NOT EXISTS (SELECT 1 FROM notification_deliveries AS d WHERE d.notification_key = n.notification_key);

DROP TABLE IF EXISTS notifications;
