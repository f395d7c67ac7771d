"""The live board: open requests by SLA colour, priority and assignee, soonest deadline first.

Unlike the reports, the board shows *now*, so it reads the live `requests` row the
workflow keeps current (colour, next deadline, assignee) — through the partial index on
open requests, so a million closed ones cost nothing. Filters apply to the counts as well
as the list: a supervisor filtering to P1 sees the P1 picture everywhere on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from csflow.reports import charts
from csflow.store.listing import like_fragment

COLOURS = ("red", "yellow", "green", "none")
UNASSIGNED = "(unassigned)"
LIMIT = 300


@dataclass(frozen=True)
class BoardFilter:
    colour: str | None = None
    priority: str | None = None
    assignee: str | None = None
    category: str | None = None
    q: str | None = None

    def params(self) -> list[Any]:
        q = None
        if self.q:
            q = like_fragment(self.q)
        # '' selects requests nobody holds; None means "any assignee".
        assignee = "" if self.assignee == UNASSIGNED else (self.assignee or None)
        return [self.colour or None, self.priority or None, assignee, self.category or None, q]


_WHERE = """closed_at IS NULL
  AND ($1::text IS NULL OR sla_state = $1)
  AND ($2::text IS NULL OR priority = $2)
  AND ($3::text IS NULL OR coalesce(assignee, '') = $3)
  AND ($4::text IS NULL OR category = $4)
  AND ($5::text IS NULL OR number ILIKE $5 OR coalesce(assignee, '') ILIKE $5
       OR coalesce(sub_type, '') ILIKE $5 OR customer_id ILIKE $5 OR category ILIKE $5
       OR status ILIKE $5)"""


class BoardItem(BaseModel):
    number: str
    status: str
    priority: str
    category: str
    sub_type: str | None
    channel: str
    tier: str
    assignee: str | None
    sla_state: str
    next_deadline: datetime | None
    seconds_left: float | None
    delayed: bool
    escalated_to: str | None
    awaiting_customer: bool
    upset: bool = False  # emotion triage flagged the customer: answer first, gently


class ColourCounts(BaseModel):
    key: str
    red: int = 0
    yellow: int = 0
    green: int = 0
    none: int = 0

    @property
    def total(self) -> int:
        return self.red + self.yellow + self.green + self.none


class Board(BaseModel):
    now: datetime
    total: int
    colours: ColourCounts
    by_priority: list[ColourCounts]
    by_assignee: list[ColourCounts]
    items: list[BoardItem]
    chart_svg: str
    # Set when the business calendar's holiday data runs out within 60 days (or has).
    calendar_warning: str | None = None


async def load(pool: Any, f: BoardFilter, now: datetime, limit: int = LIMIT) -> Board:
    args = f.params()
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"""SELECT number, status, priority, category, sub_type, channel, customer_tier,
                       assignee, sla_state, next_deadline, delayed, escalated_to,
                       awaiting_customer, 'soothe_first' = ANY(flags) AS upset
                FROM requests WHERE {_WHERE}
                ORDER BY CASE sla_state WHEN 'red' THEN 0 WHEN 'yellow' THEN 1
                                        WHEN 'green' THEN 2 ELSE 3 END,
                         priority, next_deadline NULLS LAST, number
                LIMIT $6""",
            *args,
            limit,
        )
        groups = await conn.fetch(
            f"""SELECT GROUPING(priority) = 1 AS per_assignee, priority,
                       coalesce(assignee, '') AS holder, sla_state, count(*) AS n
                FROM requests WHERE {_WHERE}
                GROUP BY GROUPING SETS ((priority, sla_state),
                                       (coalesce(assignee, ''), sla_state))""",
            *args,
        )
    by_priority: dict[str, ColourCounts] = {}
    by_assignee: dict[str, ColourCounts] = {}
    overall = ColourCounts(key="all")
    for g in groups:
        colour = g["sla_state"] if g["sla_state"] in COLOURS else "none"
        if not g["per_assignee"]:
            row = by_priority.setdefault(g["priority"], ColourCounts(key=g["priority"]))
            setattr(overall, colour, getattr(overall, colour) + g["n"])
        else:
            name = g["holder"] or UNASSIGNED
            row = by_assignee.setdefault(name, ColourCounts(key=name))
        setattr(row, colour, getattr(row, colour) + g["n"])
    priorities = [by_priority[p] for p in sorted(by_priority)]
    assignees = sorted(by_assignee.values(), key=lambda c: (-c.red, -c.yellow, -c.total, c.key))
    return Board(
        now=now,
        total=overall.total,
        colours=overall,
        by_priority=priorities,
        by_assignee=assignees,
        items=[_item(r, now) for r in rows],
        chart_svg=charts.stacked(
            [(c.key, [(k, getattr(c, k)) for k in COLOURS]) for c in priorities]
        ),
    )


def _item(r: Any, now: datetime) -> BoardItem:
    deadline = r["next_deadline"]
    return BoardItem(
        number=r["number"],
        status=r["status"],
        priority=r["priority"],
        category=r["category"],
        sub_type=r["sub_type"],
        channel=r["channel"],
        tier=r["customer_tier"],
        assignee=r["assignee"],
        sla_state=r["sla_state"],
        next_deadline=deadline,
        seconds_left=(deadline - now).total_seconds() if deadline else None,
        delayed=r["delayed"],
        escalated_to=r["escalated_to"],
        awaiting_customer=r["awaiting_customer"],
        upset=r["upset"],
    )
