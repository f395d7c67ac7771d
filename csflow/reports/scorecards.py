"""Scorecards per agent, team and department for any run of days, from the daily rollups.

A day's rollup already holds each agent's additive figures (`report_day_agent_counts`) and
duration samples (`report_day_samples`), attributed by the rules in attribution.py, so a
scorecard over a month reads a few thousand rows per agent-month, never the timeline —
except for open improvement tasks, a point in time (as in the organisation's report).
Teams and departments are sums of their agents (percentiles over the union of their
agents' samples), and the organisation is the sum of everyone, `(unassigned)` included,
so every figure of the organisation equals the weekly report's over the same days.

`assemble` is pure, like metrics.assemble: numbers in, scorecards out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from csflow.reports.attribution import UNASSIGNED
from csflow.reports.metrics import UNENDED, MissingRollup
from csflow.reports.model import PROMISE_CLOCKS, ClockCompliance, DurationStats, Nps, Rate
from csflow.reports.periods import Period
from csflow.reports.rollup import ROLLUP_VERSION, STATEMENT_TIMEOUT, rollup_day

Level = Literal["agent", "team", "department"]
LEVELS: tuple[Level, ...] = ("agent", "team", "department")
NOT_IN_DIRECTORY = "(not in directory)"
MEASURES = ("first_response", "resolution")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scorecard(_Model):
    """One agent's, team's, department's or the whole organisation's figures."""

    level: Literal["agent", "team", "department", "organisation"]
    key: str
    name: str | None = None
    team: str | None = None
    department: str | None = None
    agents: int
    handled: int
    first_response: DurationStats
    resolution: DurationStats
    sla: list[ClockCompliance]
    progress_updates_missed: int
    rehandling: Rate
    first_contact_resolution: Rate
    satisfaction_answers: int
    satisfaction_mean: float | None
    nps: Nps
    follow_up_completion: Rate
    follow_ups_recorded_late: int
    open_improvements: int

    @property
    def sla_compliance(self) -> Rate:
        met = sum(c.met for c in self.sla)
        return Rate(numerator=met, denominator=met + sum(c.breached for c in self.sla))

    def clock(self, name: str) -> ClockCompliance:
        return next(c for c in self.sla if c.clock == name)

    @property
    def handled_per_agent(self) -> float | None:
        return self.handled / self.agents if self.agents else None


class ScorecardReport(_Model):
    kind: Literal["daily", "weekly", "monthly", "range"]
    period: str
    time_zone: str
    start: datetime
    end: datetime
    generated_at: datetime
    organisation: Scorecard
    agents: list[Scorecard]
    teams: list[Scorecard]
    departments: list[Scorecard]

    def level(self, level: Level) -> list[Scorecard]:
        return {"agent": self.agents, "team": self.teams, "department": self.departments}[level]


# ---- ranking: every figure a table can be ranked by ----


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: Callable[[Scorecard], float | None]
    higher_is_better: bool
    unit: Literal["count", "seconds", "rate", "score"] = "count"

    def compare(self, card: Scorecard, org: Scorecard) -> str:
        """'better', 'worse' or '' against the organisation (per agent for counts)."""
        mine = self.value(card)
        theirs = (
            org.handled_per_agent
            if self.key == "handled" and card.level == "agent"
            else self.value(org)
        )
        if mine is None or theirs is None or mine == theirs or self.unit == "count":
            return ""
        return "better" if (mine > theirs) == self.higher_is_better else "worse"


def _duration_of(measure: str, stat: str) -> Callable[[Scorecard], float | None]:
    def value(s: Scorecard) -> float | None:
        v: float | None = getattr(getattr(s, measure), stat)
        return v

    return value


def _clock_of(clock: str) -> Callable[[Scorecard], float | None]:
    return lambda s: s.clock(clock).rate


def _rate_of(get: Callable[[Scorecard], Rate]) -> Callable[[Scorecard], float | None]:
    return lambda s: get(s).rate


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure("handled", "handled", lambda s: s.handled, True),
        *(
            Figure(
                f"{m}_{stat}",
                f"{m.replace('_', ' ')} {stat}",
                _duration_of(m, stat),
                False,
                "seconds",
            )
            for m in MEASURES
            for stat in ("mean", "p50", "p90")
        ),
        *(
            Figure(f"sla_{c}", f"SLA {c.replace('_', ' ')}", _clock_of(c), True, "rate")
            for c in PROMISE_CLOCKS
        ),
        Figure("sla", "SLA all clocks", _rate_of(lambda s: s.sla_compliance), True, "rate"),
        Figure("rehandling", "re-handling", _rate_of(lambda s: s.rehandling), False, "rate"),
        Figure(
            "fcr",
            "first-contact resolution",
            _rate_of(lambda s: s.first_contact_resolution),
            True,
            "rate",
        ),
        Figure("satisfaction", "satisfaction (1–5)", lambda s: s.satisfaction_mean, True, "score"),
        Figure("nps", "NPS", lambda s: s.nps.score, True, "score"),
        Figure(
            "follow_up",
            "follow-ups on time",
            _rate_of(lambda s: s.follow_up_completion),
            True,
            "rate",
        ),
        Figure("open_improvements", "open improvement tasks", lambda s: s.open_improvements, False),
    )
}


def ranked(
    cards: Sequence[Scorecard], figure: str, *, worst_first: bool = False
) -> list[Scorecard]:
    """Best first (or worst first); cards without the figure last, then by key."""
    f = FIGURES[figure]
    flip = f.higher_is_better != worst_first

    def order(s: Scorecard) -> tuple[int, float, str]:
        v = f.value(s)
        if v is None:
            return (1, 0.0, s.key)
        return (0, -v if flip else v, s.key)

    return sorted(cards, key=order)


# ---- inputs ----

Counts = Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class Member:
    name: str | None
    team: str
    department: str


@dataclass(frozen=True)
class Inputs:
    counts: Mapping[str, Counts]  # agent → (metric, key) → n
    samples: Mapping[str, Mapping[str, np.ndarray]]  # agent → measure → seconds
    open_improvements: Mapping[str, int]  # agent → open tasks at the end
    directory: Mapping[str, Member]  # staff id → name, team, department
    staff: Sequence[str]  # handlers in the directory: shown even with nothing counted


COUNTS_SQL = """
SELECT agent, metric, key, sum(n)::bigint AS n FROM report_day_agent_counts
WHERE time_zone = $1 AND day BETWEEN $2 AND $3 GROUP BY agent, metric, key"""

SAMPLES_SQL = """
SELECT key, measure, seconds FROM report_day_samples
WHERE time_zone = $1 AND day BETWEEN $2 AND $3 AND dim = 'agent'"""

# A point in time: tasks open at the end, owned by whose resolution drew them. Only
# requests with no end before `$1` can hold an open task (as in metrics.py).
OPEN_SQL = f"""
{UNENDED}
SELECT t.agent, count(*) AS n
FROM unended q
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT r.actor_id FROM request_events r
                     WHERE r.number = o.number AND r.seq < o.seq
                       AND r.kind = 'resolution_proposed'
                     ORDER BY r.seq DESC LIMIT 1), '{UNASSIGNED}') AS agent
    FROM request_events o
    WHERE o.number = q.number AND o.kind = 'improvement_opened' AND o.at < $1
      AND NOT EXISTS (
          SELECT 1 FROM request_events c
          WHERE c.number = o.number AND c.kind = 'improvement_closed'
            AND c.data ->> 'task_id' = o.data ->> 'task_id' AND c.at < $1)
    OFFSET 0) t
