"""One local day of the timeline, reduced to additive counts and duration arrays.

Every figure is attributed to the instant of the event that decides it (a request is
counted on the day it was received, a response time on the day of the response, a clock
on the day it was met or breached), so each item lands in exactly one day and a week is
the sum of its seven days — the weekly report never reads the raw events again. The exact
definitions are in docs/reports.md; the SQL below is their only implementation.

Statements share $1 = day start, $2 = day end (UTC), $3 = time zone, $4 = the local day,
$5 = the pick-up targets (attribution.PICKUP); `bind` passes each only what it uses.

Cost grows with the day, never with the history: each statement starts from the day's
events (the `(kind, at)` index) and looks at a request's other events through the
`(number, seq)` primary key. Look-ups are written as scalar sub-selects — `(SELECT NOT EXISTS
…)`, `LATERAL … LIMIT 1` — because PostgreSQL turns a plain `NOT EXISTS` into an anti-join,
and when a day is a large share of the table it hashes *every* event of that kind, which
on a year of history is the whole year, every night.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from csflow.reports import attribution
from csflow.reports.kinds import RESPONSES
from csflow.reports.periods import day_start

_INSERT = "INSERT INTO report_day_counts (time_zone, day, metric, key, n)\n"

INTAKE = (
    _INSERT
    + """
SELECT $3, $4, v.metric, v.key, count(*)
FROM request_events e
CROSS JOIN LATERAL (SELECT q.category, q.channel, q.sub_type FROM requests q
                    WHERE q.number = e.number LIMIT 1) r
CROSS JOIN LATERAL (VALUES
    ('received', ''),
    ('category', r.category),
    ('channel', r.channel),
    ('issue', r.category || '|' || coalesce(r.sub_type, '')),
    ('repeat', CASE WHEN jsonb_typeof(e.data -> 'repeat_of') = 'array'
                     AND jsonb_array_length(e.data -> 'repeat_of') > 0 THEN '' END)
) AS v (metric, key)
WHERE e.kind = 'received' AND e.at >= $1 AND e.at < $2 AND v.key IS NOT NULL
GROUP BY v.metric, v.key"""
)

DEPARTMENT = (
    _INSERT
    + """
SELECT $3, $4, 'department', coalesce(nullif(e.data ->> 'department', ''), '(none)'), count(*)
FROM request_events e
WHERE e.kind = 'assigned' AND e.at >= $1 AND e.at < $2
  AND (SELECT NOT EXISTS (SELECT 1 FROM request_events p
                          WHERE p.number = e.number AND p.kind = 'assigned' AND p.seq < e.seq))
GROUP BY 4"""
)

FOLLOW_UP_ANSWERS = (
    _INSERT
    + """
SELECT $3, $4, v.metric, v.key, count(*)
FROM request_events e
LEFT JOIN LATERAL (
    SELECT (s.data ->> 'due_at')::timestamptz AS due
    FROM request_events s
    WHERE s.number = e.number AND s.seq < e.seq AND s.kind = 'follow_up_scheduled'
    ORDER BY s.seq DESC LIMIT 1) f ON true
CROSS JOIN LATERAL (VALUES
    ('score', e.data ->> 'score'),
    ('nps', CASE WHEN (e.data ->> 'nps')::int >= 9 THEN 'promoter'
                 WHEN (e.data ->> 'nps')::int >= 7 THEN 'passive'
                 WHEN (e.data ->> 'nps')::int >= 0 THEN 'detractor' END),
    ('follow_up', CASE WHEN f.due IS NULL OR e.at <= f.due THEN 'on_time' ELSE 'late' END)
) AS v (metric, key)
WHERE e.kind = 'follow_up_recorded' AND e.at >= $1 AND e.at < $2 AND v.key IS NOT NULL
GROUP BY v.metric, v.key"""
)

OUTCOMES = (
    _INSERT
    + """
SELECT $3, $4, metric, key, count(*) FROM (
    SELECT CASE e.kind
             WHEN 'follow_up_missed' THEN 'follow_up'
             WHEN 'rehandling_started' THEN 'rehandling'
             WHEN 'resolution_proposed' THEN 'resolutions'
             WHEN 'sla_breached' THEN CASE WHEN e.data ->> 'name' = 'progress_cadence'
                                           THEN 'progress_missed' ELSE 'sla_breached' END
           END AS metric,
           CASE WHEN e.kind = 'follow_up_missed' THEN 'missed'
                WHEN e.kind = 'sla_breached' AND e.data ->> 'name' <> 'progress_cadence'
                THEN e.data ->> 'name'
                ELSE '' END AS key
    FROM request_events e
    WHERE e.kind IN ('follow_up_missed', 'rehandling_started', 'resolution_proposed',
                     'sla_breached')
      AND e.at >= $1 AND e.at < $2) x
GROUP BY metric, key"""
)

FIRST_CONTACT = (
    _INSERT
    + """
SELECT $3, $4, v.metric, '', count(*)
FROM request_events e
CROSS JOIN LATERAL (VALUES
    ('accepted'),
    (CASE WHEN NOT EXISTS (
              SELECT 1 FROM request_events p
              WHERE p.number = e.number AND p.seq < e.seq
                AND p.kind IN ('rehandling_started', 'clocks_paused', 'awaiting_customer'))
          THEN 'first_contact' END)
) AS v (metric)
WHERE e.kind IN ('customer_confirmed', 'confirmed_by_timeout')
  AND e.at >= $1 AND e.at < $2 AND v.metric IS NOT NULL
  AND (SELECT NOT EXISTS (SELECT 1 FROM request_events p
                          WHERE p.number = e.number AND p.seq < e.seq
                            AND p.kind IN ('customer_confirmed', 'confirmed_by_timeout')))
