"""Why things went wrong: breaches by reason (and their review), complaints and improvement
tasks by root cause — the report side of issue 16's breach reasons and root causes.

Read from the timeline, at query time, not rolled up: an explanation or a review arrives
days after the breach it explains, and the figure belongs to the breach's period, so a
day's rollup would go stale; a period's breaches are a small share of its events (the
`(kind, at)` index finds them; each looks up its latest explanation through
`(number, seq)`).

The events (written by the request workflow; docs/reports.md, "Breach reasons and root
causes", lists the Updates that write them):

* `breach_explained`  data {clock, reason, note}: the owner's reason for the breach of
  the clock with that id (as in `sla_breached.data.clock`); a later one replaces it;
* `breach_reviewed`   data {clock, verdict: accepted | rejected, note}: the supervisor's
  review of the latest explanation (a rejection asks for a new one);
* `cause_recorded`    data {cause, responsible_department, task_id, note}: the root cause
  of a complaint (no task_id) or of an improvement task; a later one replaces it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from csflow.reports.attribution import UNASSIGNED, holder
from csflow.reports.config import ReportsConfig
from csflow.reports.periods import Period
from csflow.reports.rollup import ROLLUP_VERSION, SETTLE, STATEMENT_TIMEOUT

NO_REASON = "(no reason yet)"
NO_CAUSE = "(no cause recorded)"
Review = Literal["accepted", "rejected", "unreviewed", "unexplained"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonCount(_Model):
    reason: str
    label: str
    breaches: int
    accepted: int
    rejected: int
    unreviewed: int  # explained, waiting for the supervisor


class OwnerReasons(_Model):
    owner: str
    reasons: dict[str, int]  # reason key (or NO_REASON) → breaches


class OpenBreach(_Model):
    number: str
    clock: str
    breached_at: datetime
    owner: str
    reason: str | None
    note: str | None
    status: Review


class CauseCount(_Model):
    cause: str
    label: str
    responsible_department: str
    count: int
    previous: int  # the same cause and department in the period before

    @property
    def change(self) -> int:
        return self.count - self.previous


class WhyReport(_Model):
    period: str
    previous_period: str
    breaches: int
    by_reason: list[ReasonCount]
    by_owner: list[OwnerReasons]
    awaiting_review: list[OpenBreach]  # explained, not reviewed (oldest first)
    unexplained: int
    causes: list[CauseCount]


# Every promise-clock and cadence breach of the period, the holder at the breach, and the
# latest explanation and review of that clock id.
BREACHES = f"""
SELECT e.number, e.data ->> 'clock' AS clock, e.at,
       coalesce({holder("e")}, '{UNASSIGNED}') AS owner, x.reason, x.note, x.explained_seq,
       r.verdict
FROM request_events e
LEFT JOIN LATERAL (
    SELECT p.data ->> 'reason' AS reason, p.data ->> 'note' AS note, p.seq AS explained_seq
    FROM request_events p
    WHERE p.number = e.number AND p.seq > e.seq AND p.kind = 'breach_explained'
      AND p.data ->> 'clock' = e.data ->> 'clock'
    ORDER BY p.seq DESC LIMIT 1) x ON true
LEFT JOIN LATERAL (
    SELECT v.data ->> 'verdict' AS verdict
    FROM request_events v
    WHERE v.number = e.number AND v.seq > x.explained_seq AND v.kind = 'breach_reviewed'
      AND v.data ->> 'clock' = e.data ->> 'clock'
    ORDER BY v.seq DESC LIMIT 1) r ON true
WHERE e.kind = 'sla_breached' AND e.at >= $1 AND e.at < $2
ORDER BY e.at, e.number"""

# The fast path (the period's days are rolled up): only the breaches someone explained are
# read from the timeline — starting from the explanations, which are few — and every other
# breach is counted from the per-agent rollup, owner by owner.
EXPLAINED = f"""
SELECT e.number, e.data ->> 'clock' AS clock, e.at,
       coalesce({holder("e")}, '{UNASSIGNED}') AS owner, x.reason, x.note, r.verdict