GROUP BY 1"""

STAFF_SQL = """
SELECT id, name, role, department, coalesce(nullif(team, ''), department) AS team FROM staff"""


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
            raise MissingRollup(
                f"{period.label}: {period.length - have} day(s) not rolled up "
                "(or rolled up before scorecards existed)"
            )
        rows = await conn.fetch(COUNTS_SQL, tz, first, last, timeout=STATEMENT_TIMEOUT)
        sample_rows = await conn.fetch(SAMPLES_SQL, tz, first, last, timeout=STATEMENT_TIMEOUT)
        open_rows = await conn.fetch(OPEN_SQL, end, timeout=STATEMENT_TIMEOUT)
        staff_rows = await conn.fetch(STAFF_SQL)
    counts: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for r in rows:
        counts[r["agent"]][(r["metric"], r["key"])] = int(r["n"])
    parts: dict[str, dict[str, list[Sequence[float]]]] = defaultdict(lambda: defaultdict(list))
    for r in sample_rows:
        parts[r["key"]][r["measure"]].append(r["seconds"])
    samples = {
        agent: {m: np.concatenate([np.asarray(p, dtype=float) for p in ps]) for m, ps in by.items()}
        for agent, by in parts.items()
    }
    return Inputs(
        counts=counts,
        samples=samples,
        open_improvements={r["agent"]: int(r["n"]) for r in open_rows},
        directory={r["id"]: Member(r["name"], r["team"], r["department"]) for r in staff_rows},
        staff=[
            r["id"]
            for r in staff_rows
            if r["role"] in ("agent", "engineer", "supervisor", "follow_up")
        ],
    )


# ---- assembly ----


def assemble(period: Period, tz: str, generated_at: datetime, inputs: Inputs) -> ScorecardReport:
    agents = sorted(
        set(inputs.counts) | set(inputs.samples) | set(inputs.open_improvements) | set(inputs.staff)
    )
    member = {a: _member(a, inputs.directory) for a in agents}
    cards = [
        _card(
            "agent",
            a,
            [a],
            inputs,
            name=member[a].name,
            team=member[a].team,
            department=member[a].department,
        )
        for a in agents
    ]

    def grouped(level: Literal["team", "department"]) -> list[Scorecard]:
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for a in agents:
            m = member[a]
            groups[
                (m.team, m.department) if level == "team" else (m.department, m.department)
            ].append(a)
        return [
            _card(
                level, key, members, inputs, team=key if level == "team" else None, department=dept
            )
            for (key, dept), members in sorted(groups.items())
        ]

    start, end = period.bounds(tz)
    return ScorecardReport(
        kind=period.kind,
        period=period.label,
        time_zone=tz,
        start=start,
        end=end,
        generated_at=generated_at,
        organisation=_card("organisation", "all", agents, inputs),
        agents=cards,
        teams=grouped("team"),
        departments=grouped("department"),
    )


def _member(agent: str, directory: Mapping[str, Member]) -> Member:
    if agent == UNASSIGNED:
        return Member(None, UNASSIGNED, UNASSIGNED)
    return directory.get(agent) or Member(None, NOT_IN_DIRECTORY, NOT_IN_DIRECTORY)


def _card(
    level: Literal["agent", "team", "department", "organisation"],
    key: str,
    members: Iterable[str],
    inputs: Inputs,
    **who: Any,
) -> Scorecard:
    members = list(members)
    c: dict[tuple[str, str], int] = defaultdict(int)
    for a in members:
        for k, n in inputs.counts.get(a, {}).items():
            c[k] += n
    scores = {s: c.get(("score", str(s)), 0) for s in range(1, 6)}
    answers = sum(scores.values())
    on_time, missed = c.get(("follow_up", "on_time"), 0), c.get(("follow_up", "missed"), 0)
    return Scorecard(
        level=level,
        key=key,
        **who,
        agents=sum(1 for a in members if a != UNASSIGNED),
        handled=c.get(("handled", ""), 0),
        first_response=_stats(
            key, [inputs.samples.get(a, {}).get("first_response") for a in members]
        ),
        resolution=_stats(key, [inputs.samples.get(a, {}).get("resolution") for a in members]),
        sla=[
            ClockCompliance(
                clock=k, met=c.get(("sla_met", k), 0), breached=c.get(("sla_breached", k), 0)
            )
            for k in PROMISE_CLOCKS
        ],
        progress_updates_missed=c.get(("progress_missed", ""), 0),
        rehandling=Rate(
            numerator=c.get(("rehandling", ""), 0), denominator=c.get(("resolutions", ""), 0)
        ),
        first_contact_resolution=Rate(
            numerator=c.get(("first_contact", ""), 0), denominator=c.get(("accepted", ""), 0)
        ),
        satisfaction_answers=answers,
        satisfaction_mean=(sum(s * n for s, n in scores.items()) / answers if answers else None),
        nps=Nps(
            promoters=c.get(("nps", "promoter"), 0),
            passives=c.get(("nps", "passive"), 0),
            detractors=c.get(("nps", "detractor"), 0),
        ),
        follow_up_completion=Rate(numerator=on_time, denominator=on_time + missed),
        follow_ups_recorded_late=c.get(("follow_up", "late"), 0),
        open_improvements=sum(inputs.open_improvements.get(a, 0) for a in members),
    )


def _stats(key: str, parts: Sequence[np.ndarray | None]) -> DurationStats:
    """Mean and linear-interpolated p50/p90 (PostgreSQL's percentile_cont) over the union."""
    present = [p for p in parts if p is not None and len(p)]
    if not present:
        return DurationStats(priority=key, count=0, mean=None, p50=None, p90=None)
    values = present[0] if len(present) == 1 else np.concatenate(present)
    p50, p90 = np.percentile(values, [50, 90])
    return DurationStats(
        priority=key,
        count=int(values.size),
        mean=float(values.mean()),
        p50=float(p50),
        p90=float(p90),
    )


async def scorecards(pool: Any, period: Period, tz: str, generated_at: datetime) -> ScorecardReport:
    """The scorecards of a period whose days are rolled up (MissingRollup otherwise)."""
    return assemble(period, tz, generated_at, await gather(pool, period, tz))


async def produce(
    pool: Any, period: Period, tz: str, generated_at: datetime, *, refresh: bool = False
) -> ScorecardReport:
    """Roll up the days the period lacks (all of them, with `refresh`), then assemble."""
    for day in period.days:
        await rollup_day(pool, day, tz, force=refresh)
    return await scorecards(pool, period, tz, generated_at)
