-- A data key per customer, wrapped by the master key ring (docs/security.md). Erasure
-- sets `wrapped` to NULL: every copy of the customer's personal data sealed with the key,
-- in rows, backups and Temporal histories, is unreadable from then on.
CREATE TABLE customer_keys (
    handle        uuid        PRIMARY KEY,
    customer_id   text        NOT NULL,
    master_key_id text        NOT NULL,
    wrapped       bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz
);
CREATE UNIQUE INDEX customer_keys_live ON customer_keys (customer_id)
    WHERE destroyed_at IS NULL;
