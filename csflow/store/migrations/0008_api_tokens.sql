-- API tokens (issue 7): each bound to one role and one subject (the actor it acts as).
-- Only a SHA-256 of the secret is stored: the secret is 256 random bits, so a fast hash
-- is enough to make a leaked table useless, and lookups stay one indexed read.

CREATE TABLE api_tokens (
    id           text PRIMARY KEY,                -- public part of the token, shown in lists
    name         text        NOT NULL,
    role         text        NOT NULL,
    subject      text        NOT NULL,            -- actor id recorded in timelines
    secret_hash  bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE INDEX api_tokens_active ON api_tokens (role) WHERE revoked_at IS NULL;
