"""Every change to a request's state, as pure functions of (timeline, terms, input, now).

The only code that moves a request's status — always through `Timeline.append`, so each
move is an audited event with status_from/status_to. No workflow API here: the workflow
passes `now` (workflow.now(), or a firing's exact instant) and the results of any activity
it called, which is what makes these testable without a server and a replay identical.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from csflow.activity_io import TransferResult, Triage
from csflow.contracts import (
    SYSTEM,
    Actor,
    AssignmentMade,
    ChangePriorityCommand,
    Compensation,
    CompensationDecision,
    CompensationRequest,
    ConfirmCommand,
    CustomerRepliedCommand,
    EscalateCommand,
    ExplainBreachCommand,
    OrderRehandlingCommand,
    Plan,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    RecordCauseCommand,
    RequestState,
    ResolveCommand,
    ReviewBreachCommand,
    ServiceRequestInput,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain import clocks
from csflow.domain.codes import Priority, Role
from csflow.domain.escalation import EscalationAction
from csflow.domain.events import EventKind
from csflow.domain.lifecycle import Status
from csflow.domain.terms import ClockName, DeadlineName, RequestTerms
from workflows.service_request.timeline import Timeline

SLA_CLOCKS: tuple[ClockName, ...] = ("first_response", "plan", "resolution", "progress_cadence")
PROMISE_CLOCKS = frozenset({"first_response", "plan", "resolution"})
AFTER_RESOLUTION = frozenset({"confirmation", "follow_up", "reactivation", "silence"})
INTAKE_ACTOR = Actor(id="intake", role=Role.SERVICE)
DIRECTOR = "director"
DEFAULT_DEPARTMENT = "customer-service"
_OPEN_WORK = (Status.ASSIGNED, Status.IN_PROGRESS, Status.REHANDLING)
_RELEASED = (Status.RESOLVED, Status.FOLLOW_UP_SCHEDULED, Status.FOLLOWED_UP)
_GRANTS = frozenset({EventKind.COMPENSATION_GRANTED, EventKind.COMPENSATION_APPROVED})


# ---- the state at receipt ----


def new_state(inp: ServiceRequestInput, terms: RequestTerms | None) -> RequestState:
    """The state at receipt; without terms yet, no clocks until `run` resolves them."""
    intake, start = inp.intake, inp.received_at
    return RequestState(
        number=inp.number,
        status=Status.RECEIVED,
        priority=intake.priority,
        category=intake.category,
        channel=intake.channel,
        tier=intake.customer.tier,
        customer_id=intake.customer.id,
        received_at=start,
        policy_version=terms.policy_version if terms else "",
        clocks=sla_clocks(inp, terms) if terms else [],
    )


def sla_clocks(inp: ServiceRequestInput, terms: RequestTerms) -> list[clocks.Clock]:
    """Every SLA clock runs from receipt, whenever the terms became known; the customer is
    owed a progress update one cadence after receipt."""
    return [
        clocks.start(name, 1, terms, inp.intake.priority, inp.received_at) for name in SLA_CLOCKS
    ]


def adopt_terms(s: RequestState, inp: ServiceRequestInput, terms: RequestTerms) -> None:
    s.policy_version = terms.policy_version
    s.clocks = sla_clocks(inp, terms)


# ---- clocks ----


def start_clock(s: RequestState, t: RequestTerms, name: ClockName, now: datetime) -> None:
    clock = clocks.start(name, s.sla_cycle, t, s.priority, now)
    same = [c for c in s.clocks if c.name == name and c.cycle == s.sla_cycle]
    if name == "progress_cadence":  # one per cadence period: progress_cadence#<cycle>.<n>
        clock.id = f"{name}#{s.sla_cycle}.{len(same) + 1}"
    if s.awaiting_customer and t.pause_when_awaiting_customer:
        clocks.pause(clock, t.calendar, now)
    s.clocks.append(clock)


def satisfy(s: RequestState, t: RequestTerms, now: datetime, *names: DeadlineName) -> None:
    for c in s.clocks:
        if c.name in names:
            clocks.satisfy(c, t.calendar, now)


def stop_clocks(s: RequestState, t: RequestTerms, now: datetime) -> None:
    for c in s.clocks:
        clocks.stop(c, t.calendar, now)


def set_priority(
    s: RequestState, t: RequestTerms, priority: Priority, now: datetime, *, rearm: bool = True
) -> Priority:
    """Open clocks are re-counted under the new priority's lengths from their start.

    `rearm=False` is the rule before breached clocks were re-armed by a priority change
    (patch "sla-rearm-on-priority-change"), for histories recorded under it."""
    before = s.priority
    s.priority = priority
    for c in s.clocks:
        if c.open and c.name in SLA_CLOCKS:
            clocks.respec(c, t.spec(c.name, priority, c.started_at), t.calendar, now, rearm=rearm)
    return before


def deadlines(s: RequestState) -> dict[str, datetime]:
    return {c.id: c.due_at for c in s.clocks if c.open and c.due_at is not None}


# ---- intake ----


def intake(
    tl: Timeline, t: RequestTerms, inp: ServiceRequestInput, triage: Triage, now: datetime
) -> None:
    """Received, escalated at once if it repeats an earlier complaint, then assigned or
    queued."""
    intake, s = inp.intake, tl.state
    s.flags = [f"emotion:{k}" for k in triage.emotion]
    if triage.emotion:
        s.flags.append("soothe_first")  # a person answers first, and gently
    s.repeat_of = triage.repeat_of
    tl.append(
        EventKind.RECEIVED,
        intake.recorded_by or INTAKE_ACTOR,
        now,
        to=Status.RECEIVED,
        data={
            "channel": intake.channel,
            "category": intake.category,
            "priority": intake.priority,
            "tier": intake.customer.tier,
            "policy_version": t.policy_version,
            "calendar_version": t.calendar.version,
            "deadlines": deadlines(s),
            "flags": s.flags or None,
            "repeat_of": s.repeat_of or None,
            "answer_within": (
                t.answer_within.total_seconds() if t.answer_within is not None else None
            ),
        },
    )
    if triage.repeat_of:
        before = set_priority(s, t, s.priority.raised(), now)
        s.escalated_to = "supervisor"
        tl.append(
            EventKind.ESCALATED,
            SYSTEM,
            now,
            reason=f"repeat complaint: {', '.join(triage.repeat_of)}",
            data={
                "priority_from": before,
                "priority_to": s.priority,
                "repeat_of": triage.repeat_of,
                "automatic": True,
                "notify": ["supervisor"],
            },
        )
    if triage.assignee is None:
        s.queued = True
        tl.append(
            EventKind.QUEUED,
            SYSTEM,
            now,
            reason=triage.rule,
            data={"category": intake.category, "notify": ["supervisor"]},
        )
    else:
        s.assignee, s.department, s.team = triage.assignee, triage.department, triage.team
        tl.append(
            EventKind.ASSIGNED,
            SYSTEM,
            now,
            to=Status.ASSIGNED,
            reason=triage.rule,
            data={"assignee": triage.assignee, "department": triage.department},
        )


def assignment_made(tl: Timeline, cmd: AssignmentMade, now: datetime) -> None:
    """The queue found someone: the waiting request is assigned."""
    s = tl.state
    s.assignee, s.department, s.queued = cmd.assignee, cmd.department, False
    s.team = cmd.team
    tl.append(
        EventKind.ASSIGNED,
        cmd.actor,
        now,
        to=Status.ASSIGNED,
        reason=cmd.rule,
        data={"assignee": cmd.assignee, "department": cmd.department, "from_queue": True},
    )


# ---- SLA firings ----


def takes_over(s: RequestState, f: clocks.Firing) -> bool:
    """This ladder step hands the request to the director (who does not hold it yet)."""
    return (
        f.step is not None
        and f.step.action is EscalationAction.DIRECTOR_TAKEOVER
        and s.escalated_to != DIRECTOR
    )


def firing(tl: Timeline, f: clocks.Firing, *, takeover_on_timeline: bool) -> None:
    """A warning, breach or ladder step, recorded at its exact instant.

    A director takeover moves an open request to `escalated` on the step's own event.
    Histories recorded before patch `ladder-takeover-on-timeline` set that status without
    an event of its own (`takeover_on_timeline=False`); they replay that way.
    """
    s = tl.state
    data: dict[str, Any] = {
        "clock": f.clock.id,
        "name": f.clock.name,
        "cycle": f.clock.cycle,
        "due_at": f.clock.due_at,
    }
    to: Status | None = None
    if f.kind is clocks.FiringKind.WARNING:
        data["share"] = f.share
        reason = f"{f.clock.id}: {f.share:.0%} of the time used"
    elif f.kind is clocks.FiringKind.BREACH:
        data["notify"] = ["owner"]  # a missed deadline always tells the owner
        if f.clock.name in PROMISE_CLOCKS:
            data["notify"].append("explain")  # ... who is asked why (docs/reports.md)
        reason = f"{f.clock.id}: deadline passed"
    else:
        assert f.step is not None and f.step_index is not None
        data |= {
            "step": f.step_index + 1,
            "action": f.step.action,
            "notify": list(f.step.notify),
            "channels": list(f.step.channels),
        }
        reason = f"{f.clock.id}: ladder step {f.step_index + 1} ({f.step.action.value})"
        if f.step.action is EscalationAction.MARK_DELAYED:
            s.delayed = True
        elif takes_over(s, f):
            s.escalated_to = s.assignee = DIRECTOR
            if s.status in _OPEN_WORK:
                if takeover_on_timeline:
                    to = Status.ESCALATED
                else:
                    tl.unrecorded_status(Status.ESCALATED)
        # NOTIFY and REASSIGN are recorded on the event; delivery and routing act on it.
    tl.append(EventKind(f.kind.value), SYSTEM, f.at, to=to, reason=reason, data=data)


# ---- handling ----


def _working(status: Status) -> Status:
    """Plan and progress move a freshly assigned request into work; re-handling stays so."""
    return Status.IN_PROGRESS if status is Status.ASSIGNED else status


def submit_plan(tl: Timeline, t: RequestTerms, cmd: PlanCommand, now: datetime) -> None:
    s = tl.state
    owner = cmd.owner or s.assignee or cmd.actor.id
    s.plan = Plan(measures=cmd.measures, eta=cmd.eta, owner=owner, department=cmd.department)
    s.eta = cmd.eta
    satisfy(s, t, now, "first_response", "plan")
    tl.append(
        EventKind.PLAN_SUBMITTED,
        cmd.actor,
        now,
        to=_working(s.status),
        data={
            "measures": cmd.measures,
            "eta": cmd.eta,
            "owner": owner,
            "department": cmd.department,
        },
    )


def post_progress(tl: Timeline, t: RequestTerms, cmd: ProgressCommand, now: datetime) -> None:
    s = tl.state
    if cmd.eta is not None:
        s.eta = cmd.eta
    satisfy(s, t, now, "first_response", "progress_cadence")
    start_clock(s, t, "progress_cadence", now)  # the next update is due one cadence later
    tl.append(
        EventKind.PROGRESS_POSTED,
        cmd.actor,
        now,
        to=_working(s.status),
        reason=cmd.note,
        data={"eta": cmd.eta},
    )


def wait_for_customer(
    tl: Timeline, t: RequestTerms, cmd: WaitForCustomerCommand, now: datetime
) -> None:
    s = tl.state
    s.awaiting_customer = True
    paused = [
        c.id
        for c in s.clocks
        if t.pause_when_awaiting_customer and clocks.pause(c, t.calendar, now)
    ]
    tl.append(
        EventKind.CLOCKS_PAUSED if paused else EventKind.AWAITING_CUSTOMER,
        cmd.actor,
        now,
        reason=cmd.reason,
        data={"clocks": paused},
    )


def customer_replied(
    tl: Timeline,
    t: RequestTerms,
    cmd: CustomerRepliedCommand,
    now: datetime,
    *,
    shift_ladder: bool = True,
) -> None:
    """`shift_ladder=False`: the rule before a pause moved a breached clock's remaining
    ladder steps (patch "sla-ladder-after-pause"), for histories recorded under it."""
    s = tl.state
    s.awaiting_customer = False
    resumed = {
        c.id: c.due_at
        for c in s.clocks
        if clocks.resume(c, t.calendar, now, shift_ladder=shift_ladder)
    }
    tl.append(
        EventKind.CLOCKS_RESUMED if resumed else EventKind.CUSTOMER_REPLIED,
        cmd.actor,
        now,
        reason=cmd.note,
        data={"due": resumed},
    )


def change_priority(
    tl: Timeline,
    t: RequestTerms,
    cmd: ChangePriorityCommand,
    now: datetime,
    *,
    rearm: bool = True,
) -> None:
    before = set_priority(tl.state, t, cmd.priority, now, rearm=rearm)
    tl.append(
        EventKind.PRIORITY_CHANGED,
        cmd.actor,
        now,
        reason=cmd.reason,
        data={
            "priority_from": before,
            "priority_to": cmd.priority,
            "deadlines": deadlines(tl.state),
        },
    )


def update_calendar(
    tl: Timeline, t: RequestTerms, cmd: UpdateCalendarCommand, now: datetime
) -> RequestTerms:
    """The terms on the new calendar; time used so far is measured on the old calendar,
    the rest on the new one."""
    old, new = t.calendar, cmd.calendar
    for c in tl.state.clocks:
        clocks.recount(c, c.spec, old, new, now)
    _reactivation_after_deadline(tl.state)
    tl.append(
        EventKind.CALENDAR_UPDATED,
        cmd.actor,
        now,
        data={"from": old.version, "to": new.version, "deadlines": deadlines(tl.state)},
    )
    return t.model_copy(update={"calendar": new})


def _reactivation_after_deadline(s: RequestState) -> None:
    """After a re-count, the reactivation touch still waits for the follow-up deadline —
    for follow-ups scheduled under that rule (their event says when it was due)."""
    fu = next((c for c in s.clocks if c.name == "follow_up" and c.cycle == s.sla_cycle), None)
    scheduled = next(
        (e for e in reversed(s.timeline) if e.kind == EventKind.FOLLOW_UP_SCHEDULED), None
    )
    if fu is None or fu.due_at is None or scheduled is None:
        return
    if "reactivation_at" not in scheduled.data:
        return
    for c in s.clocks:
        if c.name == "reactivation" and c.open and c.due_at is not None:
            c.due_at = max(c.due_at, fu.due_at)


# ---- supervisors ----


def escalate(
    tl: Timeline,
    t: RequestTerms,
    cmd: EscalateCommand,
    moved: TransferResult | None,
    now: datetime,
    *,
    rearm: bool = True,
) -> None:
    """`moved`: where the assignment activity handed the request, if the command named a
    person or department."""
    s = tl.state
    before_assignee = s.assignee
    if moved is not None:
        s.assignee, s.department, s.queued = moved.assignee, moved.department, False
        s.team = moved.team
    before = set_priority(s, t, cmd.priority, now, rearm=rearm) if cmd.priority else s.priority
    s.escalated_to = cmd.to_staff or cmd.to_department or s.escalated_to or "supervisor"
    tl.append(
        EventKind.ESCALATED,
        cmd.actor,
        now,
        to=Status.ESCALATED if s.status in _OPEN_WORK else None,
        reason=cmd.reason,
        data={
            "priority_from": before,
            "priority_to": s.priority,
            "from": before_assignee,
            "to": s.assignee,
            "to_department": cmd.to_department,
            "deadlines": deadlines(s),
        },
    )


def reassign(tl: Timeline, cmd: ReassignCommand, moved: TransferResult, now: datetime) -> None:
    s = tl.state
    before = s.assignee
    s.assignee, s.department, s.team = moved.assignee, moved.department, moved.team
    to = Status.ASSIGNED if s.queued else None
    s.queued = False
    tl.append(
        EventKind.REASSIGNED,
        cmd.actor,
        now,
        to=to,
        reason=cmd.reason,
        data={"from": before, "to": s.assignee, "department": s.department},
    )


def rehandling_transfer(s: RequestState, cmd: OrderRehandlingCommand) -> str | None:
    """Who must take the request back first, or None. Capacity was freed at confirmation:
    the previous holder takes it back if they have room; the supervisor may name someone
    else in the same command."""
    moving = cmd.assignee is not None and cmd.assignee != s.assignee
    if moving or (s.status in _RELEASED and s.assignee):
        return cmd.assignee or s.assignee
    return None


def taken_back(
    tl: Timeline, cmd: OrderRehandlingCommand, back: TransferResult, now: datetime
) -> None:
    s = tl.state
    if cmd.assignee is not None and cmd.assignee != s.assignee:
        tl.append(
            EventKind.REASSIGNED,
            cmd.actor,
            now,
            reason=cmd.reason,
            data={"from": s.assignee, "to": back.assignee, "department": back.department},
        )
        s.assignee, s.department, s.team = back.assignee, back.department, back.team


def start_rehandling(
    tl: Timeline,
    t: RequestTerms,
    actor: Actor,
    reason: str,
    evidence_ref: str | None,
    now: datetime,
) -> None:
    """Not satisfied: a new SLA cycle, one priority level higher; the old one stays."""
    s = tl.state
    stop_clocks(s, t, now)  # the previous outcome's confirmation and follow-up end here
    before = s.priority
    s.priority = before.raised()
    s.rehandle_count += 1
    s.sla_cycle += 1
    start_clock(s, t, "resolution", now)
    start_clock(s, t, "progress_cadence", now)
    tl.append(
        EventKind.REHANDLING_STARTED,
        actor,
        now,
        to=Status.REHANDLING,
        reason=reason,
        data={
            "priority_from": before,
            "priority_to": s.priority,
            "cycle": s.sla_cycle,
            "evidence_ref": evidence_ref,
            "deadlines": deadlines(s),
        },
    )


def compensation_total(s: RequestState) -> Decimal:
    """What this request has granted or approved so far, plus any amount still pending."""
    total = sum(
        (Decimal(str(e.data.get("amount", "0"))) for e in s.timeline if e.kind in _GRANTS),
        Decimal(0),
    )
    comp = s.compensation
    return total + comp.amount if comp is not None and comp.status == "pending" else total


def request_compensation(
    tl: Timeline,
    t: RequestTerms,
    cmd: CompensationRequest,
    now: datetime,
    *,
    running_total: bool = True,
) -> None:
    """The agent's limit bounds the request's running total, not each grant: 500 + 500
    waits for approval. `running_total=False` is how histories recorded before patch
    `compensation-running-total` judged each grant alone; they replay that way."""
    policy = t.compensation
    before = compensation_total(tl.state) if running_total else Decimal(0)
    total = before + cmd.amount
    needs = t.needs_approval(total)
    tl.state.compensation = Compensation(
        amount=cmd.amount,
        currency=policy.currency,
        status="pending" if needs else "granted",
        requested_by=cmd.actor.id,
    )
    if cmd.amount > policy.agent_limit:
        why = f"above the agent limit of {policy.agent_limit} {policy.currency}"
    elif total > policy.agent_limit:
        why = (
            f"with {before} {policy.currency} already granted, the request's total of "
            f"{total} passes the agent limit of {policy.agent_limit} {policy.currency}"
        )
    else:
        why = "major complaint"
    tl.append(
        EventKind.COMPENSATION_REQUESTED if needs else EventKind.COMPENSATION_GRANTED,
        cmd.actor,
        now,
        reason=cmd.reason,
        data={
            "amount": str(cmd.amount),
            "currency": policy.currency,
            "needs_approval": needs,
            "why": why if needs else None,
            "total": str(total) if running_total and before else None,
            "notify": ["supervisor"] if needs else None,
        },
    )


def decide_compensation(tl: Timeline, cmd: CompensationDecision, now: datetime) -> None:
    comp = tl.state.compensation
    assert comp is not None
    comp.status, comp.decided_by = ("approved" if cmd.approve else "rejected"), cmd.actor.id
    tl.append(
        EventKind.COMPENSATION_APPROVED if cmd.approve else EventKind.COMPENSATION_REJECTED,
        cmd.actor,
        now,
        reason=cmd.reason,
        data={"amount": str(comp.amount), "currency": comp.currency},
    )


# ---- resolution and confirmation ----


def resolve(tl: Timeline, t: RequestTerms, cmd: ResolveCommand, now: datetime) -> None:
    """Proposed: the SLA is met, and the customer's confirmation window opens."""
    s = tl.state
    satisfy(s, t, now, "first_response", "plan", "resolution")
    stop_clocks(s, t, now)
    s.awaiting_customer = False
    tl.append(
        EventKind.RESOLUTION_PROPOSED,
        cmd.actor,
        now,
        to=Status.AWAITING_CONFIRMATION,
        reason=cmd.summary,
    )
    if cmd.cause is not None:
        cause_recorded(tl, cmd.actor, cmd.cause, cmd.responsible_department, None, None, now)
    s.clocks.append(
        clocks.start_deadline(
            "confirmation", s.sla_cycle, t.confirmation_window, t, now, warn=False
        )
    )


