-- Every customer data key the codec server handed to a client without a database (a
-- starter sealing personal fields before they enter Temporal): who asked for whose key
-- (docs/security.md, "Personal fields in Temporal").
CREATE TABLE customer_key_grants (
    id          bigserial   PRIMARY KEY,
    customer_id text        NOT NULL,
    handle      uuid        NOT NULL,
    token_id    text        NOT NULL,
    subject     text        NOT NULL,
    role        text        NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_key_grants_customer ON customer_key_grants (customer_id, granted_at);
