"""Who owns a figure: the per-agent and per-channel parts of a day's rollup (issue 16).

The rules (docs/reports.md, "Scorecards: who owns a figure") in one place:

* work — a response, a plan, a resolution, and the SLA clock it meets — belongs to the
  person who did it (the event's actor, when a handler); done by anyone else (the system,
  an import), to whoever held the request at that instant;
* a breach belongs to whoever held the request when the deadline passed: the assignee of
  the latest `assigned`, `reassigned` or `escalated` before it; nobody held it →
  `(unassigned)`;
* what follows a resolution — the customer's acceptance (first-contact resolution), a
  re-handling, the satisfaction score and NPS of the follow-up — belongs to the person whose
  resolution it answers: the actor of the latest `resolution_proposed` before it;
* a follow-up visit on time, late or missed belongs to its owner
  (`follow_up_scheduled.data.owner`), and to that resolver when no owner was named.

Each figure still lands on the day of the event that decides it, exactly as in the
organisation's report, so an agent's week is the sum of their days, and the organisation's
figure is the sum over agents (`(unassigned)` included).

Statements use the rollup's parameters: $1 day start, $2 day end, $3 time zone, $4 the
local day, $5 (pick-up only) the channels' `answer_within` targets in seconds, as JSON.
"""

from __future__ import annotations

from csflow.reports.kinds import RESPONSES, WAIT_ENDS, WAIT_STARTS

HANDLER_ROLES = "('agent', 'engineer', 'supervisor')"
UNASSIGNED = "(unassigned)"

_HOLDS = "coalesce(nullif(h.data ->> 'assignee', ''), nullif(h.data ->> 'to', ''))"


def holder(e: str) -> str:
    """Who held the request just before event `e`: the latest assignment naming a person."""
    return f"""(SELECT {_HOLDS} FROM request_events h
        WHERE h.number = {e}.number AND h.seq < {e}.seq
          AND h.kind IN ('assigned', 'reassigned', 'escalated') AND {_HOLDS} IS NOT NULL
        ORDER BY h.seq DESC LIMIT 1)"""


def resolver(e: str) -> str:
    """Whose resolution event `e` answers: the actor of the latest one before it."""
    return f"""(SELECT r.actor_id FROM request_events r
        WHERE r.number = {e}.number AND r.seq < {e}.seq AND r.kind = 'resolution_proposed'
        ORDER BY r.seq DESC LIMIT 1)"""


def doer(e: str) -> str:
    """Who did event `e`: its actor when a handler, else the holder at that instant."""
    return (
        f"coalesce(CASE WHEN {e}.actor_role IN {HANDLER_ROLES} THEN {e}.actor_id END, "
        f"{holder(e)}, '{UNASSIGNED}')"
    )


_INSERT = "INSERT INTO report_day_agent_counts (time_zone, day, agent, metric, key, n)\n"


def _not_breached(clock: str) -> str:
    """The same test as the organisation's SLA_MET: no breach of this clock (this cycle)."""
    return f"""NOT EXISTS (
        SELECT 1 FROM request_events b
        WHERE b.number = e.number AND b.kind = 'sla_breached' AND b.data ->> 'name' = {clock}
          AND ({clock} <> 'resolution' OR (b.data ->> 'cycle')::int = 1 + (
              SELECT count(*) FROM request_events h
              WHERE h.number = e.number AND h.kind = 'rehandling_started' AND h.seq < e.seq)))"""


AGENT_WORK = (
    _INSERT
    + f"""
SELECT $3, $4, o.agent, v.metric, v.key, count(*)
FROM request_events e
CROSS JOIN LATERAL (SELECT {doer("e")} AS agent) o
CROSS JOIN LATERAL (VALUES
    ('resolutions', '', e.kind = 'resolution_proposed'),
    ('handled', '', e.kind = 'resolution_proposed' AND NOT EXISTS (
        SELECT 1 FROM request_events p
        WHERE p.number = e.number AND p.seq < e.seq AND p.kind = 'resolution_proposed'
          AND p.actor_id = e.actor_id)),
    ('sla_met', 'first_response', NOT EXISTS (
        SELECT 1 FROM request_events p
        WHERE p.number = e.number AND p.seq < e.seq AND p.kind IN {RESPONSES})
        AND {_not_breached("'first_response'")}),
    ('sla_met', 'plan', e.kind IN ('plan_submitted', 'resolution_proposed') AND NOT EXISTS (
        SELECT 1 FROM request_events p
        WHERE p.number = e.number AND p.seq < e.seq
          AND p.kind IN ('plan_submitted', 'resolution_proposed'))
        AND {_not_breached("'plan'")}),
    ('sla_met', 'resolution', e.kind = 'resolution_proposed'
        AND {_not_breached("'resolution'")})
) AS v (metric, key, hit)
WHERE e.kind IN {RESPONSES} AND e.at >= $1 AND e.at < $2 AND v.hit
GROUP BY o.agent, v.metric, v.key"""
)