def customer_confirmed(tl: Timeline, t: RequestTerms, cmd: ConfirmCommand, now: datetime) -> None:
    satisfy(tl.state, t, now, "confirmation")
    tl.append(
        EventKind.CUSTOMER_CONFIRMED,
        cmd.actor,
        now,
        to=Status.RESOLVED,
        reason=cmd.reason,
        data={"evidence_ref": cmd.evidence_ref},
    )


# ---- why: breach reasons and root causes (docs/reports.md) ----


def explain_breach(
    tl: Timeline, cmd: ExplainBreachCommand, breach_data: dict[str, Any], now: datetime
) -> None:
    """The owner's reason for a missed deadline; a later one replaces it."""
    tl.append(
        EventKind.BREACH_EXPLAINED,
        cmd.actor,
        now,
        reason=cmd.note,
        data={
            "clock": cmd.clock,
            "name": breach_data.get("name"),
            "cycle": breach_data.get("cycle"),
            "reason": cmd.reason,
            "note": cmd.note,
        },
    )


def review_breach(tl: Timeline, cmd: ReviewBreachCommand, now: datetime) -> None:
    """The supervisor's verdict; a rejection asks the owner for a new explanation."""
    tl.append(
        EventKind.BREACH_REVIEWED,
        cmd.actor,
        now,
        reason=cmd.note,
        data={
            "clock": cmd.clock,
            "verdict": cmd.verdict,
            "note": cmd.note,
            "notify": ["owner"] if cmd.verdict == "rejected" else None,
        },
    )


