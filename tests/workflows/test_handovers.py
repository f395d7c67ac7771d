"""Every handover is heard (issue 18, "Handovers are silent"): the new holder of a
reassigned, escalated or re-handled request, the approver and the requester of a
compensation, and — where the standard script says so — the customer (升级处理, the plan's
ETA in their local time, every ETA revision, compensation granted)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio.client import WorkflowHandle

from csflow.contracts import (
    CancelCommand,
    CompensationDecision,
    CompensationRequest,
    ConfirmCommand,
    EscalateCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    UpdateResult,
)
from csflow.domain.codes import Priority
from csflow.domain.org import Organisation
from csflow.notify.models import Notification
from csflow.notify.templates import Templates
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, at, eventually, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[ServiceRequestWorkflow, UpdateResult]
TEMPLATES = Templates()


async def started(harness: Harness, **kw: object) -> Handle:
    h = await harness.start(intake(**kw))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    return h


async def messages(
    harness: Harness, h: Handle, template: str, count: int = 1
) -> list[Notification]:
    async def check() -> list[Notification]:
        found = [n for n in harness.notify.sent if n.number == h.id and n.template == template]
        assert len(found) >= count, f"{template}: {len(found)} of {count}"
        return found

    return await eventually(check)


async def test_reassign_and_escalate_tell_the_new_holder_and_the_customer(
    harness: Harness,
) -> None:
    h = await started(harness, priority=Priority.P2)
    await h.execute_update(
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="wang.agent", reason="knows this customer"),
    )
    [told] = await messages(harness, h, "staff_handover")
    assert told.recipient.kind == "staff" and told.recipient.id == "wang.agent"
    _, body = TEMPLATES.render(told.template, "en", told.variables)
    assert "knows this customer" in body and "senior-desk" in body

    await h.execute_update(
        ServiceRequestWorkflow.escalate,
        EscalateCommand(
            actor=SUPERVISOR, to_staff="li.senior", reason="customer threatens to leave"
        ),
    )
    both = await messages(harness, h, "staff_handover", 2)
    assert both[1].recipient.id == "li.senior"
    [customer] = await messages(harness, h, "customer_escalated")
    assert customer.recipient.kind == "customer"
    _, body = TEMPLATES.render(customer.template, "zh-CN", customer.variables)
    assert "升级处理" in body
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_the_plan_eta_and_every_revision_reach_the_customer_in_local_time(
    harness: Harness,
) -> None:
    h = await started(harness, priority=Priority.P3)
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(
            actor=AGENT, measures=["replace the parcel"], eta=at("2026-12-01T02:00:00+00:00")
        ),
    )
    [plan] = await messages(harness, h, "plan_eta")
    assert plan.recipient.kind == "customer"
    assert plan.variables["eta"] == "2026-12-01 10:00 (Asia/Shanghai)"
    # The acknowledgement's answer-by time is local too, never raw UTC.
    [ack] = await messages(harness, h, "acknowledgement")
    assert ack.variables["eta"].endswith("(Asia/Shanghai)")

    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(
            actor=AGENT,
            measures=["replace the parcel", "courier pickup"],
            eta=at("2026-12-02T02:00:00+00:00"),
        ),
    )
    [revised] = await messages(harness, h, "eta_revised")
    assert revised.variables["previous_eta"] == "2026-12-01 10:00 (Asia/Shanghai)"
    assert revised.variables["eta"] == "2026-12-02 10:00 (Asia/Shanghai)"
    _, body = TEMPLATES.render("eta_revised", "zh-CN", revised.variables)
    assert "2026-12-01 10:00" in body and "2026-12-02 10:00" in body
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_compensation_approval_reaches_the_departments_supervisor_and_the_decision(
    harness: Harness,
) -> None:
    harness.assignment.org = Organisation.model_validate(
        {
            "departments": {
                "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
                "repair": {"head": "gao.head", "supervisors": ["he.sup"]},
            },
            "directors": ["zhou.director"],
        }
    )
    harness.assignment.on_duty = {"chen.sup", "he.sup", "ma.head", "gao.head", "zhou.director"}
    harness.assignment.holder = ("agent-007", "care")
    h = await started(harness, priority=Priority.P3)
    await h.execute_update(
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=AGENT, amount=Decimal("800"), reason="broken TV"),
    )
    [asked] = await messages(harness, h, "staff_alert")
    assert (asked.recipient.kind, asked.recipient.id) == ("staff", "chen.sup")
    await h.execute_update(
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=True, reason="within goodwill budget"),
    )
    [decided] = await messages(harness, h, "staff_decision")
    assert decided.recipient.id == AGENT.id and decided.variables["decision"] == "approved"
    [granted] = await messages(harness, h, "compensation_granted")
    assert granted.recipient.kind == "customer" and granted.variables["amount"] == "800"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_rehandling_tells_whoever_takes_it_back(harness: Harness) -> None:
    h = await started(harness, priority=Priority.P3)
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="replaced")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="still broken"),
    )
    v = await h.query(ServiceRequestWorkflow.get_state)
    [told] = await messages(harness, h, "staff_handover")
    assert (told.recipient.kind, told.recipient.id) == ("staff", v.assignee)
    assert told.variables["reason"] == "still broken"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_missed_eta_is_a_breach_the_owner_and_supervisor_hear_of(
    harness: Harness,
) -> None:
    harness.assignment.org = Organisation.model_validate(
        {
            "departments": {
                "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
                "repair": {"head": "gao.head", "supervisors": ["he.sup"]},
            },
            "directors": ["zhou.director"],
        }
    )
    harness.assignment.on_duty = {"agent-007", "chen.sup", "he.sup", "zhou.director"}
    harness.assignment.holder = ("agent-007", "care")
    h = await started(harness, priority=Priority.P3)
    view = await h.query(ServiceRequestWorkflow.get_state)
    promised = view.received_at + timedelta(hours=3)
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["replace the parcel"], eta=promised),
    )
    # A revision by progress note is a new promise the customer hears of.
    later = promised + timedelta(hours=2)
    await h.execute_update(
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="courier booked", eta=later),
    )
    [revised] = await messages(harness, h, "eta_revised")
    assert revised.recipient.kind == "customer"
    await harness.env.fast_forward(h, timedelta(hours=6))

    async def missed() -> RequestView:
        v = await h.query(ServiceRequestWorkflow.get_state)
        assert [e.at for e in v.timeline if e.kind == "eta_missed"] == [later]
        return v

    v = await eventually(missed)
    assert v.delayed, "the board shows the request delayed"
    alerts = await messages(harness, h, "staff_alert", 2)
    told = {
        (n.recipient.kind, n.recipient.id)
        for n in alerts
        if n.key.split("/")[1] == str(next(e.seq for e in v.timeline if e.kind == "eta_missed"))
    }
    assert told == {("staff", "agent-007"), ("staff", "chen.sup")}
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_deadline_past_the_calendar_horizon_is_flagged(harness: Harness) -> None:
    from datetime import UTC, datetime

    from csflow.contracts import ServiceRequestInput
    from csflow.domain.horizon import PAST_HORIZON_FLAG
    from tests.workflows.conftest import TERMS

    received = datetime.now(UTC)
    req = intake(priority=Priority.P3)
    terms = TERMS.for_intake(req, received)
    # The holiday data ends today: a P3's 24 working hours fall past it.
    local_today = received.astimezone(terms.calendar.zone).date()
    short = terms.model_copy(update={"calendar_horizon": local_today})
    starts = [(short, True), (terms.model_copy(update={"calendar_horizon": None}), False)]
    for i, (t, flagged) in enumerate(starts):
        number = f"CS20261123-WEB-9{i:03d}-{harness.queue[-6:]}"
        h = await harness.client.start_workflow(
            ServiceRequestWorkflow.run,
            ServiceRequestInput(number=number, intake=req, received_at=received, terms=t),
            id=number,
            task_queue=harness.queue,
        )
        v = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
        assert (PAST_HORIZON_FLAG in v.flags) is flagged
        await h.execute_update(
            ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
        )
