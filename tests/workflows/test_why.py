"""Why a deadline was missed and what caused a complaint (docs/reports.md, issue 16):
the Updates `explain_breach`, `review_breach`, `record_cause`, the cause on `resolve` and
on `complete_improvement`, and the pick-up target on `received` — each accepted and
refused under time skipping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from csflow.contracts import (
    Actor,
    CancelCommand,
    CompleteImprovement,
    ConfirmCommand,
    ExplainBreachCommand,
    FollowUpRecord,
    ReceiptQuery,
    RecordCauseCommand,
    ResolveCommand,
    ReviewBreachCommand,
    UpdateResult,
)
from csflow.domain.codes import Channel, Priority, Role
from csflow.refusals import Refusal
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, intake
from tests.workflows.conftest import Harness
from tests.workflows.test_follow_up import FU, events, resolved
from tests.workflows.updates import act, ended
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[ServiceRequestWorkflow, UpdateResult]
HOLDER = Actor(id="senior-desk", role=Role.AGENT)  # whom the fake triage assigns


async def refused(call: Any, kind: Refusal, words: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await call
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == kind.value, cause.message
    assert words in cause.message


async def breached(harness: Harness) -> Handle:
    """A P1 request whose first response (15 minutes) has breached."""
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=16))
    return h


async def test_a_breach_is_explained_by_its_holder_and_reviewed_by_a_supervisor(
    harness: Harness,
) -> None:
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    explain = ExplainBreachCommand(
        actor=HOLDER, clock="first_response", reason="peak_volume", note="queue of 40 at 9:00"
    )
    await refused(
        h.execute_update(ServiceRequestWorkflow.explain_breach, explain),
        Refusal.ILLEGAL_STATE,
        "has not breached",
    )

    await harness.env.fast_forward(h, timedelta(minutes=16))
    v = await h.query(ServiceRequestWorkflow.get_state)
    breach = next(e for e in events(v, "sla_breached") if e.data["clock"] == "first_response")
    assert breach.data["notify"] == ["owner", "explain"]  # the owner is asked why

    # Someone who never held it may not explain it; nor may anyone review it yet.
    await refused(
        h.execute_update(
            ServiceRequestWorkflow.explain_breach, explain.model_copy(update={"actor": AGENT})
        ),
        Refusal.FORBIDDEN_ROLE,
        "only the holder (senior-desk)",
    )
    review = ReviewBreachCommand(actor=SUPERVISOR, clock="first_response", verdict="accepted")
    await refused(
        h.execute_update(ServiceRequestWorkflow.review_breach, review),
        Refusal.ILLEGAL_STATE,
        "no explanation of first_response",
    )

    v = await act(h, ServiceRequestWorkflow.explain_breach, explain)
    explained = events(v, "breach_explained")[-1]
    assert explained.actor == HOLDER
    assert explained.data == {
        "clock": "first_response",
        "name": "first_response",
        "cycle": 1,
        "reason": "peak_volume",
        "note": "queue of 40 at 9:00",
    }

    # An agent cannot review; a rejection sends it back, and the holder explains again.
    await refused(
        h.execute_update(
            ServiceRequestWorkflow.review_breach, review.model_copy(update={"actor": AGENT})
        ),
        Refusal.FORBIDDEN_ROLE,
        "review_breach needs one of the roles",
    )
    rejected = ReviewBreachCommand(
        actor=SUPERVISOR,
        clock="first_response",
        verdict="rejected",
        note="the queue was short that hour",
    )
    v = await act(h, ServiceRequestWorkflow.review_breach, rejected)
    assert events(v, "breach_reviewed")[-1].data == {
        "clock": "first_response",
        "verdict": "rejected",
        "note": "the queue was short that hour",
        "notify": ["owner"],
    }
    await refused(
        h.execute_update(ServiceRequestWorkflow.review_breach, review),
        Refusal.ILLEGAL_STATE,
        "no explanation of first_response waits",
    )

    again = ExplainBreachCommand(
        actor=SUPERVISOR,
        clock="first_response",
        reason="other",
        note="the agent was pulled into a P1 call",
    )
    await h.execute_update(ServiceRequestWorkflow.explain_breach, again)
    v = await act(h, ServiceRequestWorkflow.review_breach, review)
    assert [e.data["verdict"] for e in events(v, "breach_reviewed")] == ["rejected", "accepted"]
    assert [e.data["reason"] for e in events(v, "breach_explained")] == ["peak_volume", "other"]

    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    persisted = harness.store.seqs(h.id)
    assert persisted == list(range(1, len(persisted) + 1))


async def test_an_unknown_clock_is_refused_and_bad_bodies_never_reach_the_workflow(
    harness: Harness,
) -> None:
    h = await breached(harness)
    await refused(
        h.execute_update(
            ServiceRequestWorkflow.explain_breach,
            ExplainBreachCommand(actor=HOLDER, clock="resolution#7", reason="complex_case"),
        ),
        Refusal.ILLEGAL_STATE,
        "resolution#7 has not breached",
    )
    with pytest.raises(ValidationError, match="note is required when the reason is `other`"):
        ExplainBreachCommand(actor=HOLDER, clock="first_response", reason="other")
    with pytest.raises(ValidationError, match="note is required when rejecting"):
        ReviewBreachCommand(actor=SUPERVISOR, clock="first_response", verdict="rejected")
    with pytest.raises(ValidationError, match="clock"):
        ExplainBreachCommand(actor=HOLDER, clock="first response; drop", reason="x")
    with pytest.raises(ValidationError, match="together"):
        ResolveCommand(actor=AGENT, summary="done", cause="product_defect")
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_cause_is_recorded_on_resolution_and_corrected_by_a_supervisor(
    harness: Harness,
) -> None:
    h = await harness.start(intake(priority=Priority.P2))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    v = await act(
        h,
        ServiceRequestWorkflow.resolve,
        ResolveCommand(
            actor=AGENT,
            summary="replaced the parcel",
            cause="logistics_delay",
            responsible_department="logistics",
        ),
    )
    recorded = events(v, "cause_recorded")
    assert [(e.actor, e.data) for e in recorded] == [
        (AGENT, {"cause": "logistics_delay", "responsible_department": "logistics"})
    ]
    assert recorded[0].seq == events(v, "resolution_proposed")[0].seq + 1

    fix = RecordCauseCommand(
        actor=SUPERVISOR,
        cause="third_party",
        responsible_department="carrier-relations",
        note="courier lost it",
    )
    await refused(
        h.execute_update(
            ServiceRequestWorkflow.record_cause, fix.model_copy(update={"actor": AGENT})
        ),
        Refusal.FORBIDDEN_ROLE,
        "record_cause needs one of the roles",
    )
    await refused(
        h.execute_update(
            ServiceRequestWorkflow.record_cause, fix.model_copy(update={"task_id": f"{h.id}-IMP1"})
        ),
        Refusal.ILLEGAL_STATE,
        "is not an improvement task of this request",
    )
    v = await act(h, ServiceRequestWorkflow.record_cause, fix)
    assert events(v, "cause_recorded")[-1].data == {
        "cause": "third_party",
        "responsible_department": "carrier-relations",
        "note": "courier lost it",
    }
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_an_improvement_task_completed_with_a_cause_records_it_on_the_request(
    harness: Harness,
) -> None:
    h = await resolved(harness)
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FU, score=1, nps=0, problem="the courier was rude", method="phone"),
    )
    task_id = events(v, "improvement_opened")[0].data["task_id"]
    task: WorkflowHandle[ImprovementTaskWorkflow, Any] = harness.client.get_workflow_handle(task_id)
    await task.execute_update(
        ImprovementTaskWorkflow.complete,
        CompleteImprovement(
            actor=AGENT,
            what_changed="courier partner retrained",
            cause="service_attitude",
            responsible_department="logistics",
        ),
    )
    final = await ended(h)
    cause = events(final, "cause_recorded")[-1]
    assert cause.data == {
        "cause": "service_attitude",
        "responsible_department": "logistics",
        "task_id": task_id,
    }
    assert cause.actor.id == AGENT.id
    closed = events(final, "improvement_closed")[0]
    assert cause.seq == closed.seq + 1


async def test_the_received_event_carries_the_channels_pick_up_target(
    harness: Harness,
) -> None:
    phone = await harness.start(intake(channel=Channel.PHONE))
    web = await harness.start(intake(channel=Channel.WEB))
    for h, expected in ((phone, 10.0), (web, None)):
        v = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
        assert events(v, "received")[0].data.get("answer_within") == expected
        await h.execute_update(
            ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
        )
