"""A report over a span of rolled-up days: sum the counts, pool the durations, assemble.

`assemble` is pure — counts in, figures out — so what each figure means is readable (and
tested) apart from the SQL that gathers its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from csflow.reports.model import (
    PRIORITIES,
    PROMISE_CLOCKS,
    ChannelResponse,
    ClockCompliance,
    DurationStats,
    Issue,
    Nps,
    Rate,
    Report,
    Share,
)
from csflow.reports.periods import Period
from csflow.reports.rollup import ROLLUP_VERSION, STATEMENT_TIMEOUT

Counts = Mapping[tuple[str, str], int]


class MissingRollup(RuntimeError):
    """A day of the period has no rollup yet: roll it up first."""


@dataclass(frozen=True)
class Inputs:
    counts: Counts
    durations: Sequence[tuple[str, DurationStats]]  # (measure, stats per priority)
    open_improvements: Mapping[str, int]
    # (channel, first_response | pickup) → stats; `priority` holds the channel there.
    channel_durations: Mapping[tuple[str, str], DurationStats] = field(default_factory=dict)


# Tasks open at `$1`, read from the requests with no end before `$1` — the open backlog
# and the requests ended since — not from every improvement of the whole history. The
# workflow ends a followed-up request itself only when its last task closes; a request
# closed by hand earlier abandons its task, whose end can then never reach the timeline,
# so such a task counts until the request's end (docs/reports.md). Indexes:
# requests_closed_at and request_events_improvements (migration 0018). The look-up per
# request is fenced (`OFFSET 0`) so PostgreSQL probes the index once per unended request
# instead of hashing every improvement event of the history against them.
UNENDED = """WITH unended AS (
    SELECT number FROM requests WHERE closed_at IS NULL
    UNION ALL
    SELECT number FROM requests WHERE closed_at >= $1)"""
OPEN_IMPROVEMENTS_SQL = f"""
{UNENDED}
SELECT t.department, count(*) AS n
FROM unended q
CROSS JOIN LATERAL (
    SELECT coalesce(o.data ->> 'department', '(none)') AS department
    FROM request_events o
    WHERE o.number = q.number AND o.kind = 'improvement_opened' AND o.at < $1
      AND NOT EXISTS (
          SELECT 1 FROM request_events c
          WHERE c.number = o.number AND c.kind = 'improvement_closed'
            AND c.data ->> 'task_id' = o.data ->> 'task_id' AND c.at < $1)
    OFFSET 0) t
