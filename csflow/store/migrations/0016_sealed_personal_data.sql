-- Personal data at rest sealed with the customer's data key (docs/security.md, "At rest
-- in PostgreSQL"). New writes leave the clear columns empty: the name, contact and
-- description go to `customer_sealed`, the customer's words in the timeline to
-- `request_events.sealed`, an improvement task's problem to `problem_sealed`, a kept
-- message to `payload_sealed`. Look-ups by phone or e-mail compare blind indexes.

ALTER TABLE requests
    ALTER COLUMN customer_name DROP NOT NULL,
    ALTER COLUMN customer_contact DROP NOT NULL,
    ALTER COLUMN description DROP NOT NULL,
    ADD COLUMN customer_sealed bytea,
    ADD COLUMN phone_index bytea,
    ADD COLUMN email_index bytea;

CREATE INDEX requests_phone_index ON requests (phone_index) WHERE phone_index IS NOT NULL;
CREATE INDEX requests_email_index ON requests (email_index) WHERE email_index IS NOT NULL;

ALTER TABLE request_events ADD COLUMN sealed bytea;

ALTER TABLE improvement_tasks
    ALTER COLUMN problem DROP NOT NULL,
    ADD COLUMN problem_sealed bytea;

ALTER TABLE outbox ADD COLUMN payload_sealed bytea;
