"""Authority over one request on the time-skipping server (issue 13 item 7): the running
total waits for approval, nobody decides their own compensation, and only those the
policy's `[ownership]` names speak for a request's handling. Refusals come from the
Update validators, so none of them reaches history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from csflow.config.terms import TermsProvider
from csflow.contracts import (
    Actor,
    CancelCommand,
    CompensationDecision,
    CompensationRequest,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
)
from csflow.domain.codes import Role
from csflow.domain.events import EventKind
from csflow.domain.policy import policy_from_mapping
from csflow.refusals import Refusal
from tests.helpers import AGENT, SUPERVISOR, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow

LI = Actor(id="li.na", role=Role.ENGINEER)
ZHAO = Actor(id="zhao.gang", role=Role.ENGINEER)
Handle = WorkflowHandle[Any, Any]


async def _refused(h: Handle, update: Any, arg: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(update, arg)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def _held_by_li(harness: Harness, terms: TermsProvider | None = None) -> Handle:
    h = await harness.start(intake(), terms=terms)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="li.na", reason="knows the product"),
    )
    return h


async def _kinds(h: Handle) -> list[str]:
    view = await h.query(ServiceRequestWorkflow.get_state)
    return [e.kind for e in view.timeline]


async def _ask(h: Handle, actor: Actor, amount: str) -> RequestView:
    return await act(
        h,
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=actor, amount=Decimal(amount), reason="a lost day"),
    )


async def test_500_plus_500_by_an_agent_waits_for_approval(harness: Harness) -> None:
    h = await harness.start(intake())  # on the desk: the agent works it
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    first = await _ask(h, AGENT, "500")
    assert first.compensation is not None and first.compensation.status == "granted"
    second = await _ask(h, AGENT, "500")
    assert second.compensation is not None and second.compensation.status == "pending"
    last = second.timeline[-1]
    assert last.kind == EventKind.COMPENSATION_REQUESTED
    assert last.data["total"] == "1000" and last.data["needs_approval"] is True
    # Nothing more is granted, nor resolved, until a supervisor decides.
    err = await _refused(
        h,
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=AGENT, amount=Decimal("1"), reason="one more"),
    )
    assert err.message == "a compensation already waits for a decision"
    decided = await act(
        h,
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=True, reason="fair"),
    )
    assert decided.compensation is not None and decided.compensation.status == "approved"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_supervisor_cannot_approve_their_own_request_even_relayed(
    harness: Harness,
) -> None:
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await _ask(h, SUPERVISOR, "99999")
    said = (
        "requested this compensation (99999 CNY) and cannot decide it; another "
        "supervisor or an admin must"
    )
    for same_person in (
        SUPERVISOR,
        Actor(id="sup-1", role=Role.SERVICE),
        Actor(id="SUP-1", role=Role.ADMIN),
    ):
        err = await _refused(
            h,
            ServiceRequestWorkflow.decide_compensation,
            CompensationDecision(actor=same_person, approve=True, reason="approved"),
        )
        assert err.type == Refusal.FORBIDDEN_ROLE.value
        assert err.message == f"{same_person.id} {said}"
    assert EventKind.COMPENSATION_APPROVED not in await _kinds(h)
    view = await act(
        h,
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(
            actor=Actor(id="sup-2", role=Role.SUPERVISOR), approve=False, reason="too much"
        ),
    )
    assert view.compensation is not None and view.compensation.decided_by == "sup-2"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_an_engineer_who_is_not_the_assignee_cannot_post_progress(
    harness: Harness,
) -> None:
    h = await _held_by_li(harness)
    before = await _kinds(h)
    err = await _refused(
        h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=ZHAO, note="on it")
    )
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    assert err.message == (
        f"post_progress on {h.id} is for the assignee, a supervisor of the assignee's team, "
        "an admin (assignee: li.na); zhao.gang (engineer) is none of them"
    )
    for cmd in (ResolveCommand(actor=ZHAO, summary="done"),):
        await _refused(h, ServiceRequestWorkflow.resolve, cmd)
    await _refused(
        h,
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=ZHAO, amount=Decimal(10), reason="sorry"),
    )
    assert await _kinds(h) == before  # refused in the validator: nothing in the timeline
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=LI, note="on it")
    )
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=SUPERVISOR, note="checked in")
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_the_policy_decides_who_may_post_progress(harness: Harness) -> None:
    only_the_assignee = TermsProvider(
        policy_from_mapping({"ownership": {"post_progress": ["assignee"]}})
    )
    h = await _held_by_li(harness, only_the_assignee)
    err = await _refused(
        h,
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=SUPERVISOR, note="checked in"),
    )
    assert "is for the assignee (assignee: li.na); sup-1 (supervisor)" in err.message
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=LI, note="on it")
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