FROM (SELECT DISTINCT ON (p.number, p.data ->> 'clock')
             p.number, p.data ->> 'clock' AS clock, p.data ->> 'reason' AS reason,
             p.data ->> 'note' AS note, p.seq
      FROM request_events p
      WHERE p.kind = 'breach_explained' AND p.at >= $1
      ORDER BY p.number, p.data ->> 'clock', p.seq DESC) x
CROSS JOIN LATERAL (
    SELECT b.number, b.seq, b.at, b.data FROM request_events b
    WHERE b.number = x.number AND b.seq < x.seq AND b.kind = 'sla_breached'
      AND b.data ->> 'clock' = x.clock
    ORDER BY b.seq DESC LIMIT 1) e
LEFT JOIN LATERAL (
    SELECT v.data ->> 'verdict' AS verdict
    FROM request_events v
    WHERE v.number = x.number AND v.seq > x.seq AND v.kind = 'breach_reviewed'
      AND v.data ->> 'clock' = x.clock
    ORDER BY v.seq DESC LIMIT 1) r ON true
WHERE e.at >= $1 AND e.at < $2
ORDER BY e.at, e.number"""

OWNER_TOTALS = """
SELECT agent, sum(n)::bigint AS n FROM report_day_agent_counts
WHERE time_zone = $1 AND day BETWEEN $2 AND $3
  AND metric IN ('sla_breached', 'progress_missed')
GROUP BY agent"""

# Root causes recorded in a period (the latest per request and task), by cause and the
# responsible department. A complaint resolved in the period without a cause counts under
# NO_CAUSE, so a missing cause is visible rather than silently left out.
CAUSES = f"""
SELECT coalesce(c.data ->> 'cause', '{NO_CAUSE}') AS cause,
       coalesce(nullif(c.data ->> 'responsible_department', ''), '(none)') AS department,
       count(*) AS n
FROM request_events c
WHERE c.kind = 'cause_recorded' AND c.at >= $1 AND c.at < $2
  AND (SELECT NOT EXISTS (
      SELECT 1 FROM request_events l
      WHERE l.number = c.number AND l.seq > c.seq AND l.kind = 'cause_recorded'
        AND l.at < $2
        AND coalesce(l.data ->> 'task_id', '') = coalesce(c.data ->> 'task_id', '')))
GROUP BY 1, 2
UNION ALL
SELECT '{NO_CAUSE}', '(none)', count(*)
FROM request_events e
JOIN requests q ON q.number = e.number AND q.category = 'complaint'
WHERE e.kind = 'resolution_proposed' AND e.at >= $1 AND e.at < $2
  AND (SELECT NOT EXISTS (SELECT 1 FROM request_events p
                          WHERE p.number = e.number AND p.seq < e.seq
                            AND p.kind = 'resolution_proposed'))
  AND (SELECT NOT EXISTS (SELECT 1 FROM request_events c
                          WHERE c.number = e.number AND c.kind = 'cause_recorded'
                            AND c.data ->> 'task_id' IS NULL AND c.at < $2))
