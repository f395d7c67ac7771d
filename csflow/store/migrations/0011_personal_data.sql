-- Personal data (docs/requirements.md §6): every read of a customer's details by a person or service is
-- logged, and a customer's details can be erased without touching what reports count.

CREATE TABLE personal_data_reads (
    id          bigserial PRIMARY KEY,
    number      text        NOT NULL,
    customer_id text        NOT NULL,
    token_id    text        NOT NULL,
    subject     text        NOT NULL,   -- who read (the token's actor)
    role        text        NOT NULL,
    purpose     text,
    read_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX personal_data_reads_customer ON personal_data_reads (customer_id, read_at);
CREATE INDEX personal_data_reads_number ON personal_data_reads (number, read_at);

ALTER TABLE requests ADD COLUMN personal_data_erased_at timestamptz;
