-- Every decode through the codec server that opened sealed payloads: who saw what the
-- Temporal UI or CLI showed them (docs/security.md).
CREATE TABLE codec_reads (
    id          bigserial   PRIMARY KEY,
    token_id    text        NOT NULL,
    subject     text        NOT NULL,
    role        text        NOT NULL,
    namespace   text        NOT NULL,
    payloads    integer     NOT NULL,
    numbers     text[]      NOT NULL,
    read_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX codec_reads_subject ON codec_reads (subject, read_at);
