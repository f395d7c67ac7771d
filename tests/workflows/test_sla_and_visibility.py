"""What ops see: search attributes, summary, current details — and a quiet request."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from csflow import search_attributes as sa
from csflow.contracts import (
    CancelCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    UpdateResult,
)
from csflow.domain.codes import Priority
from csflow.domain.lifecycle import Command
from tests.helpers import AGENT, SUPERVISOR, eventually, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act, ended
from workflows.service_request import ServiceRequestWorkflow


async def _state(h: WorkflowHandle[ServiceRequestWorkflow, UpdateResult]) -> RequestView:
    return await h.query(ServiceRequestWorkflow.get_state)


async def test_a_satisfied_clock_never_warns_or_breaches(harness: Harness) -> None:
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed at once")
    )
    await harness.env.fast_forward(h, timedelta(hours=3))
    v = await _state(h)
    assert not [e for e in v.timeline if e.kind.startswith("sla_")]
    assert v.sla_state.value == "green" and v.next_deadline is None
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_search_attributes_follow_every_transition(harness: Harness) -> None:
    h = await harness.start(intake(priority=Priority.P1))
    v = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    attrs = (await h.describe()).typed_search_attributes
    assert attrs.get(sa.REQUEST_STATUS) == "assigned"
    assert attrs.get(sa.PRIORITY) == "P1"
    assert attrs.get(sa.CATEGORY) == "complaint"
    assert attrs.get(sa.CHANNEL) == "web"
    assert attrs.get(sa.CUSTOMER_TIER) == "regular"
    assert attrs.get(sa.ASSIGNEE) == "senior-desk"
    assert attrs.get(sa.SLA_STATE) == "green"
    assert attrs.get(sa.NEXT_DEADLINE) == v.next_deadline == v.deadlines["first_response"]
    # No personal data: nothing of the customer's name, contact or words is searchable.
    values = " ".join(str(p.value) for p in attrs)
    # (The whole phone number: its "138" alone can be a deadline's microseconds.)
    for secret in (
        "Li Lei",
        "+86 138 0000 0000",
        "8613800000000",
        "example.com",
        "parcel",
        "C-1001",
    ):
        assert secret not in values

    query = f"WorkflowId = '{h.id}' AND Priority = 'P1' AND RequestStatus = 'assigned'"

    async def listed() -> None:
        found = [w.id async for w in harness.client.list_workflows(query)]
        assert found == [h.id]

    await eventually(listed)

    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="patched")
    )
    attrs = (await h.describe()).typed_search_attributes
    assert attrs.get(sa.REQUEST_STATUS) == "awaiting_confirmation"
    assert attrs.get(sa.NEXT_DEADLINE) is None

    # Current details are served by the worker through the built-in metadata query.
    meta = await h.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "awaiting_confirmation" in meta.current_details and "P1" in meta.current_details
    assert [u.name for u in meta.definition.update_definitions] == sorted(
        ["receipt", *(c.value for c in Command)]
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    final = await ended(h)
    attrs = (await h.describe()).typed_search_attributes
    assert attrs.get(sa.REQUEST_STATUS) == "cancelled" and final.sla_state.value == "none"
