"""Supervisor controls, the queue and intake intelligence, on the workflow (issue 4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from csflow import search_attributes as sa
from csflow.contracts import (
    SYSTEM,
    Actor,
    AssignmentMade,
    CancelCommand,
    CompensationDecision,
    CompensationRequest,
    ConfirmCommand,
    EscalateCommand,
    OrderRehandlingCommand,
    PlanCommand,
    ReassignCommand,
    ReceiptQuery,
    ResolveCommand,
    UpdateResult,
)
from csflow.domain.codes import Priority, Role
from csflow.domain.lifecycle import Status
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, at, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[ServiceRequestWorkflow, UpdateResult]
ETA = at("2026-11-30T18:00:00+08:00")


async def refused(h: Handle, update: object, arg: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(update, arg)  # type: ignore[call-overload]
    return str(caught.value.cause)


async def started(harness: Harness, **kw: object) -> Handle:
    h = await harness.start(intake(**kw))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    return h


async def done(h: Handle) -> None:
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_escalate_raises_priority_hands_over_and_shows_everywhere(
    harness: Harness,
) -> None:
    h = await started(harness, priority=Priority.P3)
    v = await act(
        h,
        ServiceRequestWorkflow.escalate,
        EscalateCommand(
            actor=SUPERVISOR,
            reason="customer threatens to go to the regulator",
            priority=Priority.P1,
            to_staff="li.senior",
        ),
    )
    assert v.status is Status.ESCALATED and v.priority is Priority.P1
    assert v.assignee == "li.senior" and v.escalated_to == "li.senior"
    e = v.timeline[-1]
    assert e.kind == "escalated" and e.actor == SUPERVISOR
    assert e.data["priority_from"] == "P3" and e.data["to"] == "li.senior"
    assert v.deadlines["resolution"] == v.received_at + timedelta(hours=2), "P1 terms now"
    attrs = (await h.describe()).typed_search_attributes
    assert attrs.get(sa.REQUEST_STATUS) == "escalated" and attrs.get(sa.PRIORITY) == "P1"
    assert attrs.get(sa.ASSIGNEE) == "li.senior"
    history = [ev async for ev in h.fetch_history_events()]
    assert any(
        ev.HasField("workflow_execution_update_accepted_event_attributes")
        and ev.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "escalate"
        for ev in history
    )
    # Still work to do while escalated: plans and progress are accepted.
    v = await act(
        h,
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["call back"], eta=ETA),
    )
    assert v.status is Status.ESCALATED
    await done(h)


async def test_escalation_refusals_name_the_reason(harness: Harness) -> None:
    harness.assignment.full.add("busy.bee")
    h = await started(harness, priority=Priority.P2)
    assert "is not above P2" in await refused(
        h,
        ServiceRequestWorkflow.escalate,
        EscalateCommand(actor=SUPERVISOR, reason="x", priority=Priority.P3),
    )
    assert "at capacity" in await refused(
        h,
        ServiceRequestWorkflow.escalate,
        EscalateCommand(actor=SUPERVISOR, reason="x", to_staff="busy.bee"),
    )
    assert "needs one of the roles" in await refused(
        h,
        ServiceRequestWorkflow.escalate,
        EscalateCommand(actor=AGENT, reason="x", priority=Priority.P1),
    )
    v = await h.query(ServiceRequestWorkflow.get_state)
    assert v.priority is Priority.P2 and v.status is Status.ASSIGNED, "nothing changed"
    assert [e.kind for e in v.timeline] == ["received", "assigned"]
    await done(h)


async def test_reassign_with_a_reason(harness: Harness) -> None:
    h = await started(harness)
    v = await act(
        h,
        ServiceRequestWorkflow.reassign,
        ReassignCommand(
            actor=SUPERVISOR, to_staff="wang.agent", reason="speaks the customer's dialect"
        ),
    )
    assert v.assignee == "wang.agent"
    assert v.timeline[-1].kind == "reassigned" and v.timeline[-1].data["from"] == "senior-desk"
    assert "already holds" in await refused(
        h,
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="wang.agent", reason="again"),
    )
    assert "needs one of the roles" in await refused(
        h,
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=AGENT, to_staff="me", reason="mine"),
    )
    await done(h)


async def test_supervisor_orders_rehandling_after_the_customer_confirmed(
    harness: Harness,
) -> None:
    h = await started(harness, priority=Priority.P3)
    assert "allowed when" in await refused(
        h,
        ServiceRequestWorkflow.order_rehandling,
        OrderRehandlingCommand(actor=SUPERVISOR, reason="too early"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="done")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    assert h.id in harness.assignment.released, "confirmation frees the handler's capacity"
    v = await act(
        h,
        ServiceRequestWorkflow.order_rehandling,
        OrderRehandlingCommand(actor=SUPERVISOR, reason="quality audit found the fix incomplete"),
    )
    assert v.status is Status.REHANDLING and v.priority is Priority.P2 and v.sla_cycle == 2
    assert v.timeline[-1].actor == SUPERVISOR
    await done(h)


async def test_rehandling_names_a_new_assignee_when_the_previous_one_is_full(
    harness: Harness,
) -> None:
    h = await started(harness, priority=Priority.P3)
    holder = (await h.query(ServiceRequestWorkflow.get_state)).assignee
    assert holder is not None
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="done")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    harness.assignment.full.add(holder)
    try:
        reason = await refused(
            h,
            ServiceRequestWorkflow.order_rehandling,
            OrderRehandlingCommand(actor=SUPERVISOR, reason="audit"),
        )
        assert "at capacity" in reason and "naming an assignee" in reason
        v = await act(
            h,
            ServiceRequestWorkflow.order_rehandling,
            OrderRehandlingCommand(actor=SUPERVISOR, reason="audit", assignee="zhao.senior"),
        )
    finally:
        harness.assignment.full.discard(holder)
    assert v.status is Status.REHANDLING and v.assignee == "zhao.senior"
    moved, started_again = v.timeline[-2], v.timeline[-1]
    assert moved.kind == "reassigned" and moved.data["from"] == holder
    assert moved.data["to"] == "zhao.senior" and moved.actor == SUPERVISOR
    assert started_again.kind == "rehandling_started"
    await done(h)


async def test_compensation_above_the_limit_waits_for_a_supervisor(harness: Harness) -> None:
    h = await started(harness, priority=Priority.P3)
    v = await act(
        h,
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=AGENT, amount=Decimal("200"), reason="late delivery"),
    )
    assert v.compensation is not None and v.compensation.status == "granted"
    assert v.timeline[-1].kind == "compensation_granted"

    h2 = await started(harness, priority=Priority.P3)
    v = await act(
        h2,
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=AGENT, amount=Decimal("800"), reason="broken TV"),
    )
    assert v.compensation is not None and v.compensation.status == "pending"
    assert v.timeline[-1].data["notify"] == ["supervisor"]
    assert "waits for the supervisor" in await refused(
        h2, ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="paid")
    )
    assert "needs one of the roles" in await refused(
        h2,
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=AGENT, approve=True, reason="self-approval"),
    )
    v = await act(
        h2,
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=True, reason="within goodwill budget"),
    )
    assert v.compensation is not None and v.compensation.status == "approved"
    assert v.compensation.decided_by == SUPERVISOR.id
    assert "no compensation waits" in await refused(
        h2,
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=False, reason="again"),
    )
    v = await act(
        h2, ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="paid and replaced")
    )
    assert v.status is Status.AWAITING_CONFIRMATION
    await done(h)
    await done(h2)


async def test_nobody_free_queues_the_request_while_its_sla_counts(harness: Harness) -> None:
    harness.assignment.queue = True
    h = await started(harness, priority=Priority.P2)
    v = await h.query(ServiceRequestWorkflow.get_state)
    assert v.status is Status.RECEIVED and v.queued and v.assignee is None
    queued = v.timeline[-1]
    assert queued.kind == "queued" and queued.data["notify"] == ["supervisor"]
    assert v.next_deadline is not None, "the SLA clocks run while it waits"
    assert "allowed when" in await refused(
        h, ServiceRequestWorkflow.submit_plan, PlanCommand(actor=AGENT, measures=["x"], eta=ETA)
    )
    assert "needs one of the roles" in await refused(
        h,
        ServiceRequestWorkflow.assignment_made,
        AssignmentMade(actor=SUPERVISOR, assignee="x", rule="manual"),
    )
    v = await act(
        h,
        ServiceRequestWorkflow.assignment_made,
        AssignmentMade(
            actor=SYSTEM, assignee="zhao.agent", department="after-sales", rule="from the queue"
        ),
    )
    assert v.status is Status.ASSIGNED and v.assignee == "zhao.agent" and not v.queued
    assert "cannot assignment_made while the request is assigned" in await refused(
        h,
        ServiceRequestWorkflow.assignment_made,
        AssignmentMade(actor=SYSTEM, assignee="y", rule="again"),
    )
    await done(h)


async def test_a_queued_request_can_be_assigned_by_hand(harness: Harness) -> None:
    harness.assignment.queue = True
    h = await started(harness)
    v = await act(
        h,
        ServiceRequestWorkflow.reassign,
        ReassignCommand(
            actor=SUPERVISOR, to_staff="sun.agent", reason="I'll take it off the queue"
        ),
    )
    assert v.status is Status.ASSIGNED and not v.queued and v.assignee == "sun.agent"
    await done(h)


async def test_emotion_and_repeat_complaints_are_flagged_and_escalated(
    harness: Harness,
) -> None:
    harness.assignment.emotion = ["愤怒", "regulator"]
    harness.assignment.repeat_of = ["CS20261120-WEB-0007"]
    h = await started(harness, priority=Priority.P3)
    v = await h.query(ServiceRequestWorkflow.get_state)
    assert v.flags == ["emotion:愤怒", "emotion:regulator", "soothe_first"]
    assert v.repeat_of == ["CS20261120-WEB-0007"]
    assert v.priority is Priority.P2, "a repeat complaint is escalated automatically"
    kinds = [e.kind for e in v.timeline]
    assert kinds == ["received", "escalated", "assigned"]
    escalated = v.timeline[1]
    assert escalated.data["repeat_of"] == ["CS20261120-WEB-0007"]
    assert escalated.data["automatic"] is True and escalated.actor.role is Role.SYSTEM
    assert v.assignee == "senior-desk", "repeat complaints go to senior staff"
    assert v.timeline[0].data["flags"] == v.flags
    await done(h)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.ANALYST, Role.FOLLOW_UP])
async def test_roles_without_the_right_are_refused(harness: Harness, role: Role) -> None:
    h = await started(harness)
    outsider = Actor(id="someone", role=role)
    for update, arg in [
        (ServiceRequestWorkflow.submit_plan, PlanCommand(actor=outsider, measures=["x"], eta=ETA)),
        (
            ServiceRequestWorkflow.escalate,
            EscalateCommand(actor=outsider, reason="x", priority=Priority.P1),
        ),
        (ServiceRequestWorkflow.cancel, CancelCommand(actor=outsider, reason="x")),
    ]:
        assert f"caller is {role.value}" in await refused(h, update, arg)
    await done(h)