HAVING count(*) > 0"""


async def why(pool: Any, period: Period, tz: str, config: ReportsConfig) -> WhyReport:
    """From the rollups and the explanations when the period is rolled up (cost grows with
    the explanations), else every breach of the period from the timeline."""
    start, end = period.bounds(tz)
    before = period.shifted(-1)
    b_start, b_end = before.bounds(tz)
    async with pool.acquire() as conn:
        rolled = await conn.fetchval(
            """SELECT count(*) FROM report_days
               WHERE time_zone = $1 AND day BETWEEN $2 AND $3 AND version >= $4
                 AND computed_at >= day_end + $5::interval""",
            tz,
            period.first_day,
            period.last_day,
            ROLLUP_VERSION,
            SETTLE,
        )
        breaches: list[Any]
        if rolled == period.length:
            explained = await conn.fetch(EXPLAINED, start, end, timeout=STATEMENT_TIMEOUT)
            totals = await conn.fetch(OWNER_TOTALS, tz, period.first_day, period.last_day)
            breaches = [*explained, *_unexplained(explained, totals)]
        else:
            breaches = await conn.fetch(BREACHES, start, end, timeout=STATEMENT_TIMEOUT)
        now = await conn.fetch(CAUSES, start, end, timeout=STATEMENT_TIMEOUT)
        then = await conn.fetch(CAUSES, b_start, b_end, timeout=STATEMENT_TIMEOUT)
    return assemble(period, before, config, breaches, now, then)


def _unexplained(explained: Sequence[Any], totals: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per breach nobody explained: the owner's rolled-up breaches less the ones
    explained (only the owner matters for them)."""
    done: dict[str, int] = defaultdict(int)
    for e in explained:
        done[e["owner"]] += 1
    return [
        {"owner": t["agent"], "reason": None, "verdict": None, "n": int(t["n"]) - done[t["agent"]]}
        for t in totals
        if int(t["n"]) > done[t["agent"]]
    ]


def _status(reason: str | None, verdict: str | None) -> Review:
    if reason is None:
        return "unexplained"
    if verdict in ("accepted", "rejected"):
        return verdict  # type: ignore[return-value]  # checked just above
    return "unreviewed"


def assemble(
    period: Period,
    before: Period,
    config: ReportsConfig,
    breaches: Sequence[Any],
    now: Sequence[Any],
    then: Sequence[Any],
) -> WhyReport:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    owners: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    waiting: list[OpenBreach] = []
    unexplained = 0
    for b in breaches:
        status = _status(b["reason"], b["verdict"])
        reason = b["reason"] or NO_REASON
        n = int(b.get("n", 1))  # the fast path's unexplained rows stand for n breaches
        counts[reason]["breaches"] += n
        counts[reason][status] += n
        owners[b["owner"]][reason] += n
        if status == "unexplained":
            unexplained += n
        if status == "unreviewed":
            waiting.append(
                OpenBreach(
                    number=b["number"],
                    clock=b["clock"],
                    breached_at=b["at"],
                    owner=b["owner"],
                    reason=b["reason"],
                    note=b["note"],
                    status=status,
                )
            )
    by_reason = sorted(
        (
            ReasonCount(
                reason=r,
                label=config.label("breach_reasons", r) if r != NO_REASON else r,
                breaches=c["breaches"],
                accepted=c["accepted"],
                rejected=c["rejected"],
                unreviewed=c["unreviewed"],
            )
            for r, c in counts.items()
        ),
        key=lambda x: (-x.breaches, x.reason),
    )
    previous, current = _tally(then), _tally(now)
    causes = sorted(
        (
            CauseCount(
                cause=c,
                label=config.label("causes", c) if c != NO_CAUSE else c,
                responsible_department=d,
                count=current.get((c, d), 0),
                previous=previous.get((c, d), 0),
            )
            for c, d in set(current) | set(previous)
        ),
        key=lambda x: (-x.count, -x.change, x.cause, x.responsible_department),
    )
    return WhyReport(
        period=period.label,
        previous_period=before.label,
        breaches=sum(c["breaches"] for c in counts.values()),
        by_reason=by_reason,
        by_owner=[OwnerReasons(owner=o, reasons=dict(r)) for o, r in sorted(owners.items())],
        awaiting_review=waiting,
        unexplained=unexplained,
        causes=causes,
    )


def _tally(rows: Sequence[Any]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        out[(r["cause"], r["department"])] += int(r["n"])
    return out


def reasons_by_group(report: WhyReport, group_of: dict[str, str]) -> dict[str, dict[str, int]]:
    """Breaches by reason per team or department: owners mapped through `group_of`."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o in report.by_owner:
        for reason, n in o.reasons.items():
            out[group_of.get(o.owner, o.owner)][reason] += n
    return {k: dict(v) for k, v in out.items()}
