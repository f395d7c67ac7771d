"""Synthetic requests with timelines shaped like the workflow's, for the report benchmarks.

Each request gets the events the workflow writes (docs/events.md), with the same `data`
keys, so the rows are the size and the mix real ones are: intake, assignment, the plan
and progress posts, every SLA clock's warnings at 50 % and 75 % of its time and its breach
when it runs out, the escalation ladder's steps (and the reassignment a step makes) while
a breached clock stays unmet, the progress cadence's firings on long requests, waits on
the customer (paused and resumed clocks), resolution, confirmation or re-handling with a
second cycle of clocks, the follow-up with its reminders, a missed deadline, reactivation
and silence for customers who never answer, negative scores opening improvement tasks,
and the end — written only once every improvement task of the request is closed, as the
workflow does (a request with a task still open stays open). About 15 events a request
(`python bench/synthetic.py` prints the mix). Seeded: the same arguments give the same data.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
# The built-in policy (policy.example.toml), in minutes.
FIRST_RESPONSE = {"P1": 15, "P2": 30, "P3": 120}
PLAN = {"P1": 60, "P2": 60, "P3": 120}
RESOLUTION = {"P1": 120, "P2": 240, "P3": 1440}
CADENCE = {"P1": 360, "P2": 360, "P3": 1440}
LADDER = {  # minutes after the breach, action
    "P1": [(15, "notify"), (30, "director_takeover")],
    "P2": [(60, "notify"), (120, "reassign")],
    "P3": [(240, "notify"), (480, "mark_delayed")],
}
WARNING_SHARES = (0.5, 0.75)
FOLLOW_UP = 1440  # the follow-up is due a day after confirmation
REACTIVATION = 2880  # no answer to the questionnaire: a reactivation touch …
SILENCE = 4320  # … then silence closes the request

Event = tuple[str, int, datetime, str, str, str, str | None, str | None, str | None, str]
Request = tuple[Any, ...]
M = timedelta(minutes=1)


@dataclass
class Timeline:
    number: str
    events: list[tuple[datetime, int, str, str, str, str | None, dict[str, Any]]] = field(
        default_factory=list
    )

    def add(
        self,
        at: datetime,
        kind: str,
        actor: str = "system",
        role: str = "system",
        data: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        self.events.append((at, len(self.events), kind, actor, role, reason, data or {}))

    def clock(
        self,
        name: str,
        cycle: int,
        start: datetime,
        minutes: float,
        met: datetime | None,
        priority: str,
        ladder: bool = True,
        cid: str | None = None,
    ) -> None:
        """A clock started at `start`, due `minutes` later, met at `met` (None: never, as
        far as this timeline goes): its warnings, its breach and its ladder steps, each at
        its own instant, as the clock engine fires them."""
        cid = cid or (name if cycle == 1 else f"{name}#{cycle}")
        due = start + minutes * M
        base = {"clock": cid, "name": name, "cycle": cycle, "due_at": due.isoformat()}
        for share in WARNING_SHARES:
            at = start + minutes * share * M
            if met is None or met > at:
                self.add(at, "sla_warning", data=base | {"share": share, "notify": ["owner"]})
        if met is not None and met <= due:
            return
        self.add(due, "sla_breached", data=base | {"notify": ["owner", "explain"]})
        if not ladder:
            return
        for step, (after, action) in enumerate(LADDER[priority], start=1):
            at = due + after * M
            if met is not None and met <= at:
                return
            self.add(
                at,
                "escalation_step",
                data=base
                | {"step": step, "action": action, "notify": ["supervisor"], "channels": ["sms"]},
                reason=f"{cid}: ladder step {step} ({action})",
            )
            if action in ("reassign", "director_takeover"):
                self.add(
                    at,
                    "reassigned",
                    data={"from": "agent", "to": "director", "ladder_step": f"{cid}/{step}"},
                )

    def rows(self) -> list[Event]:
        """In time order, numbered from 1, as the store writes them."""
        ordered = sorted(self.events, key=lambda e: (e[0], e[1]))
        return [
            (self.number, seq, at, kind, actor, role, None, None, reason, json.dumps(data))
            for seq, (at, _, kind, actor, role, reason, data) in enumerate(ordered, start=1)
        ]


def generate(
    count: int,
    start: datetime,
    days: int,
    seed: int = 8,
    batch: int = 20_000,
    agents: int = 300,
    first_index: int = 0,
    now: datetime | None = None,
) -> Iterator[tuple[list[Request], list[Event]]]:
    """Batches of (requests rows, events rows), received uniformly over `days`, handled by
    `agents` agents (`agent-000` …); numbers count from `first_index` (several calls —
    a year of history, then the measured week — give distinct numbers). With `now`, what
    happens after it is not written yet: those requests are still open, as the requests
    in flight at the moment a report runs are."""
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
            req, timeline = _one(rng, first_index + i, received, agents)
            if now is not None:
                req, timeline = _as_of(req, timeline, now)
            requests.append(req)
            events.extend(timeline.rows())
        yield requests, events


def _as_of(req: Request, tl: Timeline, now: datetime) -> tuple[Request, Timeline]:
    tl.events = [e for e in tl.events if e[0] <= now]
    closed_at = req[REQUEST_COLUMNS.index("closed_at")]
    if closed_at is not None and closed_at > now:
        row = list(req)
        row[REQUEST_COLUMNS.index("closed_at")] = None
        row[REQUEST_COLUMNS.index("status")] = "in_progress"
        row[REQUEST_COLUMNS.index("sla_state")] = "green"
        req = tuple(row)
    return req, tl


def _one(rng: random.Random, i: int, t0: datetime, agents: int = 300) -> tuple[Request, Timeline]:
    category = rng.choices(list(CATEGORIES), CATEGORY_WEIGHTS)[0]
    sub_type = rng.choice(CATEGORIES[category])
    channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    priority = rng.choices(["P1", "P2", "P3"], [10, 30, 60])[0]
    number = f"CS{t0:%Y%m%d}-{channel[:3].upper()}-{i:08d}"
    agent = f"agent-{rng.randrange(agents):03d}"
    tl = Timeline(number)
    fr_due = t0 + FIRST_RESPONSE[priority] * M
    received: dict[str, Any] = {
        "channel": channel,
        "category": category,
        "priority": priority,
        "tier": "regular",
        "policy_version": "bench",
        "calendar_version": "bench",
        "deadlines": {
            "first_response": fr_due.isoformat(),
            "plan": (t0 + PLAN[priority] * M).isoformat(),
            "resolution": (t0 + RESOLUTION[priority] * M).isoformat(),
            "progress_cadence#1.1": (t0 + CADENCE[priority] * M).isoformat(),
        },
    }
    if rng.random() < 0.05:
        received["repeat_of"] = [f"CS-EARLIER-{rng.randrange(10**6)}"]
    tl.add(t0, "received", "intake", "service", received)
    department = DEPARTMENTS[category]
    t = t0 + rng.uniform(0.1, 2) * M
    if rng.random() < 0.1:
        tl.add(t, "queued", data={"category": category})
        t += rng.uniform(5, 90) * M
    tl.add(t, "assigned", data={"assignee": agent, "department": department}, reason="skills")
    response = max(t, t0 + rng.expovariate(1 / (FIRST_RESPONSE[priority] * 0.6)) * M)
    tl.clock("first_response", 1, t0, FIRST_RESPONSE[priority], response, priority)
    tl.add(response, "plan_submitted", agent, "agent", {"eta": (response + 240 * M).isoformat()})
    tl.clock("plan", 1, t0, PLAN[priority], response, priority)
    t = response
    if rng.random() < 0.15:  # waiting on the customer: the clocks stop meanwhile
        tl.add(t + 10 * M, "awaiting_customer", agent, "agent", {"question": "order number?"})
        tl.add(t + 10 * M, "clocks_paused", agent, "agent", {"clocks": ["resolution"]})
        t += rng.uniform(20, 300) * M
        tl.add(t, "customer_replied", "customer", "customer", {"channel": channel})
        tl.add(t, "clocks_resumed", "customer", "customer", {"due": {}})
    resolved = t + rng.expovariate(1 / (RESOLUTION[priority] * 0.6)) * M
    _handling(rng, tl, 1, t0, resolved, priority, agent)
    if category == "complaint" and rng.random() < 0.1:
        tl.add(
            t0 + 1440 * M,
            "supervisor_follow_up_missed",
            data={"due_at": (t0 + 1440 * M).isoformat(), "notify": ["supervisor"]},
        )
    tl.add(resolved, "resolution_proposed", agent, "agent", reason="done")
    t = resolved
    cycle = 1
    while rng.random() < (0.12 if cycle == 1 else 0.05):  # re-handled: a new cycle of clocks
        cycle += 1
        t += rng.uniform(60, 600) * M
        tl.add(t, "rehandling_started", "customer", "customer", {"cycle": cycle})
        again = t + rng.expovariate(1 / (RESOLUTION[priority] * 0.5)) * M
        tl.clock("first_response", cycle, t, FIRST_RESPONSE[priority], t + 5 * M, priority)
        _handling(rng, tl, cycle, t, again, priority, agent)
        tl.add(again, "resolution_proposed", agent, "agent", reason="done again")
        t = again
    confirmed = rng.random() < 0.8
    window = 4320  # three days to confirm, then confirmed by timeout
    t += (rng.uniform(10, 2000) if confirmed else window) * M
    tl.add(
        t,
        "customer_confirmed" if confirmed else "confirmed_by_timeout",
        "customer" if confirmed else "system",
        "customer" if confirmed else "system",
        {"evidence_ref": "chat:1"} if confirmed else {"clock": "confirmation"},
    )
    due = t + FOLLOW_UP * M
    tl.add(
        t,
        "follow_up_scheduled",
        data={"due_at": due.isoformat(), "owner": "fu-1", "method": "phone, then questionnaire"},
    )
    fu = {"clock": "follow_up", "due_at": due.isoformat()}
    if rng.random() < 0.1:  # the customer never answers: reactivation, then silence
        for share in WARNING_SHARES:
            tl.add(t + FOLLOW_UP * share * M, "follow_up_reminder", data=fu | {"share": share})
        tl.add(due, "follow_up_missed", data=fu | {"notify": ["supervisor"], "owner": "fu-1"})
        touched = t + REACTIVATION * M
        tl.add(touched, "customer_reactivation", data={"clock": "reactivation"})
        end = touched + SILENCE * M
        tl.add(end, "customer_silent", data={"clock": "silence"})
        tl.add(end, "closed", reason="customer silent after the follow-up")
        return _row(number, t0, category, sub_type, channel, priority, department, end), tl
    answered = t + rng.uniform(60, 1700) * M
    for share in WARNING_SHARES:
        if answered > t + FOLLOW_UP * share * M:
            tl.add(t + FOLLOW_UP * share * M, "follow_up_reminder", data=fu | {"share": share})
    if answered > due:
        tl.add(due, "follow_up_missed", data=fu | {"notify": ["supervisor"], "owner": "fu-1"})
    score = rng.choices([1, 2, 3, 4, 5], [3, 4, 13, 35, 45])[0]
    tl.add(
        answered,
        "follow_up_recorded",
        "fu-1",
        "follow_up",
        {
            "score": score,
            "nps": min(10, max(0, score * 2 + rng.randint(-2, 1))),
            "needs_action": score <= 2,
        },
    )
    end = answered
    if score <= 2:  # the request ends when its improvement task closes
        task = f"{number}-IMP1"
        tl.add(
            answered,
            "improvement_opened",
            data={
                "task_id": task,
                "department": department,
                "due_at": (answered + 4320 * M).isoformat(),
                "notify": ["department_head"],
            },
            reason="ref",
        )
        r = rng.random()  # most close within days, some take weeks, a few months
        days = (
            rng.uniform(0.4, 4)
            if r < 0.9
            else rng.uniform(4, 28)
            if r < 0.97
            else rng.uniform(28, 120)
        )
        end = answered + days * 1440 * M
        tl.add(
            end,
            "improvement_closed",
            data={"task_id": task, "closed_by": "dh-1", "what_changed": "rota", "notify": []},
        )
    tl.add(end, "closed", reason="followed up")
    return _row(number, t0, category, sub_type, channel, priority, department, end), tl


def _handling(
    rng: random.Random,
    tl: Timeline,
    cycle: int,
    start: datetime,
    resolved: datetime,
    priority: str,
    agent: str,
) -> None:
    """One cycle's resolution clock, the progress cadence while it runs, the ETA."""
    tl.clock("resolution", cycle, start, RESOLUTION[priority], resolved, priority)
    cadence, n, t = CADENCE[priority], 1, start
    while True:  # a progress update is due every `cadence` minutes until resolved
        posted = t + rng.uniform(0.3, 1.2) * cadence * M
        name = f"progress_cadence#{cycle}.{n}"
        met = min(posted, resolved)
        tl.clock("progress_cadence", cycle, t, cadence, met, priority, ladder=False, cid=name)
        if posted >= resolved:
            break
        tl.add(posted, "progress_posted", agent, "agent", {"eta": resolved.isoformat()})
        t, n = posted, n + 1
    if rng.random() < 0.05:
        eta = start + RESOLUTION[priority] * 0.8 * M
        if eta < resolved:
            tl.add(eta, "eta_missed", data={"eta": eta.isoformat(), "owner": agent})


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


def mix(count: int = 20_000) -> tuple[float, Counter[str]]:
    """Events per request and the count of each kind over `count` requests."""
    kinds: Counter[str] = Counter()
    n = 0
    for _, events in generate(count, datetime(2026, 1, 5, tzinfo=UTC), 7):
        n += len(events)
        kinds.update(e[3] for e in events)
    return n / count, kinds


if __name__ == "__main__":
    per, kinds = mix(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    print(f"{per:.1f} events per request")
    for kind, k in kinds.most_common():
        print(f"  {kind:28} {k:>8,}")


# ---- loading, shared by bench/weekly_report.py and bench/scorecards.py (the server they
# load into is bench/stack.py's BenchPostgres) ----


async def copy(conn: Any, batches: Iterator[tuple[list[Request], list[Event]]], label: str) -> int:
    """COPY the batches in; returns the requests loaded."""
    loaded = 0
    for requests, events in batches:
        await conn.copy_records_to_table("requests", records=requests, columns=REQUEST_COLUMNS)
        await conn.copy_records_to_table("request_events", records=events, columns=EVENT_COLUMNS)
        loaded += len(requests)
        print(f"\r  {label}: {loaded:>10,} requests", end="", flush=True)
    print()
    return loaded
