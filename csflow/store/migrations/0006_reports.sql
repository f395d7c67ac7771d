-- Reports (issue 8): stored reports, and the daily rollups the weekly report sums.

-- One row per report; a re-run of the same (kind, period) replaces it.
CREATE TABLE reports (
    kind         text        NOT NULL CHECK (kind IN ('daily', 'weekly', 'forecast')),
    period       text        NOT NULL,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    time_zone    text        NOT NULL,
    generated_at timestamptz NOT NULL,
    body         jsonb       NOT NULL,
    PRIMARY KEY (kind, period)
);

CREATE INDEX reports_recent ON reports (kind, period_start DESC);

-- A day's rollup: computed once the day is over, it never needs the raw events again.
-- Keyed by time zone too, because "a day" is a local day of the organisation.
CREATE TABLE report_days (
    time_zone   text        NOT NULL,
    day         date        NOT NULL,
    day_start   timestamptz NOT NULL,
    day_end     timestamptz NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (time_zone, day)
);

-- Additive figures: every report figure that is a count is (metric, key) → n per day,
-- so a week (or any span of days) is a SUM over the days' rows.
CREATE TABLE report_day_counts (
    time_zone text   NOT NULL,
    day       date   NOT NULL,
    metric    text   NOT NULL,
    key       text   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (time_zone, day, metric, key),
    FOREIGN KEY (time_zone, day) REFERENCES report_days ON DELETE CASCADE
);

-- Percentiles do not add up, so the durations themselves are kept, one compact array per
-- day, measure and priority: a week's p90 is taken over the union of its days' arrays.
CREATE TABLE report_day_durations (
    time_zone text               NOT NULL,
    day       date               NOT NULL,
    measure   text               NOT NULL CHECK (measure IN ('first_response', 'resolution')),
    priority  text               NOT NULL,
    seconds   double precision[] NOT NULL,
    PRIMARY KEY (time_zone, day, measure, priority),
    FOREIGN KEY (time_zone, day) REFERENCES report_days ON DELETE CASCADE
);
