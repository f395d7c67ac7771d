"""A small, fixed timeline around ISO week 2026-W47 (Mon 16 – Sun 22 Nov, Asia/Shanghai).

Times are local (UTC+8). Each request's story is written out so the expected figures in
the tests can be worked out by hand from this page; the comments say what each event is
there to exercise.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

SHANGHAI = timezone(timedelta(hours=8))
TZ = "Asia/Shanghai"
WEEK = "2026-W47"


def local(text: str, month: tuple[int, int] = (2026, 11)) -> datetime:
    """'16 09:10' → 2026-11-16 09:10 Shanghai: day numbers are days of `month`."""
    day, hm = text.split()
    h, m = hm.split(":")
    return datetime(*month, int(day), int(h), int(m), tzinfo=SHANGHAI)


@dataclass
class Req:
    number: str
    received: str
    category: str
    sub_type: str | None
    channel: str
    priority: str
    events: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    repeat_of: list[str] | None = None

    def on(self, at: str, kind: str, actor: str = "system", **data: Any) -> Req:
        self.events.append((at, kind, actor, data))
        return self


def breach(clock: str, due: str, cycle: int = 1) -> dict[str, Any]:
    return {
        "clock": clock if cycle == 1 else f"{clock}#{cycle}",
        "name": clock,
        "cycle": cycle,
        "due_at": local(due).isoformat(),
    }


def requests() -> list[Req]:
    r0 = (
        Req("R0", "13 10:00", "complaint", "logistics", "phone", "P2")  # the week before
        .on("13 10:00", "assigned", department="logistics", assignee="a1")
        .on("13 11:00", "resolution_proposed", "a1")
        .on("13 12:00", "customer_confirmed")
        .on("13 12:00", "follow_up_scheduled", due_at=local("16 12:00").isoformat())
        .on("13 16:00", "improvement_opened", task_id="R0-IMP1", department="billing")
        .on("13 16:00", "improvement_opened", task_id="R0-IMP2", department="billing")
        .on("13 16:00", "improvement_opened", task_id="R0-IMP3", department="billing")
        .on("16 11:00", "follow_up_recorded", score=5, nps=9)  # on time; 9 = promoter
        .on("18 10:00", "improvement_closed", task_id="R0-IMP1")
        .on("24 10:00", "improvement_closed", task_id="R0-IMP3")
    )  # after the week
    r1 = (
        Req("R1", "16 09:00", "complaint", "logistics", "phone", "P1")
        .on("16 09:00", "assigned", department="logistics", assignee="a1")
        .on("16 09:10", "plan_submitted", "a1")
        .on("16 10:30", "resolution_proposed", "a1")
        .on("16 11:00", "customer_confirmed")
        .on("16 11:00", "follow_up_scheduled", due_at=local("17 11:00").isoformat())
        .on("17 10:00", "follow_up_recorded", score=5, nps=10)
        .on("17 10:00", "closed")
    )
    r2 = (
        Req("R2", "16 10:00", "complaint", "logistics", "web", "P2", repeat_of=["R0"])
        .on("16 10:00", "assigned", department="logistics", assignee="a2")
        .on("16 10:30", "sla_breached", **breach("first_response", "16 10:30"))
        .on("16 10:45", "progress_posted", "a2")
        .on("16 11:00", "sla_breached", **breach("plan", "16 11:00"))
        .on("16 11:30", "clocks_paused", "a2")
        .on("16 12:30", "clocks_resumed", "customer")
        .on("16 13:00", "plan_submitted", "a2")
        .on("16 13:30", "reassigned", "s1", to="a3", department="logistics")  # a transfer
        .on("16 14:00", "sla_breached", **breach("resolution", "16 14:00"))
        .on("16 15:00", "resolution_proposed", "a3")
        .on("17 09:00", "rehandling_started", "customer", cycle=2)
        .on("17 12:00", "resolution_proposed", "a3")  # cycle 2: met
        .on("17 13:00", "customer_confirmed")
        .on("17 13:00", "follow_up_scheduled", due_at=local("18 13:00").isoformat())
        .on("18 13:00", "follow_up_missed", due_at=local("18 13:00").isoformat())
        .on("19 10:00", "follow_up_recorded", score=2, nps=6)  # late; 6 = detractor
        .on("19 10:00", "improvement_opened", task_id="R2-IMP1", department="logistics")
    )
    r3 = (
        Req("R3", "17 14:00", "consultation", "billing", "chat", "P3")
        .on("17 14:00", "assigned", department="billing", assignee="e1")
        .on("17 14:20", "awaiting_customer", "e1")
        .on("17 14:50", "customer_replied", "customer")
        .on("17 15:20", "resolution_proposed", "e1")
        .on("20 15:20", "confirmed_by_timeout")
        .on("20 15:20", "follow_up_scheduled", due_at=local("23 15:20").isoformat())
    )
    r4 = (
        Req("R4", "18 08:00", "after_sales", "repair", "phone", "P1")
        .on("18 08:00", "assigned", department="repair", assignee="a1")
        .on("18 08:15", "sla_breached", **breach("first_response", "18 08:15"))
        .on("18 08:20", "plan_submitted", "a1")
        .on(
            "18 09:00",
            "assigned",
            department="engineering",  # not the first: ignored
            assignee="e1",
        )
        .on("18 10:00", "sla_breached", **breach("resolution", "18 10:00"))
        .on("18 14:00", "sla_breached", **breach("progress_cadence", "18 14:00"))
    )
    r5 = (
        Req("R5", "19 09:00", "complaint", "service_attitude", "email", "P2")
        .on("19 09:00", "queued")
        .on("19 09:30", "sla_breached", **breach("first_response", "19 09:30"))
        .on("20 09:00", "assigned", department="customer-service", assignee="a3")
        .on("20 09:30", "progress_posted", "a3")
    )
    r6 = (
        Req("R6", "21 20:00", "suggestion", None, "app", "P3")
        .on("21 20:00", "assigned", department="product", assignee="a2")
        .on("21 21:00", "cancelled", "customer")
    )
    r7 = (
        Req("R7", "22 23:30", "complaint", "logistics", "phone", "P3")  # 15:30 UTC Sunday
        .on("22 23:30", "queued")
        .on("22 23:45", "assigned", department="logistics", assignee="a1")
    )
    r8 = Req("R8", "23 00:10", "complaint", "logistics", "web", "P2").on(  # Sunday in UTC only
        "23 00:10", "assigned", department="logistics", assignee="a2"
    )
    r9 = (
        Req("R9", "12 10:00", "consultation", "billing", "chat", "P3")  # the week before
        .on("12 10:00", "assigned", department="billing", assignee="e1")
        .on("12 10:30", "plan_submitted", "e1")
        .on("13 10:00", "sla_breached", **breach("resolution", "13 10:00"))
        .on("16 10:00", "resolution_proposed", "e1")  # breached last week: not met
        .on("17 10:00", "customer_confirmed")
        .on("17 10:00", "follow_up_scheduled", due_at=local("18 12:00").isoformat(), owner="f1")
        .on("18 11:00", "follow_up_recorded", "f1", score=4, nps=7)
    )  # on time; 7 = passive
    return [r0, r1, r2, r3, r4, r5, r6, r7, r8, r9]


_ROLES = {
    "a": "agent",
    "e": "engineer",
    "f": "follow_up",
    "s": "supervisor",
    "customer": "customer",
    "system": "system",
}

# The staff directory of the scorecards: a3 and f1 have no team (their department's
# name stands in), a4 handled nothing in the week (a row of zeros), s1 is the supervisor
# who transferred R2.
STAFF = [
    ("a1", "Ann", "agent", "customer-service", "logistics-A"),
    ("a2", "Bo", "agent", "customer-service", "logistics-A"),
    ("a3", "Cai", "agent", "customer-service", None),
    ("a4", "Dan", "agent", "customer-service", "logistics-A"),
    ("e1", "Eve", "engineer", "engineering", "repair-1"),
    ("f1", "Fay", "follow_up", "follow-up", None),
    ("s1", "Sam", "supervisor", "customer-service", "logistics-A"),
]


async def insert_staff(pool: Any) -> None:
    await pool.executemany(
        "INSERT INTO staff (id, name, role, department, team) VALUES ($1, $2, $3, $4, $5)", STAFF
    )


async def insert(
    pool: Any, reqs: list[Req] | None = None, month: tuple[int, int] = (2026, 11)
) -> None:
    """Write the requests and their timelines the way the store does (seq from 1)."""
    for r in reqs or requests():
        await pool.execute(
            """INSERT INTO requests (number, customer_id, customer_name, customer_contact,
                   customer_tier, channel, category, sub_type, description, received_at,
                   status, priority, sla_state, version)
               VALUES ($1, 'C-1', 'Li Lei', '{}', 'regular', $2, $3, $4, 'text', $5,
                       'received', $6, 'green', 1)""",
            r.number,
            r.channel,
            r.category,
            r.sub_type,
            local(r.received, month),
            r.priority,
        )
        received: dict[str, Any] = {
            "channel": r.channel,
            "category": r.category,
            "priority": r.priority,
            "tier": "regular",
        }
        if r.repeat_of:
            received["repeat_of"] = r.repeat_of
        timeline = [(r.received, "received", "system", received), *r.events]
        seq = itertools.count(1)
        await pool.executemany(
            """INSERT INTO request_events (number, seq, at, kind, actor_id, actor_role, data)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            [
                (r.number, next(seq), local(at, month), kind, actor, _role(actor), data)
                for at, kind, actor, data in timeline
            ],
        )


def _role(actor: str) -> str:
    return _ROLES.get(actor, _ROLES.get(actor[0], "system"))
