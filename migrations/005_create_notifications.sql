-- 005: outgoing notifications (Slack), keyed so a redelivered trigger never posts twice.
-- A delivery first claims the key, posts, then marks it sent; a failed post releases the claim.
CREATE TABLE IF NOT EXISTS notifications (
  notification_key STRING NOT NULL,
  kind STRING NOT NULL,
  status STRING NOT NULL,
  payload STRING,
  claimed_at TIMESTAMP NOT NULL,
  sent_at TIMESTAMP
);
