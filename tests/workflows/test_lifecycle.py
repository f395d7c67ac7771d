"""Every path of the request lifecycle, on the dev server with in-memory activities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from csflow.config.terms import TermsProvider
from csflow.contracts import (
    Actor,
    CancelCommand,
    CloseCommand,
    ConfirmCommand,
    FollowUpRecord,
    PlanCommand,
    ProgressCommand,
    ReceiptQuery,
    ResolveCommand,
)
from csflow.domain.codes import Priority, Role, Tier
from csflow.domain.lifecycle import Status
from csflow.domain.policy import policy_from_mapping
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act, ended
from workflows.service_request import ServiceRequestWorkflow

ETA = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def plan() -> PlanCommand:
    return PlanCommand(actor=AGENT, measures=["replace the parcel", "refund shipping"], eta=ETA)


async def test_happy_path_ends_closed_with_a_full_audited_timeline(harness: Harness) -> None:
    h = await harness.start(intake())
    receipt = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    assert receipt.status is Status.ASSIGNED
    assert receipt.assignee == "senior-desk"  # P2: senior staff

    v = await act(h, ServiceRequestWorkflow.submit_plan, plan())
    assert v.status is Status.IN_PROGRESS and v.plan is not None
    assert v.plan.owner == "senior-desk" and v.eta == ETA
    v = await act(
        h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="courier booked")
    )
    v = await act(
        h,
        ServiceRequestWorkflow.resolve,
        ResolveCommand(actor=AGENT, summary="new parcel delivered"),
    )
    assert v.status is Status.AWAITING_CONFIRMATION
    v = await act(
        h,
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=True, evidence_ref="chat://screenshot/1"),
    )
    assert v.status is Status.FOLLOW_UP_SCHEDULED, "confirmed: the follow-up is planned"
    assert v.follow_up is not None and v.follow_up.owner == "fu.lin"
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(
            actor=Actor(id="fu.lin", role=Role.FOLLOW_UP), score=5, nps=10, praise="fast"
        ),
    )

    final = await ended(h)
    assert final.status is Status.CLOSED and final.closed_at is not None
    kinds = [e.kind for e in final.timeline]
    assert kinds == [
        "received",
        "assigned",
        "plan_submitted",
        "progress_posted",
        "resolution_proposed",
        "customer_confirmed",
        "follow_up_scheduled",
        "follow_up_recorded",
        "closed",
    ]
    assert [e.seq for e in final.timeline] == list(range(1, 10))
    assert final.timeline[5].actor == CUSTOMER
    assert final.timeline[4].reason == "new parcel delivered"
    assert final.timeline[-1].reason == "followed up"
    assert all(e.at.tzinfo is not None for e in final.timeline)
    # Every event was persisted exactly once, in order, and intake travelled only once.
    assert harness.store.seqs(h.id) == list(range(1, 10))
    batches = [b for b in harness.store.batches if b.request_number == h.id]
    assert [b.intake is not None for b in batches].count(True) == 1
    assert batches[0].intake is not None and batches[0].events[0].kind == "received"
    # Patch `receipts-and-row-changes`: the intake's batch carries the whole row, every later
    # one only the columns that changed (a plan, then the status, never the customer).
    assert batches[0].state is not None and batches[0].changes is None
    assert all(b.state is None and b.changes is not None for b in batches[1:])
    assert batches[1].changes is not None and "plan" in batches[1].changes
    assert all(b.changes is not None and "customer_id" not in b.changes for b in batches[1:])
    assert final.sla_state.value == "none" and final.next_deadline is None


async def test_refusal_rehandles_with_priority_raised_and_a_new_resolution_clock(
    harness: Harness,
) -> None:
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="explained the policy")
    )
    v = await act(
        h,
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="still broken"),
    )
    assert v.status is Status.REHANDLING
    assert v.priority is Priority.P2
    assert v.rehandle_count == 1
    rehandle = v.timeline[-1]
    assert rehandle.kind == "rehandling_started" and rehandle.reason == "still broken"
    assert rehandle.data["priority_from"] == "P3" and rehandle.data["priority_to"] == "P2"
    resolution = [c for c in v.clocks if c.name == "resolution"]
    assert len(resolution) == 2 and resolution[0].satisfied_at is not None
    assert resolution[1].due_at is not None
    assert resolution[1].due_at - resolution[1].started_at == timedelta(hours=4)  # P2 terms
    assert v.deadlines["resolution"] == resolution[1].due_at

    # Work continues in the re-handling state, and the loop repeats.
    v = await act(
        h,
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="engineer dispatched"),
    )
    assert v.status is Status.REHANDLING
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="part replaced")
    )
    v = await act(
        h,
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="noise remains"),
    )
    assert v.priority is Priority.P1 and v.rehandle_count == 2
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="unit swapped")
    )
    v = await act(
        h,
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="wants refund"),
    )
    assert v.priority is Priority.P1, "P1 is the ceiling"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="refunded instead")
    )
    assert (await ended(h)).status is Status.CANCELLED


@pytest.mark.parametrize(
    "stage", ["assigned", "in_progress", "awaiting_confirmation", "follow_up_scheduled"]
)
async def test_cancel_is_legal_in_every_open_state(harness: Harness, stage: str) -> None:
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    if stage != "assigned":
        await h.execute_update(ServiceRequestWorkflow.submit_plan, plan())
    if stage in ("awaiting_confirmation", "follow_up_scheduled"):
        await h.execute_update(
            ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="done")
        )
    if stage == "follow_up_scheduled":
        await h.execute_update(
            ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
        )
    assert (await h.query(ServiceRequestWorkflow.get_state)).status.value == stage
    v = await act(
        h,
        ServiceRequestWorkflow.cancel,
        CancelCommand(actor=SUPERVISOR, reason="customer withdrew"),
    )
    assert v.status is Status.CANCELLED
    final = await ended(h)
    assert final.timeline[-1].kind == "cancelled"
    assert final.timeline[-1].reason == "customer withdrew"
    assert final.timeline[-1].status_from is not None
    assert final.timeline[-1].status_from.value == stage


async def test_illegal_commands_are_refused_with_a_reason_and_leave_no_trace(
    harness: Harness,
) -> None:
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())

    async def settled() -> None:  # the intake's notifications complete in the background
        description = await h.describe()
        assert not description.raw_description.pending_activities
        # ... and the workflow task that took in the last of them has completed.
        assert not description.raw_description.HasField("pending_workflow_task")

    await eventually(settled)
    before = await _traces(h)

    refusals = [
        (
            ServiceRequestWorkflow.confirm,
            ConfirmCommand(actor=CUSTOMER, satisfied=True),
            "cannot confirm while the request is assigned",
        ),
        (
            ServiceRequestWorkflow.close,
            CloseCommand(actor=AGENT),
            "cannot close while the request is assigned",
        ),
    ]
    for update, arg, reason in refusals:
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await h.execute_update(update, arg)  # type: ignore[arg-type]
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "IllegalTransition"
        assert reason in cause.message

    after = await _traces(h)
    assert after == before, "a rejected Update writes nothing to history"
    state = await h.query(ServiceRequestWorkflow.get_state)
    assert state.status is Status.ASSIGNED and len(state.timeline) == 2

    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="duplicate")
    )
    await h.result()


async def test_no_command_is_accepted_after_the_request_ended(harness: Harness) -> None:
    h = await harness.start(intake())
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="spam")
    )
    final = await ended(h)
    assert final.status is Status.CANCELLED
    # Cancel during intake waited for intake to finish: the timeline is complete.
    assert [e.kind for e in final.timeline] == ["received", "assigned", "cancelled"]


@pytest.mark.parametrize(
    ("tier", "priority", "desk"),
    [
        (Tier.VIP, Priority.P3, "senior-desk"),
        (Tier.REGULAR, Priority.P1, "senior-desk"),
        (Tier.REGULAR, Priority.P3, "complaints-desk"),
    ],
)
async def test_simple_assignment_rule(
    harness: Harness, tier: Tier, priority: Priority, desk: str
) -> None:
    base = intake(priority=priority)
    base.customer.tier = tier
    h = await harness.start(base)
    v = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    assert v.assignee == desk
    assert v.timeline[1].reason and "→" in v.timeline[1].reason
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_undecodable_input_fails_the_workflow_clearly(harness: Harness) -> None:
    """Bad input must not leave a workflow retrying its first task forever."""
    h = await harness.client.start_workflow(
        "ServiceRequest",
        {"number": "CS-bad", "intake": {"channel": "fax"}},
        id=f"bad-{harness.queue}",
        task_queue=harness.queue,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await h.result()
    assert "received_at" in str(caught.value.cause) or "channel" in str(caught.value.cause)


async def test_a_refused_write_loses_nothing_and_is_retried_by_the_request(
    harness: Harness,
) -> None:
    harness.store.refuse_next = 3  # intake's write, the plan's, and the loop's quick retry
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(ServiceRequestWorkflow.submit_plan, plan())
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "NotPersisted"
    state = await h.query(ServiceRequestWorkflow.get_state)
    assert state.status is Status.IN_PROGRESS, "the command itself was accepted"

    async def three_refusals() -> None:
        assert harness.store.calls == 3

    await eventually(three_refusals)
    assert harness.store.seqs(h.id) == []

    await harness.env.fast_forward(h, timedelta(seconds=31))  # the request retries the write

    async def persisted() -> None:
        assert harness.store.seqs(h.id) == [1, 2, 3]

    await eventually(persisted)
    assert harness.store.batches[0].intake is not None, "intake travels with the first write"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    assert harness.store.seqs(h.id) == [1, 2, 3, 4]


async def test_each_lifecycle_event_sends_its_messages_without_waiting(
    harness: Harness,
) -> None:
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="courier booked")
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="delivered")
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    await h.result()
    sent = [(n.template, n.recipient.kind) for n in harness.notify.sent if n.number == h.id]
    assert sent == [
        ("acknowledgement", "customer"),
        ("staff_assignment", "staff"),
        ("progress_update", "customer"),
        ("resolution", "customer"),
    ]
    keys = [n.key for n in harness.notify.sent if n.number == h.id]
    assert len(keys) == len(set(keys))


async def test_a_banned_promise_to_the_customer_is_refused_naming_it(harness: Harness) -> None:
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(
            ServiceRequestWorkflow.post_progress,
            ProgressCommand(actor=AGENT, note="修好了，绝对保证不会再坏"),
        )
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "Compliance" and "绝对保证" in caught.value.cause.message
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_the_banned_list_is_policy_and_travels_with_the_request(
    harness: Harness,
) -> None:
    """An organisation's own phrase, from `[compliance] banned_phrases`, is refused; a
    built-in one it chose to drop is allowed."""
    policy = policy_from_mapping({"compliance": {"banned_phrases": ["free upgrade for life"]}})
    h = await harness.start(intake(), terms=TermsProvider(policy))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(
            ServiceRequestWorkflow.post_progress,
            ProgressCommand(actor=AGENT, note="You get a FREE upgrade  for life"),
        )
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "Compliance"
    assert "free upgrade for life" in caught.value.cause.message
    v = await act(
        h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="本卡永久有效")
    )  # not on this organisation's list
    assert v.timeline[-1].kind == "progress_posted"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def _traces(h: WorkflowHandle[Any, Any]) -> list[int]:
    """The events of a history other than workflow tasks: an Update's acceptance,
    completion or anything its handler did. The server may keep an empty workflow task
    for the first Update after the run's first task (it was not a speculative one), so
    those are left out of what a refusal must not write."""
    tasks = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    return [e.event_id async for e in h.fetch_history_events() if e.event_type not in tasks]
