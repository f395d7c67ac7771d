"""The workflow's own rules for events dated `at` (docs/import.md, "The whole history"):
only a request being imported takes them, never from the future, never out of order; a
recorded answer that comes after its window ran out is refused like a live one; an import
that stops half-way holds the clocks for IMPORT_WAIT at most, then they catch up unheard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from csflow.contracts import (
    Actor,
    CancelCommand,
    CompleteImprovement,
    ConfirmCommand,
    FollowUpRecord,
    ImprovementRow,
    PlanCommand,
    ProgressCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    ServiceRequestInput,
)
from csflow.domain import clocks
from csflow.domain.codes import Priority, Role
from csflow.refusals import Refusal
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually, intake
from tests.workflows.conftest import TERMS, Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow
from workflows.service_request.workflow import IMPORT_WAIT

Handle = WorkflowHandle[ServiceRequestWorkflow, RequestView]


async def state(h: Handle) -> RequestView:
    view: RequestView = await h.query("get_state", result_type=RequestView)
    return view


M = timedelta(minutes=1)


async def imported(harness: Harness, received: datetime, events: int) -> Handle:
    """Started as `csflow import` starts a row that brings `events` recorded events."""
    harness._serial += 1
    number = f"CS20261123-TEL-{harness._serial:04d}-{harness.queue[-6:]}"
    req = intake(priority=Priority.P1)
    h: Handle = await harness.client.start_workflow(
        ServiceRequestWorkflow.run,
        ServiceRequestInput(
            number=number,
            intake=req,
            received_at=received,
            terms=TERMS.for_intake(req, received),
            imported_events=events,
        ),
        id=number,
        task_queue=harness.queue,
    )
    await act(h, "receipt", ReceiptQuery())
    return h


async def refused(call: object, reason: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await call  # type: ignore[misc]
    cause = caught.value.cause
    assert getattr(cause, "type", None) == Refusal.INVALID.value
    assert reason in str(cause)


async def test_a_live_request_takes_no_recorded_time(harness: Harness) -> None:
    h = await harness.start(intake())
    await act(h, "receipt", ReceiptQuery())
    await refused(
        act(
            h,
            "post_progress",
            ProgressCommand(actor=AGENT, note="x", at=datetime.now(UTC) - M),
        ),
        "only for the events of a request being imported",
    )
    await act(h, "cancel", CancelCommand(actor=SUPERVISOR, reason="test done"))


async def test_recorded_times_are_bounded_and_in_order(harness: Harness) -> None:
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    h = await imported(harness, received, events=4)
    await refused(
        act(
            h,
            "post_progress",
            ProgressCommand(actor=AGENT, note="x", at=received - M),
        ),
        "before the request's previous event (assigned",
    )
    await refused(
        act(
            h,
            "post_progress",
            ProgressCommand(actor=AGENT, note="x", at=datetime.now(UTC) + timedelta(hours=2)),
        ),
        "is in the future",
    )
    # The P1's first response was due 15 minutes after receipt: answered at 20, it is late,
    # and the breach stands before the answer on the timeline.
    view = await act(
        h,
        "post_progress",
        ProgressCommand(actor=AGENT, note="called back", at=received + 20 * M),
    )
    answer = view.timeline[-1]
    assert answer.kind == "progress_posted" and answer.at == received + 20 * M
    assert answer.data["sla"] == {"first_response": "breached"}
    breaches = [e for e in view.timeline if e.kind == "sla_breached"]
    assert [(e.data["name"], e.at - received) for e in breaches] == [("first_response", 15 * M)]
    await refused(
        act(
            h,
            "submit_plan",
            PlanCommand(
                actor=AGENT, measures=["swap"], eta=received + 3 * 60 * M, at=received + 10 * M
            ),
        ),
        "events are imported in the order they happened",
    )
    # Resolved at 30 minutes; the customer's recorded answer a minute after the
    # confirmation window closed comes too late: it was confirmed by timeout first, as a
    # live request would have been.
    resolved = received + 30 * M
    await act(
        h,
        "resolve",
        ResolveCommand(actor=AGENT, summary="replaced", at=resolved),
    )
    terms = TERMS.for_intake(intake(priority=Priority.P1), received)
    window = clocks.start_deadline(
        "confirmation", 1, terms.confirmation_window, terms, resolved, warn=False
    )
    assert window.due_at is not None and window.due_at + M < datetime.now(UTC)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await act(
            h,
            "confirm",
            ConfirmCommand(actor=CUSTOMER, satisfied=True, at=window.due_at + M),
        )
    assert getattr(caught.value.cause, "type", None) == Refusal.ILLEGAL_STATE.value
    view = await state(h)
    timeout = next(e for e in view.timeline if e.kind == "confirmed_by_timeout")
    assert timeout.at == window.due_at and timeout.data["announced"] is False
    sent = [n for n in harness.notify.sent if n.number == h.id]
    assert sent == [], [n.key for n in sent]
    await act(h, "cancel", CancelCommand(actor=SUPERVISOR, reason="test done"))


async def test_an_import_that_stops_half_way_lets_the_clocks_catch_up_unheard(
    harness: Harness,
) -> None:
    received = datetime.now(UTC).replace(microsecond=0) - 90 * M
    h = await imported(harness, received, events=3)
    await act(
        h,
        "post_progress",
        ProgressCommand(actor=AGENT, note="called back", at=received + 5 * M),
    )
    view = await state(h)
    assert not any(e.kind == "sla_breached" for e in view.timeline), "held at the last event"
    await harness.env.fast_forward(h, IMPORT_WAIT + M)

    async def caught_up() -> RequestView:
        v = await state(h)
        assert any(e.kind == "sla_breached" and e.data["name"] == "plan" for e in v.timeline)
        return v

    view = await eventually(caught_up)
    breach = next(e for e in view.timeline if e.kind == "sla_breached")
    assert breach.at == received + 60 * M and breach.data["announced"] is False
    await refused(
        act(
            h,
            "post_progress",
            ProgressCommand(actor=AGENT, note="too late", at=received + 80 * M),
        ),
        "its import has finished",
    )
    sent = [n for n in harness.notify.sent if n.number == h.id]
    assert all(
        not n.key.split("/")[1].isdigit() or int(n.key.split("/")[1]) > breach.seq for n in sent
    ), [n.key for n in sent]
    await act(h, "cancel", CancelCommand(actor=SUPERVISOR, reason="test done"))


async def test_negative_feedback_recorded_by_hand_escalates_its_task_unheard(
    harness: Harness,
) -> None:
    """Score 1 ten days ago: the improvement task opened then was overdue long before the
    import — its escalations are on record, nobody is paged for them; what changed still
    reaches the customer when the task is closed now."""
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    h = await imported(harness, received, events=3)
    for name, arg in (
        ("resolve", ResolveCommand(actor=AGENT, summary="replaced", at=received + 30 * M)),
        ("confirm", ConfirmCommand(actor=CUSTOMER, satisfied=True, at=received + 40 * M)),
        (
            "record_follow_up",
            FollowUpRecord(
                actor=Actor(id="fu.lin", role=Role.FOLLOW_UP),
                score=1,
                nps=0,
                problem="nobody called back",
                at=received + 2 * 60 * M,
            ),
        ),
    ):
        await act(h, name, arg)
    task = harness.client.get_workflow_handle(f"{h.id}-IMP1")

    async def escalated() -> list[str]:
        done: list[str] = await task.query("escalations", result_type=list[str])
        assert done == ["department_head", "director"], done
        return done

    await eventually(escalated)
    opened = next(e for e in (await state(h)).timeline if e.kind == "improvement_opened")
    assert opened.at == received + 2 * 60 * M and opened.data["announced"] is False
    await task.execute_update(
        "complete_improvement",
        CompleteImprovement(actor=AGENT, what_changed="call-backs are tracked"),
        result_type=ImprovementRow,
    )
    await h.result()
    sent = [n for n in harness.notify.sent if n.number == h.id]
    assert [n.template for n in sent] == ["improvement_outcome"], [n.key for n in sent]
