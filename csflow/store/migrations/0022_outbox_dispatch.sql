-- Messages written with the request's own write (workflow patch `messages-in-the-write`)
-- are sent by the worker's dispatcher (csflow/notify/dispatcher.py), not by an activity
-- per message: the row says when it is next due, how many times it was tried and, while a
-- dispatcher holds it, until when. Rows an activity sends (older requests, ladder pages,
-- improvement tasks) keep `dispatch = false` and are never taken by a dispatcher.
ALTER TABLE outbox ADD COLUMN dispatch boolean NOT NULL DEFAULT false;
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN tries integer NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_until timestamptz;
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE dispatch AND status IN ('pending', 'retrying', 'sending');