AGENT_BREACHES = (
    _INSERT
    + f"""
SELECT $3, $4, coalesce({holder("e")}, '{UNASSIGNED}'),
       CASE WHEN e.data ->> 'name' = 'progress_cadence' THEN 'progress_missed'
            ELSE 'sla_breached' END,
       CASE WHEN e.data ->> 'name' = 'progress_cadence' THEN '' ELSE e.data ->> 'name' END,
       count(*)
FROM request_events e
WHERE e.kind = 'sla_breached' AND e.at >= $1 AND e.at < $2
GROUP BY 3, 4, 5"""
)

# After a resolution: acceptance (first-contact resolution), re-handling, satisfaction.
AGENT_AFTER = (
    _INSERT
    + f"""
SELECT $3, $4, coalesce({resolver("e")}, '{UNASSIGNED}'), v.metric, v.key, count(*)
FROM request_events e
CROSS JOIN LATERAL (VALUES
    ('rehandling', '', e.kind = 'rehandling_started'),
    ('accepted', '', e.kind IN ('customer_confirmed', 'confirmed_by_timeout')),
    ('first_contact', '', e.kind IN ('customer_confirmed', 'confirmed_by_timeout')
        AND NOT EXISTS (
            SELECT 1 FROM request_events p
            WHERE p.number = e.number AND p.seq < e.seq
              AND p.kind IN ('rehandling_started', 'clocks_paused', 'awaiting_customer'))),
    ('score', e.data ->> 'score', e.kind = 'follow_up_recorded' AND e.data ? 'score'),
    ('nps', CASE WHEN (e.data ->> 'nps')::int >= 9 THEN 'promoter'
                 WHEN (e.data ->> 'nps')::int >= 7 THEN 'passive'
                 WHEN (e.data ->> 'nps')::int >= 0 THEN 'detractor' END,
     e.kind = 'follow_up_recorded' AND e.data ? 'nps')
) AS v (metric, key, hit)
WHERE e.kind IN ('rehandling_started', 'customer_confirmed', 'confirmed_by_timeout',
                 'follow_up_recorded')
  AND e.at >= $1 AND e.at < $2 AND v.hit AND v.key IS NOT NULL
  AND (e.kind NOT IN ('customer_confirmed', 'confirmed_by_timeout') OR (SELECT NOT EXISTS (
      SELECT 1 FROM request_events p
      WHERE p.number = e.number AND p.seq < e.seq
        AND p.kind IN ('customer_confirmed', 'confirmed_by_timeout'))))
GROUP BY 3, v.metric, v.key"""
)

AGENT_FOLLOW_UP = (
    _INSERT
    + f"""
SELECT $3, $4, coalesce(nullif(e.data ->> 'owner', ''), f.owner, {resolver("e")},
                        '{UNASSIGNED}'),
       'follow_up',
       CASE WHEN e.kind = 'follow_up_missed' THEN 'missed'
            WHEN f.due IS NULL OR e.at <= f.due THEN 'on_time' ELSE 'late' END,
       count(*)
FROM request_events e
LEFT JOIN LATERAL (
    SELECT (s.data ->> 'due_at')::timestamptz AS due, nullif(s.data ->> 'owner', '') AS owner
    FROM request_events s
    WHERE s.number = e.number AND s.seq < e.seq AND s.kind = 'follow_up_scheduled'
    ORDER BY s.seq DESC LIMIT 1) f ON true
WHERE e.kind IN ('follow_up_recorded', 'follow_up_missed') AND e.at >= $1 AND e.at < $2
GROUP BY 3, 5"""
)

# Every measured duration of the day once, with what each report groups it by; the
# organisation's durations (per priority), the scorecards' (per agent) and the channels'
# are grouped from this one pass. Created per rollup, dropped at commit.
MEASURED_TABLE = """
CREATE TEMP TABLE rollup_measured (
    measure  text NOT NULL, priority text NOT NULL, agent text NOT NULL,
    channel  text NOT NULL, seconds double precision NOT NULL, target double precision
) ON COMMIT DROP"""