GROUP BY 1"""


async def gather(pool: Any, period: Period, tz: str) -> Inputs:
    first, last = period.first_day, period.last_day
    _, end = period.bounds(tz)
    async with pool.acquire() as conn:
        have = await conn.fetchval(
            """SELECT count(*) FROM report_days
               WHERE time_zone = $1 AND day BETWEEN $2 AND $3 AND version >= $4""",
            tz,
            first,
            last,
            ROLLUP_VERSION,
        )
        if have != period.length:
            raise MissingRollup(f"{period.label}: {period.length - have} day(s) not rolled up")
        rows = await conn.fetch(
            """SELECT metric, key, sum(n)::bigint AS n FROM report_day_counts
               WHERE time_zone = $1 AND day BETWEEN $2 AND $3 GROUP BY metric, key""",
            tz,
            first,
            last,
        )
        stats = await conn.fetch(
            """SELECT d.measure, d.priority, count(*) AS n, avg(s) AS mean,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,
                      percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90
               FROM report_day_durations d CROSS JOIN LATERAL unnest(d.seconds) AS s
               WHERE d.time_zone = $1 AND d.day BETWEEN $2 AND $3
               GROUP BY d.measure, d.priority""",
            tz,
            first,
            last,
            timeout=STATEMENT_TIMEOUT,
        )
        channel_stats = await conn.fetch(
            f"""SELECT d.key AS channel, d.measure, {_STATS}
               FROM report_day_samples d CROSS JOIN LATERAL unnest(d.seconds) AS s
               WHERE d.time_zone = $1 AND d.day BETWEEN $2 AND $3 AND d.dim = 'channel'
               GROUP BY d.key, d.measure""",
            tz,
            first,
            last,
            timeout=STATEMENT_TIMEOUT,
        )
        # A point in time, not a flow: tasks opened before the end and not closed by then.
        open_rows = await conn.fetch(OPEN_IMPROVEMENTS_SQL, end, timeout=STATEMENT_TIMEOUT)
    return Inputs(
        counts={(r["metric"], r["key"]): int(r["n"]) for r in rows},
        durations=[
            (
                r["measure"],
                DurationStats(
                    priority=r["priority"], count=r["n"], mean=r["mean"], p50=r["p50"], p90=r["p90"]
                ),
            )
            for r in stats
        ],
        open_improvements={r["department"]: int(r["n"]) for r in open_rows},
        channel_durations={
            (r["channel"], r["measure"]): _stats(r["channel"], r) for r in channel_stats
        },
    )


def assemble(
    period: Period, tz: str, generated_at: datetime, inputs: Inputs, top_n: int = 10
) -> Report:
    c = inputs.counts
    received = c.get(("received", ""), 0)
    start, end = period.bounds(tz)
    scores = [Share(key=str(s), count=c.get(("score", str(s)), 0), share=None) for s in range(1, 6)]
    answers = sum(s.count for s in scores)
    for s in scores:
        s.share = s.count / answers if answers else None
    improvements = dict(inputs.open_improvements)
    if period.kind == "range":
        raise ValueError("a report covers a day, a week or a month, not a range")
    return Report(
        kind=period.kind,
        period=period.label,
        time_zone=tz,
        start=start,
        end=end,
        generated_at=generated_at,
        received=received,
        by_category=_shares(c, "category", received),
        by_channel=_shares(c, "channel", received),
        by_department=_shares(c, "department", sum(_of(c, "department").values())),
        top_issues=_issues(c, received, top_n),
        satisfaction=scores,
        satisfaction_mean=(
            sum(int(s.key) * s.count for s in scores) / answers if answers else None
        ),
        nps=Nps(
            promoters=c.get(("nps", "promoter"), 0),
            passives=c.get(("nps", "passive"), 0),
            detractors=c.get(("nps", "detractor"), 0),
        ),
        first_response=_durations(inputs, "first_response"),
        resolution=_durations(inputs, "resolution"),
        sla=[
            ClockCompliance(
                clock=k, met=c.get(("sla_met", k), 0), breached=c.get(("sla_breached", k), 0)
            )
            for k in PROMISE_CLOCKS
        ],
        progress_updates_missed=c.get(("progress_missed", ""), 0),
        first_contact_resolution=Rate(
            numerator=c.get(("first_contact", ""), 0), denominator=c.get(("accepted", ""), 0)
        ),
        repeat_complaints=Rate(numerator=c.get(("repeat", ""), 0), denominator=received),
        rehandling=Rate(
            numerator=c.get(("rehandling", ""), 0), denominator=c.get(("resolutions", ""), 0)
        ),
        follow_up_completion=Rate(
            numerator=c.get(("follow_up", "on_time"), 0),
            denominator=c.get(("follow_up", "on_time"), 0) + c.get(("follow_up", "missed"), 0),
        ),
        follow_ups_recorded_late=c.get(("follow_up", "late"), 0),
        open_improvements=sum(improvements.values()),
        open_improvements_by_department=_ranked(improvements, sum(improvements.values())),
        by_channel_response=channel_response(c, inputs.channel_durations),
    )


def channel_response(
    counts: Counts, durations: Mapping[tuple[str, str], DurationStats]
) -> list[ChannelResponse]:
    """Per channel received or measured in the period, by name."""
    channels = sorted(
        {k for m, k in counts if m in ("channel", "pickup_met", "pickup_missed")}
        | {ch for ch, _ in durations}
    )
    return [
        ChannelResponse(
            channel=ch,
            pickup=durations.get((ch, "pickup")) or _none(ch),
            pickup_met=counts.get(("pickup_met", ch), 0),
            pickup_missed=counts.get(("pickup_missed", ch), 0),
            first_response=durations.get((ch, "first_response")) or _none(ch),
        )
        for ch in channels
    ]


def _none(key: str) -> DurationStats:
    return DurationStats(priority=key, count=0, mean=None, p50=None, p90=None)


# Mean and percentiles over unnested duration arrays (`s`), as every report takes them.
_STATS = """count(*) AS n, avg(s) AS mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90"""


def _stats(key: str, r: Any) -> DurationStats:
    return DurationStats(priority=key, count=r["n"], mean=r["mean"], p50=r["p50"], p90=r["p90"])


def _of(counts: Counts, metric: str) -> dict[str, int]:
    return {k: n for (m, k), n in counts.items() if m == metric}


def _ranked(values: Mapping[str, int], total: int) -> list[Share]:
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Share(key=k, count=n, share=n / total if total else None) for k, n in ordered]


def _shares(counts: Counts, metric: str, total: int) -> list[Share]:
    return _ranked(_of(counts, metric), total)


def _issues(counts: Counts, received: int, top_n: int) -> list[Issue]:
    issues = []
    for s in _shares(counts, "issue", received)[:top_n]:
        category, _, sub_type = s.key.partition("|")
        issues.append(
            Issue(
                category=category,
                sub_type=sub_type or "(unspecified)",
                count=s.count,
                share=s.share,
            )
        )
    return issues


def _durations(inputs: Inputs, measure: str) -> list[DurationStats]:
    found = {d.priority: d for m, d in inputs.durations if m == measure}
    extra = sorted(p for p in found if p not in PRIORITIES)
    return [
        found.get(p) or DurationStats(priority=p, count=0, mean=None, p50=None, p90=None)
        for p in (*PRIORITIES, *extra)
    ]
