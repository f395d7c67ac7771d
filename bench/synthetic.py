"""Synthetic requests with plausible timelines, for the report benchmark.

Each request gets the events a real one would (docs/events.md): intake, assignment,
responses, SLA warnings and breaches, waits on the customer, resolution, confirmation or
re-handling, the follow-up and sometimes an improvement task — about a dozen events per
request, with the same `data` keys the workflow writes, so the rows are the size real ones
are. Seeded: the same arguments give the same data.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CATEGORIES: dict[str, list[str | None]] = {
    "complaint": [
        "logistics",
        "product_quality",
        "billing_dispute",
        "service_attitude",
        "waiting_time",
    ],
    "consultation": ["billing", "product", "account"],
    "after_sales": ["repair", "return", "exchange", "malfunction"],
    "suggestion": [None, "product", "app"],
}
CATEGORY_WEIGHTS = [35, 35, 22, 8]
CHANNELS = ["phone", "chat", "email", "app", "social", "web"]
CHANNEL_WEIGHTS = [30, 25, 10, 15, 5, 15]
DEPARTMENTS = {
    "complaint": "customer-service",
    "consultation": "front-desk",
    "after_sales": "after-sales",
    "suggestion": "product",
}
FIRST_RESPONSE = {"P1": 15, "P2": 30, "P3": 120}  # minutes
RESOLUTION = {"P1": 120, "P2": 240, "P3": 1440}

Event = tuple[str, int, datetime, str, str, str, str | None, str | None, str | None, str]
Request = tuple[Any, ...]


@dataclass
class Timeline:
    number: str
    events: list[Event]

    def add(
        self,
        at: datetime,
        kind: str,
        actor: str = "system",
        role: str = "system",
        data: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        self.events.append(
            (
                self.number,
                len(self.events) + 1,
                at,
                kind,
                actor,
                role,
                None,
                None,
                reason,
                json.dumps(data or {}),
            )
        )


def generate(
    count: int, start: datetime, days: int, seed: int = 8, batch: int = 20_000, agents: int = 300
) -> Iterator[tuple[list[Request], list[Event]]]:
    """Batches of (requests rows, events rows), received uniformly over `days`, handled by
    `agents` agents (`agent-000` …)."""
    rng = random.Random(seed)
    # Received in time order, as a live system writes them: a day's events sit together
    # in the table, as they would in production (random order would scatter every day
    # over the whole table and measure a layout no real database has).
    offsets = sorted(rng.random() * days * 86400 for _ in range(count))
    for first in range(0, count, batch):
        requests: list[Request] = []
        events: list[Event] = []
        for i in range(first, min(count, first + batch)):
            received = start + timedelta(seconds=offsets[i])
            req, timeline = _one(rng, i, received, agents)
            requests.append(req)
            events.extend(timeline.events)
        yield requests, events


def _one(rng: random.Random, i: int, t0: datetime, agents: int = 300) -> tuple[Request, Timeline]:
    category = rng.choices(list(CATEGORIES), CATEGORY_WEIGHTS)[0]
    sub_type = rng.choice(CATEGORIES[category])
    channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    priority = rng.choices(["P1", "P2", "P3"], [10, 30, 60])[0]
    number = f"CS{t0:%Y%m%d}-{channel[:3].upper()}-{i:07d}"
    agent = f"agent-{rng.randrange(agents):03d}"
    tl = Timeline(number, [])
    m = timedelta(minutes=1)
    fr_due, res_due = t0 + FIRST_RESPONSE[priority] * m, t0 + RESOLUTION[priority] * m
    received: dict[str, Any] = {
        "channel": channel,
        "category": category,
        "priority": priority,
        "tier": "regular",
        "policy_version": "bench",
        "calendar_version": "bench",
        "deadlines": {
            "first_response": fr_due.isoformat(),
            "plan": (t0 + 60 * m).isoformat(),
            "resolution": res_due.isoformat(),
            "progress_cadence#1.1": (t0 + 360 * m).isoformat(),
        },
    }
    if rng.random() < 0.05:
        received["repeat_of"] = [f"CS-EARLIER-{rng.randrange(10**6)}"]
    tl.add(t0, "received", "intake", "service", received)
    department = DEPARTMENTS[category]
    t = t0 + rng.uniform(0.1, 2) * m
    if rng.random() < 0.1:
        tl.add(t, "queued", data={"category": category})
        t += rng.uniform(5, 90) * m
    tl.add(t, "assigned", data={"assignee": agent, "department": department}, reason="skills")
    closed_at = None
    response_in = rng.expovariate(1 / (FIRST_RESPONSE[priority] * 0.8)) * m
    if rng.random() < 0.08:  # still waiting for anyone to answer
        if t0 + response_in > fr_due:
            tl.add(fr_due, "sla_breached", data=_clock("first_response", fr_due))
        return _row(number, t0, category, sub_type, channel, priority, department, None), tl
    if t0 + response_in > fr_due:
        tl.add(fr_due, "sla_breached", data=_clock("first_response", fr_due))
    t = max(t, t0 + response_in)
    tl.add(
        t,
        rng.choice(["plan_submitted", "plan_submitted", "progress_posted"]),
        agent,
        "agent",
        {"eta": (t + 240 * m).isoformat()},
    )
    if rng.random() < 0.1:
        tl.add(t + 10 * m, "clocks_paused", agent, "agent", {"clocks": ["resolution"]})
        t += rng.uniform(20, 300) * m
        tl.add(t, "clocks_resumed", "customer", "customer", {"due": {}})
    t += rng.expovariate(1 / (RESOLUTION[priority] * 0.7)) * m
    if t > res_due:
        tl.add(res_due, "sla_breached", data=_clock("resolution", res_due))
    if rng.random() < 0.5:
        tl.add(t - 5 * m, "progress_posted", agent, "agent", {"eta": t.isoformat()})
    tl.add(t, "resolution_proposed", agent, "agent", reason="done")
    if rng.random() < 0.12:
        t += rng.uniform(60, 600) * m
        tl.add(t, "rehandling_started", "customer", "customer", {"cycle": 2})
        t += rng.uniform(30, 300) * m
        tl.add(t, "resolution_proposed", agent, "agent", reason="done again")
    confirm = rng.random()
    t += rng.uniform(10, 2000) * m
    tl.add(
        t,
        "customer_confirmed" if confirm < 0.8 else "confirmed_by_timeout",
        "customer",
        "customer",
        {"evidence_ref": "chat:1"},
    )
    due = t + 1440 * m
    tl.add(
        t,
        "follow_up_scheduled",
        data={"due_at": due.isoformat(), "owner": "fu-1", "method": "phone, then questionnaire"},
    )
    if rng.random() < 0.85:
        t += rng.uniform(60, 1700) * m
        if t > due:
            tl.add(due, "follow_up_missed", data={"due_at": due.isoformat()})
        score = rng.choices([1, 2, 3, 4, 5], [3, 4, 13, 35, 45])[0]
        tl.add(
            t,
            "follow_up_recorded",
            "fu-1",
            "follow_up",
            {
                "score": score,
                "nps": min(10, max(0, score * 2 + rng.randint(-2, 1))),
                "needs_action": score <= 2,
            },
        )
        if score <= 2:
            task = f"{number}-IMP1"
            tl.add(
                t,
                "improvement_opened",
                data={
                    "task_id": task,
                    "department": department,
                    "due_at": (t + 4320 * m).isoformat(),
                },
            )
            if rng.random() < 0.5:
                t += rng.uniform(600, 4000) * m
                tl.add(t, "improvement_closed", data={"task_id": task})
    else:
        tl.add(due, "follow_up_missed", data={"due_at": due.isoformat()})
    tl.add(t, "closed", reason="followed up")
    closed_at = t
    return _row(number, t0, category, sub_type, channel, priority, department, closed_at), tl


def _clock(name: str, due: datetime) -> dict[str, Any]:
    return {"clock": name, "name": name, "cycle": 1, "due_at": due.isoformat(), "notify": ["owner"]}


def _row(
    number: str,
    t0: datetime,
    category: str,
    sub_type: str | None,
    channel: str,
    priority: str,
    department: str,
    closed_at: datetime | None,
) -> Request:
    status = "closed" if closed_at else "in_progress"
    return (
        number,
        f"C-{int(number[-7:]) % 200_000}",
        "Customer",
        '{"phone": "x"}',
        "regular",
        channel,
        category,
        sub_type,
        "synthetic",
        t0,
        status,
        priority,
        "none" if closed_at else "green",
        closed_at,
        department,
        1,
    )


REQUEST_COLUMNS = [
    "number",
    "customer_id",
    "customer_name",
    "customer_contact",
    "customer_tier",
    "channel",
    "category",
    "sub_type",
    "description",
    "received_at",
    "status",
    "priority",
    "sla_state",
    "closed_at",
    "department",
    "version",
]
EVENT_COLUMNS = [
    "number",
    "seq",
    "at",
    "kind",
    "actor_id",
    "actor_role",
    "status_from",
    "status_to",
    "reason",
    "data",
]
