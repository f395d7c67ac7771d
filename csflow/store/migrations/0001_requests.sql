-- Service requests, their audit timeline, and request-number allocation.

-- One counter per business day and channel: the daily serial of the request number.
CREATE TABLE request_counters (
    day         date    NOT NULL,
    channel     text    NOT NULL,
    last_serial integer NOT NULL,
    PRIMARY KEY (day, channel)
);

-- The caller's own id → our number, so a repeated create returns the same request.
CREATE TABLE request_keys (
    external_id text PRIMARY KEY,
    number      text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE requests (
    number                 text PRIMARY KEY,
    external_id            text UNIQUE,
    customer_id            text NOT NULL,
    customer_name          text NOT NULL,
    customer_contact       jsonb NOT NULL,
    customer_tier          text NOT NULL,
    channel                text NOT NULL,
    category               text NOT NULL,
    sub_type               text,
    description            text NOT NULL,
    expected_resolution_at timestamptz,
    order_number           text,
    amount_in_dispute      numeric(14, 2),
    department             text,
    received_at            timestamptz NOT NULL,
    status                 text NOT NULL,
    priority               text NOT NULL,
    assignee               text,
    sla_state              text NOT NULL,
    next_deadline          timestamptz,
    clocks                 jsonb NOT NULL DEFAULT '[]',
    plan                   jsonb,
    eta                    timestamptz,
    rehandle_count         integer NOT NULL DEFAULT 0,
    closed_at              timestamptz,
    version                integer NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX requests_status_priority ON requests (status, priority);
CREATE INDEX requests_received_at ON requests (received_at);
CREATE INDEX requests_assignee_open ON requests (assignee) WHERE closed_at IS NULL;
CREATE INDEX requests_customer_category ON requests (customer_id, category, received_at);

-- Every transition, with who, when and why. (number, seq) is the idempotency key: the
-- workflow numbers events deterministically, so a retried write inserts nothing twice.
CREATE TABLE request_events (
    number      text        NOT NULL REFERENCES requests (number),
    seq         integer     NOT NULL,
    at          timestamptz NOT NULL,
    kind        text        NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text        NOT NULL,
    status_from text,
    status_to   text,
    reason      text,
    data        jsonb       NOT NULL DEFAULT '{}',
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (number, seq)
);

CREATE INDEX request_events_kind_at ON request_events (kind, at);
