-- Notifications retried while a channel is down (issue 14): a message that found every
-- channel down is `retrying` (a known non-delivery, safe to send again, unlike `sending`),
-- and the row keeps what is needed to send it again on purpose (`csflow notify retry`).
-- The payload holds contact details, so it is cleared once the message is sent.

ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sending', 'retrying', 'sent', 'failed', 'uncertain'));
ALTER TABLE outbox ADD COLUMN payload jsonb;
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
