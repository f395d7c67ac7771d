"""In-memory stand-ins for the activities, registered under the real activity names.

Workflow tests check orchestration; the real activities are tested against a real
PostgreSQL in tests/activities, tests/store and tests/api.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from csflow.activity_io import (
    FollowUpPlan,
    LinkedRequestInput,
    PlanFollowUpInput,
    RecordEvents,
    ReleaseInput,
    TransferInput,
    TransferResult,
    Triage,
    TriageInput,
    Written,
)
from csflow.contracts import ImprovementRow
from csflow.domain.org import Organisation, recipients, resolve
from csflow.domain.org_routes import EscalationRoute, EscalationRouteInput, RoutedRecipient
from csflow.domain.routing import requirement
from csflow.notify.models import CompactNotification, Notification, NotifyResult


@dataclass
class FakeStore:
    batches: list[RecordEvents] = field(default_factory=list)
    calls: int = 0
    refuse_next: int = 0  # how many calls the "database" refuses outright
    set_aside: int = 1  # how many parts a salvage write sets aside
    salvaged: list[RecordEvents] = field(default_factory=list)
    slow_writes: list[float] = field(default_factory=list)  # seconds the next writes take
    # Seconds the next writes report committing after they really did: a worker that
    # dispatched them that much later than the workflow's clock counts.
    late_stamps: list[float] = field(default_factory=list)
    # Where the messages a write carries go (patch `messages-in-the-write`): the world
    # points it at FakeNotify.sent, so a test sees every message whichever way it went.
    outbox: list[Notification] = field(default_factory=list)

    @activity.defn(name="record_events")
    async def record_events(self, batch: RecordEvents) -> int | Written:
        self.calls += 1
        if self.slow_writes and not batch.salvage:
            await asyncio.sleep(self.slow_writes.pop(0))
        if batch.salvage:  # stores what it can, never refused
            self.salvaged.append(batch)
            self.batches.append(batch)
            return self.set_aside
        if self.refuse_next > 0:
            self.refuse_next -= 1
            raise ApplicationError("refused by the database", type="DataError", non_retryable=True)
        self.batches.append(batch)
        self.outbox.extend(m.full() for m in batch.messages)
        written = Written.now()
        if self.late_stamps:
            written.at += timedelta(seconds=self.late_stamps.pop(0))
        return written

    def seqs(self, number: str) -> list[int]:
        return [e.seq for b in self.batches if b.request_number == number for e in b.events]

    def kinds(self, number: str) -> list[str]:
        return [e.kind for b in self.batches if b.request_number == number for e in b.events]


@dataclass
class FakeAssignment:
    """Desk routing from the real rule; knobs for the queue, repeats and full staff."""

    queue: bool = False
    repeat_of: list[str] = field(default_factory=list)
    emotion: list[str] = field(default_factory=list)
    full: set[str] = field(default_factory=set)
    released: list[str] = field(default_factory=list)
    # The organisation and who is on duty, for `route_escalation` (the real resolver).
    org: Organisation = field(default_factory=Organisation)
    on_duty: set[str] = field(default_factory=set)
    seniors: list[str] = field(default_factory=list)  # what `reassign` finds, in order
    routes: list[EscalationRouteInput] = field(default_factory=list)
    holder: tuple[str, str] | None = None  # (staff id, department) triage assigns to
    teams: dict[str, str] = field(default_factory=dict)  # the staff directory's `team`

    def team(self, staff_id: str | None) -> str | None:
        """The holder's team as the real activity finds it: the chart's, else the
        directory's (csflow/services/assignment.py `holder_team`)."""
        found = self.org.team_of(staff_id)
        return found[1] if found else self.teams.get(staff_id or "")

    @activity.defn(name="triage")
    async def triage(self, inp: TriageInput) -> Triage:
        priority = inp.priority.raised() if self.repeat_of else inp.priority
        need = requirement(
            inp.category,
            inp.sub_type,
            priority,
            inp.tier,
            bool(self.repeat_of),
            upset=bool(self.emotion),
        )
        if self.queue:
            return Triage(
                emotion=self.emotion,
                repeat_of=self.repeat_of,
                rule=f"nobody free with {need.why}: queued",
            )
        who, dept = self.holder or (need.desk, "service")
        return Triage(
            emotion=self.emotion,
            repeat_of=self.repeat_of,
            assignee=who,
            department=dept,
            team=self.team(who),
            rule=f"{need.why} → {who}",
        )

    @activity.defn(name="transfer_assignment")
    async def transfer(self, inp: TransferInput) -> TransferResult:
        target = inp.to_staff or f"{inp.to_department}-lead"
        if target in self.full:
            return TransferResult(assignee=None, rule=f"{target} is at capacity (5/5)")
        found = self.org.team_of(target)
        return TransferResult(
            assignee=target,
            department=inp.to_department or (found[0] if found else "service"),
            team=self.team(target),
            rule=f"handed to {target}",
        )

    @activity.defn(name="release_assignment")
    async def release(self, inp: ReleaseInput) -> list[str]:
        self.released.append(inp.number)
        return []

    @activity.defn(name="route_escalation")
    async def route_escalation(self, inp: EscalationRouteInput) -> EscalationRoute:
        self.routes.append(inp)
        found = recipients(
            self.org,
            inp.roles,
            department=inp.department,
            assignee=inp.assignee,
            on_duty=self.on_duty.__contains__,
        )
        route = EscalationRoute(
            recipients=[RoutedRecipient(role=r.role, staff_id=r.staff_id, via=r.via) for r in found]
        )
        if inp.action == "director_takeover":
            d = resolve(
                self.org,
                "director",
                department=inp.department,
                assignee=inp.assignee,
                on_duty=self.on_duty.__contains__,
            )
            route.assignee, route.department = d.staff_id, inp.department
            route.rule = f"director takeover → {d.staff_id}"
        elif inp.action == "reassign" and self.seniors:
            route.assignee, route.department = self.seniors[0], inp.department
            route.team = self.team(self.seniors[0])
            route.rule = f"ladder reassign → {self.seniors[0]}"
        return route


@dataclass
class FakeFollowUp:
    improvements: dict[str, ImprovementRow] = field(default_factory=dict)
    linked: list[LinkedRequestInput] = field(default_factory=list)

    @activity.defn(name="plan_follow_up")
    async def plan_follow_up(self, inp: PlanFollowUpInput) -> FollowUpPlan:
        return FollowUpPlan(
            owner="fu.lin", survey_url=f"http://csflow.test/survey/{inp.number}.{inp.cycle}"
        )

    @activity.defn(name="open_linked_request")
    async def open_linked_request(self, inp: LinkedRequestInput) -> str:
        self.linked.append(inp)
        return f"{inp.parent}-N{inp.index}"

    @activity.defn(name="save_improvement")
    async def save_improvement(self, row: ImprovementRow) -> None:
        self.improvements[row.task_id] = row


@dataclass
class FakeNotify:
    sent: list[Notification] = field(default_factory=list)

    @activity.defn(name="send_notification")
    async def send(
        self, n: Notification | CompactNotification | list[CompactNotification]
    ) -> NotifyResult | None:
        """As the real activity: a whole message is answered with its result; compact
        ones (patch `compact-terms-and-messages`) are rebuilt — what the sender sends —
        and answered with nothing."""
        if isinstance(n, Notification):
            self.sent.append(n)
            return NotifyResult(key=n.key, status="sent", channel="log")
        self.sent.extend(m.full() for m in (n if isinstance(n, list) else [n]))
        return None
