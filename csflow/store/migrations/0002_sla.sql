-- SLA engine: the policy a request started under, and the flags the board shows.

ALTER TABLE requests
    ADD COLUMN policy_version    text    NOT NULL DEFAULT '',
    ADD COLUMN sla_cycle         integer NOT NULL DEFAULT 1,
    ADD COLUMN awaiting_customer boolean NOT NULL DEFAULT false,
    ADD COLUMN delayed           boolean NOT NULL DEFAULT false,
    ADD COLUMN escalated_to      text;

-- "Which open requests are red?" without scanning closed ones.
CREATE INDEX requests_open_sla ON requests (sla_state, priority) WHERE closed_at IS NULL;
