-- Scorecards, per-channel response, monthly reports, breach reasons and root causes
-- (issue 16). Breach reasons and root causes need no table: they are timeline events
-- (docs/reports.md). Everything here is additive: new nullable columns, new rollup tables that
-- hang off report_days (so re-rolling a day replaces them with the rest of the day).

-- Teams: the staff directory had departments only. A person with no team counts in a
-- team named after their department (docs/reports.md, "Teams and departments").
ALTER TABLE staff ADD COLUMN team text;

-- Rollups made before this migration lack the per-agent and per-channel rows: the
-- version tells rollup_day to recompute such a day the next time a report needs it.
ALTER TABLE report_days ADD COLUMN version integer NOT NULL DEFAULT 1;

-- Monthly reports beside daily and weekly ones.
ALTER TABLE reports DROP CONSTRAINT reports_kind_check;
ALTER TABLE reports ADD CONSTRAINT reports_kind_check
    CHECK (kind IN ('daily', 'weekly', 'monthly', 'forecast'));

-- Per-agent additive figures of one day, attributed by the rules in docs/reports.md
-- ("Scorecards: who owns a figure").
CREATE TABLE report_day_agent_counts (
    time_zone text   NOT NULL,
    day       date   NOT NULL,
    agent     text   NOT NULL,
    metric    text   NOT NULL,
    key       text   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (time_zone, day, agent, metric, key),
    FOREIGN KEY (time_zone, day) REFERENCES report_days ON DELETE CASCADE
);

-- Duration samples of one day by a dimension other than priority: (agent, first_response
-- | resolution) for scorecards, (channel, first_response | pickup) for channel response.
CREATE TABLE report_day_samples (
    time_zone text               NOT NULL,
    day       date               NOT NULL,
    dim       text               NOT NULL CHECK (dim IN ('agent', 'channel')),
    key       text               NOT NULL,
    measure   text               NOT NULL,
    seconds   double precision[] NOT NULL,
    PRIMARY KEY (time_zone, day, dim, key, measure),
    FOREIGN KEY (time_zone, day) REFERENCES report_days ON DELETE CASCADE
);
