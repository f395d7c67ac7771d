-- Staff directory and request assignments (issue 4).

CREATE TABLE staff (
    id               text PRIMARY KEY,
    name             text        NOT NULL,
    role             text        NOT NULL,
    department       text        NOT NULL,
    skills           text[]      NOT NULL DEFAULT '{}',
    seniority        integer     NOT NULL DEFAULT 1 CHECK (seniority BETWEEN 1 AND 3),
    capacity         integer     NOT NULL DEFAULT 5 CHECK (capacity >= 0),
    on_duty          boolean     NOT NULL DEFAULT true,
    email            text,
    phone            text,
    last_assigned_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per request: who holds it, or that it waits in the queue. The primary key is
-- what makes "two people never hold the same request" a database fact.
CREATE TABLE assignments (
    number      text PRIMARY KEY,
    staff_id    text REFERENCES staff (id),
    state       text NOT NULL CHECK (state IN ('active', 'queued', 'released')),
    skills      text[]  NOT NULL DEFAULT '{}',
    senior      boolean NOT NULL DEFAULT false,
    priority    text    NOT NULL,
    queued_at   timestamptz,
    assigned_at timestamptz,
    released_at timestamptz,
    CHECK ((state = 'active') = (staff_id IS NOT NULL AND released_at IS NULL))
);

CREATE INDEX assignments_load ON assignments (staff_id) WHERE state = 'active';
CREATE INDEX assignments_queue ON assignments (priority, queued_at) WHERE state = 'queued';

-- What intake triage found, and compensation awaiting a decision.
ALTER TABLE requests
    ADD COLUMN flags        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN repeat_of    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN compensation jsonb;