def cause_recorded(
    tl: Timeline,
    actor: Actor,
    cause: str,
    department: str | None,
    task_id: str | None,
    note: str | None,
    now: datetime,
) -> None:
    """The root cause of the complaint (no task_id) or of one improvement task."""
    tl.append(
        EventKind.CAUSE_RECORDED,
        actor,
        now,
        reason=note,
        data={
            "cause": cause,
            "responsible_department": department,
            "task_id": task_id,
            "note": note,
        },
    )


def record_cause(tl: Timeline, cmd: RecordCauseCommand, now: datetime) -> None:
    cause_recorded(tl, cmd.actor, cmd.cause, cmd.responsible_department, cmd.task_id, cmd.note, now)


# ---- the end ----


def end(
    tl: Timeline,
    t: RequestTerms,
    kind: EventKind,
    actor: Actor,
    to: Status,
    reason: str | None,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    """Closed or cancelled: every clock stops."""
    stop_clocks(tl.state, t, now)
    tl.state.closed_at = now
    tl.append(kind, actor, now, to=to, reason=reason, data=data or {})


def skipped_follow_up(s: RequestState, actor: Actor) -> dict[str, Any]:
    """What a close before the follow-up records: the visit was skipped, by whom (the
    reason is the event's), and when it was due — for the view and the reports."""
    return {
        "follow_up_skipped": True,
        "skipped_by_role": actor.role.value,
        "follow_up_due_at": s.follow_up.due_at if s.follow_up else None,
    }
