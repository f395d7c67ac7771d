-- What PostgreSQL refused to store for a request, set aside so the request never wedges
-- (docs/events.md, "When PostgreSQL refuses a write"). A request whose write keeps being
-- refused is written without the offending part: an event's data is replaced by a stub in
-- request_events, a row field the database cannot hold keeps its previous value, and the
-- refused part lands here, whole, with the database's reason.
CREATE TABLE persist_dead_letters (
    id          bigserial   PRIMARY KEY,
    number      text        NOT NULL,
    part        text        NOT NULL CHECK (part IN ('intake', 'row', 'event')),
    seq         integer,    -- the event's number for part 'event'
    version     integer     NOT NULL,  -- the write it belonged to (its last event's seq)
    error       text        NOT NULL,  -- the database's reason
    payload     text        NOT NULL,  -- the refused data as JSON text, every character escaped
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- A retried salvage write records each refused part once.
CREATE UNIQUE INDEX persist_dead_letters_once
    ON persist_dead_letters (number, part, version, COALESCE(seq, 0));
CREATE INDEX persist_dead_letters_recorded ON persist_dead_letters (recorded_at);