GROUP BY v.metric"""
)

# Promise clocks met: satisfied (by the events the workflow satisfies them with) and never
# breached. first_response and plan exist once per request; resolution once per cycle.
SLA_MET = (
    _INSERT
    + f"""
SELECT $3, $4, 'sla_met', c.clock, count(*)
FROM request_events e
CROSS JOIN LATERAL (VALUES
    ('first_response', NOT EXISTS (
        SELECT 1 FROM request_events p
        WHERE p.number = e.number AND p.seq < e.seq AND p.kind IN {RESPONSES})),
    ('plan', e.kind IN ('plan_submitted', 'resolution_proposed') AND NOT EXISTS (
        SELECT 1 FROM request_events p
        WHERE p.number = e.number AND p.seq < e.seq
          AND p.kind IN ('plan_submitted', 'resolution_proposed'))),
    ('resolution', e.kind = 'resolution_proposed')
) AS c (clock, decided)
WHERE e.kind IN {RESPONSES} AND e.at >= $1 AND e.at < $2 AND c.decided
  AND (SELECT NOT EXISTS (
      SELECT 1 FROM request_events b
      WHERE b.number = e.number AND b.kind = 'sla_breached' AND b.data ->> 'name' = c.clock
        AND (c.clock <> 'resolution' OR (b.data ->> 'cycle')::int = 1 + (
            SELECT count(*) FROM request_events h
            WHERE h.number = e.number AND h.kind = 'rehandling_started' AND h.seq < e.seq))))
GROUP BY c.clock"""
)

HANDLERS = (
    _INSERT
    + """
SELECT $3, $4, 'agent_day', e.actor_id, count(*) FILTER (WHERE e.kind = 'resolution_proposed')
FROM request_events e
WHERE e.kind IN ('plan_submitted', 'progress_posted', 'resolution_proposed')
  AND e.actor_role IN ('agent', 'engineer') AND e.at >= $1 AND e.at < $2
GROUP BY e.actor_id"""
)

# A busy day's statement can outlast the pool's 30 s default, which is meant for requests.
STATEMENT_TIMEOUT = 600.0

# Events of a day can reach the database a little after midnight (a breach due at 23:59:59
# is written a moment later): a rollup made within this margin counts as partial.
SETTLE = timedelta(minutes=10)

# Durations (elapsed time from receipt minus the time spent waiting on the customer before
# it, the priority as recorded at intake, so a figure never moves with later changes) are
# measured once in attribution.MEASURED and grouped per priority, agent and channel there.
STATEMENTS = (
    INTAKE,
    DEPARTMENT,
    FOLLOW_UP_ANSWERS,
    OUTCOMES,
    FIRST_CONTACT,
    SLA_MET,
    HANDLERS,
    *attribution.STATEMENTS,
)

# Bumped when a rollup gains figures: a day rolled up by an older version is recomputed the
# next time a report needs it (2: per-agent and per-channel figures, issue 16).
ROLLUP_VERSION = 2
_PARAM = re.compile(r"\$(\d+)")


def bind(sql: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """Renumber the placeholders a statement uses to $1..$k and pick their values: the
    statements share one numbering ($1 day start … $5 targets), but PostgreSQL refuses a
    parameter a statement never mentions (it cannot infer its type)."""
    used = sorted({int(n) for n in _PARAM.findall(sql)})
    renumber = {n: i + 1 for i, n in enumerate(used)}
    return (_PARAM.sub(lambda m: f"${renumber[int(m[1])]}", sql), [values[n - 1] for n in used])


def answer_within_targets() -> dict[str, float]:
    """The policy's pick-up target per channel, in seconds (channels without one: none)."""
    from csflow.config.policy import policy_from_env

    return {
        channel.value: t.answer_within.total_seconds()
        for channel, t in policy_from_env().channels.items()
        if t.answer_within
    }


async def rollup_day(
    pool: Any,
    day: date,
    tz: str,
    *,
    force: bool = False,
    answer_within: Mapping[str, float] | None = None,
) -> bool:
    """(Re)compute one day; False when a rollup made after the day ended already exists.

    A rollup made before the day was over (and settled), or by an older ROLLUP_VERSION, is
    recomputed. `answer_within`: pick-up targets per channel in seconds, the policy's
    (CSFLOW_POLICY) when omitted. One
    REPEATABLE READ transaction gives every statement the same snapshot; a session lock
    taken before that snapshot makes concurrent runs for the same day queue, and the one
    that waited sees the other's result instead of colliding with it.
    """
    start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    targets = dict(answer_within_targets() if answer_within is None else answer_within)
    values = (start, end, tz, day, targets)
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1), $2)", tz, day.toordinal())
        try:
            async with conn.transaction(isolation="repeatable_read"):
                if not force:
                    kept = await conn.fetchrow(
                        """SELECT computed_at, version FROM report_days
                           WHERE time_zone = $1 AND day = $2""",
                        tz,
                        day,
                    )
                    if (
                        kept is not None
                        and kept["computed_at"] >= end + SETTLE
                        and kept["version"] >= ROLLUP_VERSION
                    ):
                        return False
                await conn.execute(
                    "DELETE FROM report_days WHERE time_zone = $1 AND day = $2", tz, day
                )
                await conn.execute(
                    """INSERT INTO report_days (time_zone, day, day_start, day_end, computed_at,
                                               version)
                       VALUES ($1, $2, $3, $4, now(), $5)""",
                    tz,
                    day,
                    start,
                    end,
                    ROLLUP_VERSION,
                )
                for sql in STATEMENTS:
                    bound, args = bind(sql, values)
                    await conn.execute(bound, *args, timeout=STATEMENT_TIMEOUT)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1), $2)", tz, day.toordinal())
    return True
