-- Follow-up and the negative-feedback loop (issue 6).

CREATE TABLE improvement_tasks (
    task_id      text PRIMARY KEY,
    number       text        NOT NULL REFERENCES requests (number),
    department   text        NOT NULL,
    problem      text        NOT NULL,
    score        integer     NOT NULL,
    status       text        NOT NULL CHECK (status IN ('open', 'overdue', 'closed')),
    opened_at    timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    closed_at    timestamptz,
    closed_by    text,
    what_changed text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX improvement_tasks_open ON improvement_tasks (department, due_at)
    WHERE status <> 'closed';

ALTER TABLE requests
    ADD COLUMN related_to text[] NOT NULL DEFAULT '{}',
    ADD COLUMN follow_up  jsonb;