MEASURED = f"""
INSERT INTO rollup_measured (measure, priority, agent, channel, seconds)
SELECT m.measure, coalesce(rec.data ->> 'priority', '?'), m.agent,
       coalesce(rec.data ->> 'channel', '?'),
       greatest(0, extract(epoch FROM m.at - rec.at) - coalesce(w.waited, 0))
FROM (
    SELECT x.measure, e.number, e.seq, e.at, {doer("e")} AS agent
    FROM request_events e
    CROSS JOIN LATERAL (VALUES
        ('first_response', NOT EXISTS (
            SELECT 1 FROM request_events p
            WHERE p.number = e.number AND p.seq < e.seq AND p.kind IN {RESPONSES})),
        ('resolution', e.kind = 'resolution_proposed' AND NOT EXISTS (
            SELECT 1 FROM request_events p
            WHERE p.number = e.number AND p.seq < e.seq AND p.kind = 'resolution_proposed'))
    ) AS x (measure, first)
    WHERE e.kind IN {RESPONSES} AND e.at >= $1 AND e.at < $2 AND x.first) m
CROSS JOIN LATERAL (SELECT r.at, r.data FROM request_events r
                    WHERE r.number = m.number AND r.kind = 'received' LIMIT 1) rec
LEFT JOIN LATERAL (
    SELECT extract(epoch FROM sum(least(coalesce(ws.ended, m.at), m.at) - ws.began)) AS waited
    FROM (SELECT p.at AS began,
                 (SELECT min(q.at) FROM request_events q
                  WHERE q.number = p.number AND q.seq > p.seq AND q.kind IN {WAIT_ENDS}) AS ended
          FROM request_events p
          WHERE p.number = m.number AND p.seq < m.seq AND p.kind IN {WAIT_STARTS}) ws
) w ON true"""

# Pick-up: from receipt to the first assignment that names a person (the time a request
# waited for someone to take it), against the channel's answer_within: the one recorded
# on the request at intake (`received.data.answer_within`, seconds) when there is one,
# else the policy's ($5).
PICKUP = f"""
INSERT INTO rollup_measured (measure, priority, agent, channel, seconds, target)
SELECT 'pickup', coalesce(rec.data ->> 'priority', '?'), e.data ->> 'assignee',
       coalesce(rec.data ->> 'channel', '?'), greatest(0, extract(epoch FROM e.at - rec.at)),
       coalesce((rec.data ->> 'answer_within')::double precision,
                ($5::jsonb ->> (rec.data ->> 'channel'))::double precision)
FROM request_events e
CROSS JOIN LATERAL (SELECT r.at, r.data FROM request_events r
                    WHERE r.number = e.number AND r.kind = 'received' LIMIT 1) rec
WHERE e.kind = 'assigned' AND e.at >= $1 AND e.at < $2
  AND nullif(e.data ->> 'assignee', '') IS NOT NULL
  AND (SELECT NOT EXISTS (
      SELECT 1 FROM request_events h
      WHERE h.number = e.number AND h.seq < e.seq
        AND h.kind IN ('assigned', 'reassigned', 'escalated') AND {_HOLDS} IS NOT NULL))"""

PRIORITY_DURATIONS = """
INSERT INTO report_day_durations (time_zone, day, measure, priority, seconds)
SELECT $3, $4, measure, priority, array_agg(seconds ORDER BY seconds)
FROM rollup_measured WHERE measure IN ('first_response', 'resolution')
GROUP BY measure, priority"""

AGENT_SAMPLES = """
INSERT INTO report_day_samples (time_zone, day, dim, key, measure, seconds)
SELECT $3, $4, 'agent', agent, measure, array_agg(seconds ORDER BY seconds)
FROM rollup_measured WHERE measure IN ('first_response', 'resolution')
GROUP BY agent, measure"""

CHANNEL_SAMPLES = """
INSERT INTO report_day_samples (time_zone, day, dim, key, measure, seconds)
SELECT $3, $4, 'channel', channel, measure, array_agg(seconds ORDER BY seconds)
FROM rollup_measured WHERE measure IN ('first_response', 'pickup')
GROUP BY channel, measure"""

PICKUP_COUNTS = """
INSERT INTO report_day_counts (time_zone, day, metric, key, n)
SELECT $3, $4, CASE WHEN seconds <= target THEN 'pickup_met' ELSE 'pickup_missed' END,
       channel, count(*)
FROM rollup_measured WHERE measure = 'pickup' AND target IS NOT NULL
GROUP BY 3, channel"""

STATEMENTS = (
    AGENT_WORK,
    AGENT_BREACHES,
    AGENT_AFTER,
    AGENT_FOLLOW_UP,
    MEASURED_TABLE,
    MEASURED,
    PICKUP,
    PRIORITY_DURATIONS,
    AGENT_SAMPLES,
    CHANNEL_SAMPLES,
    PICKUP_COUNTS,
)
