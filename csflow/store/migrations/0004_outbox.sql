-- Every message csflow sends, and what became of it (issue 5).

CREATE TABLE outbox (
    key            text PRIMARY KEY,  -- request/seq/recipient/template: one message
    number         text        NOT NULL,
    template       text        NOT NULL,
    recipient_kind text        NOT NULL,
    recipient_id   text        NOT NULL,
    status         text        NOT NULL
                   CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain')),
    channel        text,
    attempts       jsonb       NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);

CREATE INDEX outbox_number ON outbox (number);
CREATE INDEX outbox_attention ON outbox (status) WHERE status IN ('failed', 'uncertain');
