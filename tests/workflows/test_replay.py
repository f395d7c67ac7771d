"""Determinism guard: recorded histories must replay on the current workflow code.

The JSON files in `histories/` are real executions recorded from released code. A change
that would break running requests (reordered commands, a new activity without
`workflow.patched`) fails here. To record a new set after a deliberate, patched change:
`CSFLOW_ENCRYPTION=off CSFLOW_RECORD_HISTORIES=1 pytest tests/workflows/test_replay.py`
(plain payloads: the suite's key ring is made afresh each session, so a sealed recording
could never be opened again; the sealing codec reads plain payloads as they are). Record only the
scenarios you add (`-k name`): the others stand for released code and must stay as they
were recorded.

Each scenario walks one lifecycle path; together they pass through every Update, every
kind of deadline and the improvement child (whose own histories are recorded too).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.worker import Replayer

from csflow.contracts import (
    SYSTEM,
    Actor,
    AssignmentMade,
    CancelCommand,
    ChangePriorityCommand,
    CloseCommand,
    CompensationDecision,
    CompensationRequest,
    CompleteImprovement,
    ConfirmCommand,
    CustomerRepliedCommand,
    EscalateCommand,
    ExplainBreachCommand,
    FollowUpRecord,
    NewNeed,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    RecordCauseCommand,
    ResolveCommand,
    ReviewBreachCommand,
    ServiceRequestInput,
    UpdateCalendarCommand,
    UpdateResult,
    WaitForCustomerCommand,
)
from csflow.crypto import options
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Category, Priority, Role
from csflow.domain.lifecycle import Status
from csflow.settings import Settings
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, at, intake
from tests.workflows.conftest import TERMS, Harness
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

HISTORIES = Path(__file__).parent / "histories"
Handle = WorkflowHandle[Any, Any]
FOLLOW_UP = Actor(id="fu.lin", role=Role.FOLLOW_UP)
# Handlers who hold the request they act on (the policy's `[ownership]`).
LI = Actor(id="li.senior", role=Role.ENGINEER)
WANG = Actor(id="wang.wei", role=Role.AGENT)


async def _closed_after_rehandling(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["inspect"], eta=at("2026-11-25T12:00:00+08:00")),
    )
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="inspected")
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="still noisy"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="replaced")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(  # recorded when an agent could close; now a skip needs a reason
        ServiceRequestWorkflow.close,
        CloseCommand(actor=SUPERVISOR, reason="customer declined the follow-up call"),
    )
    await h.result()
    return h


async def _lifecycle_commands(h: Handle) -> Handle:
    """The commands of the lifecycle bench/lifecycle.py measures, after the start:
    receipt, plan, progress, resolution, confirmation, a good follow-up — closed."""
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["inspect"], eta=at("2026-11-25T12:00:00+08:00")),
    )
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="inspected")
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FOLLOW_UP, score=5, nps=9),
    )
    await h.result()
    return h


async def _full_lifecycle(harness: Harness) -> Handle:
    """The lifecycle bench/lifecycle.py measures: intake, plan, progress, resolution,
    confirmation, a good follow-up, closed."""
    h = await harness.start(intake(priority=Priority.P3))
    return await _lifecycle_commands(h)


async def _breached_then_cancelled(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=20))
    await h.execute_update(
        ServiceRequestWorkflow.cancel,
        CancelCommand(actor=SUPERVISOR, reason="duplicate of another"),
    )
    await h.result()
    return h


async def _paused_and_reprioritised(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="need the serial number"),
    )
    await harness.env.fast_forward(h, timedelta(hours=5))
    await h.execute_update(
        ServiceRequestWorkflow.customer_replied, CustomerRepliedCommand(actor=CUSTOMER, note="SN-1")
    )
    await h.execute_update(
        ServiceRequestWorkflow.change_priority,
        ChangePriorityCommand(actor=SUPERVISOR, priority=Priority.P1, reason="VIP escalation"),
    )
    await harness.env.fast_forward(h, timedelta(hours=3))  # the director takes it over
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=SUPERVISOR, summary="replaced")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(  # recorded when an agent could close; now a skip needs a reason
        ServiceRequestWorkflow.close,
        CloseCommand(actor=SUPERVISOR, reason="customer declined the follow-up call"),
    )
    await h.result()
    return h


async def _followed_up_with_improvement(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P2))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=AGENT, amount=Decimal("900"), reason="lost day"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=True, reason="ok"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.escalate,
        EscalateCommand(
            actor=SUPERVISOR, reason="VIP partner", priority=Priority.P1, to_staff="li.senior"
        ),
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=LI, summary="fixed")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(
            actor=Actor(id="fu.lin", role=Role.FOLLOW_UP), score=1, nps=0, problem="rude"
        ),
    )
    task = harness.client.get_workflow_handle(f"{h.id}-IMP1")
    await task.execute_update(
        "complete_improvement", CompleteImprovement(actor=AGENT, what_changed="training")
    )
    await h.result()
    return h


async def _imported_backlog(harness: Harness) -> Handle:
    """Received 20 minutes before it reached csflow: missed firings recorded, not announced
    (patch `quiet-backlog-firings`), the next ladder step announced."""
    received = datetime.now(UTC) - timedelta(minutes=20)
    h = await harness.start(intake(priority=Priority.P1), received_at=received)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=15))
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="handled by phone")
    )
    await h.result()
    return h


async def _imported_history(harness: Harness) -> Handle:
    """Patch `imported-history`: a request handled by hand, imported with its events dated
    `at` — answered late, planned, resolved, confirmed and followed up — then closed."""
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    number = f"CS{received:%Y%m%d}-TEL-8{uuid.uuid4().int % 100_000:05d}"
    req = intake(priority=Priority.P1, category=Category.CONSULTATION)
    h: Handle = await harness.client.start_workflow(
        ServiceRequestWorkflow.run,
        ServiceRequestInput(
            number=number,
            intake=req,
            received_at=received,
            terms=TERMS.for_intake(req, received),
            imported_events=5,
        ),
        id=number,
        task_queue=harness.queue,
    )
    await h.execute_update("receipt", ReceiptQuery())
    minute = timedelta(minutes=1)
    for update, arg in (
        (
            "post_progress",
            ProgressCommand(actor=AGENT, note="called back", at=received + 20 * minute),
        ),
        (
            "submit_plan",
            PlanCommand(
                actor=AGENT,
                measures=["swap"],
                eta=received + 90 * minute,
                at=received + 30 * minute,
            ),
        ),
        (
            "resolve",
            ResolveCommand(actor=AGENT, summary="swapped", at=received + 60 * minute),
        ),
        (
            "confirm",
            ConfirmCommand(actor=CUSTOMER, satisfied=True, at=received + 70 * minute),
        ),
        (
            "record_follow_up",
            FollowUpRecord(actor=FOLLOW_UP, score=5, nps=10, at=received + 100 * minute),
        ),
    ):
        await h.execute_update(update, arg)
    await h.result()
    return h


async def _caller_start(harness: Harness, serial_prefix: str) -> Handle:
    """A start without terms, numbered by the caller as any caller numbers it
    (docs/contract.md): the workflow checks the number and resolves the terms itself."""
    received = datetime.now(UTC) - timedelta(seconds=5)
    number = f"CS{received:%Y%m%d}-WEB-{serial_prefix}{uuid.uuid4().int % 100_000:05d}"
    h: Handle = await harness.client.start_workflow(
        "ServiceRequest",
        ServiceRequestInput(
            number=number, intake=intake(priority=Priority.P3), received_at=received
        ),
        id=number,
        task_queue=harness.queue,
        result_type=UpdateResult,
    )
    return h


async def _started_by_another_language(harness: Harness) -> Handle:
    """A start without terms, numbered by the caller (docs/contract.md): the workflow
    checks the number and resolves the terms through the `resolve_terms` activity."""
    h = await _caller_start(harness, serial_prefix="9")
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="sent twice")
    )
    await h.result()
    return h


async def _full_lifecycle_compact(harness: Harness) -> Handle:
    """The lifecycle bench/lifecycle.py measures, started as every caller starts it (no
    terms: the workflow resolves them), after patch `compact-terms-and-messages`: the
    terms resolved compact by a local activity, triage and the follow-up plan local too,
    the messages compact and batched per workflow task."""
    h = await _caller_start(harness, serial_prefix="8")
    return await _lifecycle_commands(h)


async def _refused_write_retried(harness: Harness) -> Handle:
    """The database refuses a command's write: the command is answered NotPersisted, the
    request keeps its events and writes them on its own retry. (Recorded before patch
    `persist-salvage`, when intake's write was refused too.)"""
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    harness.store.refuse_next = 1
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ServiceRequestWorkflow.submit_plan,
            PlanCommand(
                actor=AGENT, measures=["inspect"], eta=datetime.now(UTC) + timedelta(days=1)
            ),
        )
    await harness.env.fast_forward(h, timedelta(seconds=31))
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    await h.result()
    return h


async def _refused_write_salvaged(harness: Harness) -> Handle:
    """Patch `persist-salvage`: still refused two minutes on, the write is salvaged and the
    request goes on; a later clean write says so; the cancel is refused once and salvaged
    at once, and the request ends."""
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    harness.store.refuse_next = 100
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ServiceRequestWorkflow.submit_plan,
            PlanCommand(
                actor=AGENT, measures=["inspect"], eta=datetime.now(UTC) + timedelta(days=1)
            ),
        )
    await harness.env.fast_forward(h, timedelta(minutes=3))
    harness.store.refuse_next = 0
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="inspected")
    )
    harness.store.refuse_next = 1
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    await h.result()
    return h


async def _compensation_and_ownership(harness: Harness) -> Handle:
    """Patches `compensation-running-total` and `ownership-and-four-eyes`: 500 + 500
    waits for another supervisor; the holder posts progress and resolves."""
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="wang.wei", reason="knows the customer"),
    )
    for _ in range(2):
        await h.execute_update(
            ServiceRequestWorkflow.request_compensation,
            CompensationRequest(actor=WANG, amount=Decimal("500"), reason="a lost day"),
        )
    await h.execute_update(
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=True, reason="fair"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=WANG, note="refunded")
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=WANG, summary="refunded")
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    await h.result()
    return h


async def _queued_assigned_and_reassigned(harness: Harness) -> Handle:
    """A repeat complaint in an angry voice, nobody free: escalated and queued at intake;
    the queue assigns it, a supervisor reassigns it and pushes a new calendar."""
    harness.assignment.queue = True
    harness.assignment.repeat_of = ["CS20261101-WEB-0001"]
    harness.assignment.emotion = ["anger"]
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.assignment_made,
        AssignmentMade(actor=SYSTEM, assignee="li.na", department="service", rule="room again"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="wang.wei", reason="knows the customer"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.update_calendar,
        UpdateCalendarCommand(
            actor=SUPERVISOR,
            calendar=BusinessCalendar(holidays=frozenset({datetime(2099, 1, 2).date()})),
        ),
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="merged")
    )
    await h.result()
    return h


async def _director_takeover(harness: Harness) -> Handle:
    """P1 left alone: warnings, breaches and the ladder up to the director's takeover."""
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=50))
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["call back"], eta=datetime.now(UTC) + timedelta(days=1)),
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="customer withdrew")
    )
    await h.result()
    return h


async def _silent_after_timeout(harness: Harness) -> Handle:
    """Nobody answers: confirmed by timeout, follow-up reminders and miss, a reactivation
    touch, then closed as silent — every deadline after resolution."""
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="answered by mail")
    )
    await harness.env.fast_forward(h, timedelta(days=12))
    await h.result()
    return h


async def _silent_after_follow_up_deadline(harness: Harness) -> Handle:
    """The same path under patch `follow-up-silence-after-deadline`: the reactivation
    touch waits for the follow-up deadline, so the run is longer."""
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="answered by mail")
    )
    await harness.env.fast_forward(h, timedelta(days=16))
    await h.result()
    return h


async def _rehandled_after_follow_up_then_closed(harness: Harness) -> Handle:
    """A compensation granted and one rejected; re-handling ordered after the follow-up was
    scheduled; a happy follow-up with a new need opens a linked request and closes it."""
    h = await harness.start(intake(priority=Priority.P2))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=AGENT, amount=Decimal("20"), reason="late"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(
        ServiceRequestWorkflow.order_rehandling,
        OrderRehandlingCommand(
            actor=SUPERVISOR, reason="the fix did not hold", assignee="wang.wei"
        ),
    )
    await h.execute_update(
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=WANG, amount=Decimal("900"), reason="second visit"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.decide_compensation,
        CompensationDecision(actor=SUPERVISOR, approve=False, reason="covered by warranty"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=WANG, summary="replaced the part")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(
            actor=FOLLOW_UP,
            score=5,
            nps=10,
            praise="quick",
            cycle=2,
            new_needs=[NewNeed(category=Category.CONSULTATION, description="a second unit")],
        ),
    )
    await h.result()
    return h


async def _improvement_closed_in_time(harness: Harness) -> Handle:
    """The improvement child of `followed_up_with_improvement`, closed before its deadline."""
    parent = await _followed_up_with_improvement(harness)
    return harness.client.get_workflow_handle(f"{parent.id}-IMP1")


async def _improvement_escalated(harness: Harness) -> Handle:
    """An improvement task nobody closes in time: overdue to the department head, then the
    director, then closed; the parent tells the customer and closes."""
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FOLLOW_UP, score=2, nps=3, suggestion="call before coming"),
    )
    task = harness.client.get_workflow_handle(f"{h.id}-IMP1")
    await harness.env.fast_forward(task, timedelta(days=14))
    await task.execute_update(
        "complete_improvement",
        CompleteImprovement(actor=SUPERVISOR, what_changed="technicians call an hour ahead"),
    )
    await task.result()
    await h.result()
    return task


async def _org_routed(harness: Harness) -> Handle:
    """Issue 18's patches: an upset P1 complaint held in a department of the organisation
    chart; a plan, a revised ETA, a reassignment and an escalation (handover notices); the
    ETA missed; ladder steps routed to people and the director's takeover; the complaint's
    supervisor follow-up owed and missed."""
    from csflow.domain.org import Organisation

    harness.assignment.org = Organisation.model_validate(
        {
            "departments": {"care": {"head": "ma.head", "supervisors": ["chen.sup"]}},
            "directors": ["zhou.director"],
        }
    )
    harness.assignment.on_duty = {"ma.head", "chen.sup", "zhou.director", "ann.agent"}
    harness.assignment.holder = (AGENT.id, "care")  # the agent below holds it (ownership)
    harness.assignment.emotion = ["愤怒"]
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    eta = datetime.now(UTC) + timedelta(hours=1)
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["call back"], eta=eta),
    )
    await h.execute_update(
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(
            actor=AGENT, note="非常抱歉: parts ordered", eta=eta + timedelta(minutes=30)
        ),
    )
    await harness.env.fast_forward(h, timedelta(hours=25))
    await h.execute_update(
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="bo.agent", reason="knows the model"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="customer withdrew")
    )
    await h.result()
    return h


async def _breach_explained_and_reviewed(harness: Harness) -> Handle:
    """Issue 16: a breach explained, rejected, explained again and accepted; a cause
    corrected by a supervisor, then given with the resolution."""
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=20))
    holder = Actor(id="senior-desk", role=Role.AGENT)
    for verdict, reason, note in (
        ("rejected", "peak_volume", "the queue was short"),
        ("accepted", "complex_case", None),
    ):
        await h.execute_update(
            ServiceRequestWorkflow.explain_breach,
            ExplainBreachCommand(actor=holder, clock="first_response", reason=reason),
        )
        await h.execute_update(
            ServiceRequestWorkflow.review_breach,
            ReviewBreachCommand(
                actor=SUPERVISOR, clock="first_response", verdict=verdict, note=note
            ),
        )
    await h.execute_update(
        ServiceRequestWorkflow.record_cause,
        RecordCauseCommand(actor=SUPERVISOR, cause="process_gap", responsible_department="care"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.resolve,
        ResolveCommand(
            actor=holder,
            summary="fixed",
            cause="logistics_delay",
            responsible_department="logistics",
        ),
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    await h.result()
    return h


async def _ownership_by_team(harness: Harness) -> Handle:
    """Patch `ownership-by-team`: the holder's team is recorded at each assignment and
    `team_supervisor` means that team's supervisors (and the department's above it): the
    bench team's supervisor acts for li.na, the field team's for zhao.gang after the
    reassignment; the other team's supervisor is refused in the validator (no history)."""
    from csflow.domain.org import Organisation
    from tests.workflows.test_team_ownership import ORG
    from tests.workflows.test_team_ownership import TERMS as BY_TEAM

    harness.assignment.org = Organisation.model_validate(ORG)
    harness.assignment.holder = ("li.na", "repair")
    h = await harness.start(intake(priority=Priority.P3), terms=BY_TEAM)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    xu, wu = Actor(id="xu.sup", role=Role.SUPERVISOR), Actor(id="wu.sup", role=Role.SUPERVISOR)
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=xu, note="on it")
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(
            ServiceRequestWorkflow.post_progress, ProgressCommand(actor=wu, note="mine?")
        )
    await h.execute_update(
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=SUPERVISOR, to_staff="zhao.gang", reason="field visit"),
    )
    await h.execute_update(
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=wu, amount=Decimal("50"), reason="a lost day"),
    )
    await h.execute_update(ServiceRequestWorkflow.resolve, ResolveCommand(actor=wu, summary="ok"))
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    await h.result()
    return h


SCENARIOS: dict[str, Callable[[Harness], Awaitable[Handle]]] = {
    "ownership_by_team": _ownership_by_team,
    "org_routed_ladder_and_handovers": _org_routed,
    "improvement_escalated_with_notices": _improvement_escalated,
    "queued_assigned_and_reassigned": _queued_assigned_and_reassigned,
    "started_by_another_language": _started_by_another_language,
    "refused_write_retried": _refused_write_retried,
    "refused_write_salvaged": _refused_write_salvaged,
    "compensation_and_ownership": _compensation_and_ownership,
    "director_takeover": _director_takeover,  # recorded before the takeover patch
    "director_takeover_on_timeline": _director_takeover,  # and after it
    "silent_after_timeout": _silent_after_timeout,  # recorded before the follow-up patch
    "silent_after_follow_up_deadline": _silent_after_follow_up_deadline,  # and after it
    "rehandled_after_follow_up_then_closed": _rehandled_after_follow_up_then_closed,
    "improvement_closed_in_time": _improvement_closed_in_time,
    "improvement_escalated": _improvement_escalated,
    "imported_backlog": _imported_backlog,
    "imported_history": _imported_history,
    "followed_up_with_improvement": _followed_up_with_improvement,  # before the patch
    # and after patch "improvement-problem-by-reference": the child gets a reference
    "followed_up_with_improvement_by_reference": _followed_up_with_improvement,
    "closed_after_rehandling": _closed_after_rehandling,
    # after patches "small-update-results" and "persist-changes-only": receipts, deltas
    "full_lifecycle_with_receipts": _full_lifecycle,
    # after patch "compact-terms-and-messages": started without terms, compact throughout
    "full_lifecycle_compact": _full_lifecycle_compact,
    # after patch "timers-from-the-write": each persist answers when it committed
    "full_lifecycle_from_the_write": _full_lifecycle_compact,
    # after patch "messages-in-the-write": the messages travel in the persists
    "full_lifecycle_messages_in_the_write": _full_lifecycle_compact,
    "breached_then_cancelled": _breached_then_cancelled,
    "paused_and_reprioritised": _paused_and_reprioritised,
    "breach_explained_and_reviewed": _breach_explained_and_reviewed,
}


async def _replay(history: WorkflowHistory) -> None:
    replayer = Replayer(
        workflows=[ServiceRequestWorkflow, ImprovementTaskWorkflow],
        data_converter=options.data_converter(Settings()),
    )
    await replayer.replay_workflow(history)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_current_code_replays_its_own_histories(harness: Harness, name: str) -> None:
    h = await SCENARIOS[name](harness)
    history = await h.fetch_history()
    await _replay(history)
    if os.environ.get("CSFLOW_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json())


def _recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
async def test_recorded_histories_replay(path: Path) -> None:
    text = path.read_text()
    assert json.loads(text)["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    history = WorkflowHistory.from_json(_workflow_id(text), text)
    await _replay(history)


async def test_a_director_takeover_moves_the_status_on_its_own_event(
    harness: Harness,
) -> None:
    """Patch `ladder-takeover-on-timeline`: the ladder step that hands a request to the
    director now carries status_from/status_to; the history recorded before the patch
    (no marker) replays with the status set as it was then (test_recorded_histories_replay).
    """
    h = await _director_takeover(harness)
    view = await h.query(ServiceRequestWorkflow.get_state)
    step = next(
        e
        for e in view.timeline
        if e.kind == "escalation_step" and e.data["action"] == "director_takeover"
    )
    assert (step.status_from, step.status_to) == (Status.ASSIGNED, Status.ESCALATED)
    moves = [e for e in view.timeline if e.status_to is not None]
    for before, after in pairwise(moves):  # no status changes between the events
        assert after.status_from is before.status_to, (before.kind, after.kind)
    old = (HISTORIES / "director_takeover.json").read_text()
    new = (HISTORIES / "director_takeover_on_timeline.json").read_text()
    assert "ladder-takeover-on-timeline" not in old and "MARKER_RECORDED" not in old
    assert "MARKER_RECORDED" in new


def test_the_improvement_child_gets_a_reference_after_the_patch() -> None:
    """Patch `improvement-problem-by-reference`: the child's input names the parent's
    `improvement_opened` event instead of the customer's words; the history recorded
    before it (no marker, the words in the child's input) replays as it was
    (test_recorded_histories_replay)."""

    def child_problem_and_patches(name: str) -> tuple[str, list[str]]:
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        patches = [
            json.loads(base64.b64decode(p["data"]))["id"]
            for e in events
            if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
            for d in e["markerRecordedEventAttributes"]["details"].values()
            for p in d["payloads"]
        ]
        [child] = [
            e["startChildWorkflowExecutionInitiatedEventAttributes"]
            for e in events
            if e["eventType"] == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"
        ]
        problem = json.loads(base64.b64decode(child["input"]["payloads"][0]["data"]))
        return str(problem["problem"]), patches

    old_problem, old_patches = child_problem_and_patches("followed_up_with_improvement")
    new_problem, new_patches = child_problem_and_patches(
        "followed_up_with_improvement_by_reference"
    )
    assert old_problem == "rude" and "improvement-problem-by-reference" not in old_patches
    assert new_problem.startswith("@improvement_opened:")
    assert "improvement-problem-by-reference" in new_patches


def _patches(name: str) -> list[str]:
    events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
    return [
        json.loads(base64.b64decode(p["data"]))["id"]
        for e in events
        if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
        and e["markerRecordedEventAttributes"]["markerName"] == "core_patch"  # not local acts
        for d in e["markerRecordedEventAttributes"]["details"].values()
        for p in d["payloads"]
    ]


def _scheduled_data(name: str) -> dict[str, Any]:
    """The `follow_up_scheduled` event's data, as the recorded run persisted it."""
    events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
    for e in events:
        attrs = e.get("activityTaskScheduledEventAttributes")
        if not attrs or attrs["activityType"]["name"] != "record_events":
            continue
        batch = json.loads(base64.b64decode(attrs["input"]["payloads"][0]["data"]))
        for ev in batch["events"]:
            if ev["kind"] == "follow_up_scheduled":
                return dict(ev["data"])
    raise AssertionError(f"{name}: no follow_up_scheduled event")


def test_silence_waits_for_the_follow_up_deadline_after_the_patch() -> None:
    """Patch `follow-up-silence-after-deadline`: the history recorded before it (the
    reactivation touch 48 h after scheduling) replays as it was; the one after it waits for
    the follow-up deadline and says so on the scheduling event."""
    assert "follow-up-silence-after-deadline" not in _patches("silent_after_timeout")
    assert "follow-up-silence-after-deadline" in _patches("silent_after_follow_up_deadline")
    old = _scheduled_data("silent_after_timeout")
    new = _scheduled_data("silent_after_follow_up_deadline")
    assert "reactivation_at" not in old
    assert new["reactivation_at"] >= new["due_at"]


def test_a_lifecycle_writes_receipts_and_changes_after_the_patch() -> None:
    """Patch `receipts-and-row-changes`: in the lifecycle recorded after it every Update
    answers with a receipt, the persists are local activities (no input in history) and
    the run's result is a receipt; a lifecycle recorded before it (no marker) answered
    with whole views and scheduled `record_events` activities, and still replays
    (test_recorded_histories_replay)."""

    def payload(p: dict[str, Any]) -> Any:
        return json.loads(base64.b64decode(p["data"]))

    def shape(name: str) -> tuple[list[str], list[set[str]], int, int]:
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        patches = [
            payload(e["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"][0])[
                "id"
            ]
            for e in events
            if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
            and e["markerRecordedEventAttributes"]["markerName"] == "core_patch"
        ]
        results = [
            set(
                payload(
                    e["workflowExecutionUpdateCompletedEventAttributes"]["outcome"]["success"][
                        "payloads"
                    ][0]
                )
            )
            for e in events
            if e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED"
        ]
        scheduled = sum(
            1
            for e in events
            if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
            and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "record_events"
        )
        local = sum(
            1
            for e in events
            if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
            and e["markerRecordedEventAttributes"]["markerName"] == "core_local_activity"
        )
        return patches, results, scheduled, local

    old_patches, old_results, old_scheduled, old_local = shape("closed_after_rehandling")
    assert "receipts-and-row-changes" not in old_patches
    assert all("timeline" in r for r in old_results) and old_scheduled > 0 and old_local == 0
    patches, results, scheduled, local = shape("full_lifecycle_with_receipts")
    assert "receipts-and-row-changes" in patches
    assert results and all(r == {"number", "status", "seq"} for r in results)
    assert scheduled == 0 and local >= 6  # intake, plan, progress, resolve, confirm, close


def test_a_lifecycle_is_compact_after_the_patch() -> None:
    """Patch `compact-terms-and-messages`: the lifecycle recorded after it holds one patch
    marker (every earlier patch taken as applied), the terms, the triage and the
    follow-up plan as local activities' markers (no input in history), the messages
    compact — batched per workflow task, no recipient or address in them — answered with
    nothing; the lifecycle recorded before it still replays
    (test_recorded_histories_replay)."""

    def payload(p: dict[str, Any]) -> Any:
        return json.loads(base64.b64decode(p["data"])) if "data" in p else None

    events = json.loads((HISTORIES / "full_lifecycle_compact.json").read_text())["events"]
    markers = [
        e["markerRecordedEventAttributes"] for e in events if "markerRecordedEventAttributes" in e
    ]
    patches = [
        payload(m["details"]["patch-data"]["payloads"][0])["id"]
        for m in markers
        if m["markerName"] == "core_patch"
    ]
    assert patches == ["compact-terms-and-messages"]
    local = [
        payload(m["details"]["data"]["payloads"][0])["activity_type"]
        for m in markers
        if m["markerName"] == "core_local_activity"
    ]
    assert {"resolve_terms", "triage", "plan_follow_up"} <= set(local)
    scheduled = [
        e["activityTaskScheduledEventAttributes"]
        for e in events
        if "activityTaskScheduledEventAttributes" in e
    ]
    assert {a["activityType"]["name"] for a in scheduled} == {
        "send_notification",
        "release_assignment",
    }
    sends = [
        payload(a["input"]["payloads"][0])
        for a in scheduled
        if a["activityType"]["name"] == "send_notification"
    ]
    messages = [m for s in sends for m in (s if isinstance(s, list) else [s])]
    assert len(sends) == 5 and len(messages) == 7  # intake's two and the plan's two batched
    for m in messages:
        assert set(m) <= {"key", "priority", "variables", "channels", "language"}
        assert "number" not in m.get("variables", {})
    results = [
        e["activityTaskCompletedEventAttributes"]["result"]["payloads"][0]
        for e in events
        if "activityTaskCompletedEventAttributes" in e
    ]
    assert sum(1 for r in results if payload(r) is None) >= len(sends)


def _workflow_id(text: str) -> str:
    """The exported history does not carry its workflow id, and a start without terms
    checks that its number is the id: the request's number (or the task's id) stands for
    it, as it does in every real execution."""
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    data = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
    return str(data.get("task_id") or data["number"])


def test_there_are_recorded_histories() -> None:
    assert {p.stem for p in _recorded()} == set(SCENARIOS)


def test_the_holders_team_decides_after_the_patch_only() -> None:
    """Patch `ownership-by-team`: the history recorded with it carries its marker and the
    holder's team in the assignment results; the one recorded before it has neither and
    replays with `team_supervisor` department-wide (test_recorded_histories_replay)."""
    assert "ownership-by-team" in _patches("ownership_by_team")
    assert "ownership-by-team" not in _patches("compensation_and_ownership")
    new = (HISTORIES / "ownership_by_team.json").read_text()
    decoded = _decoded_payloads(new)
    assert '"team":"bench"' in decoded and '"team":"field"' in decoded


def _decoded_payloads(text: str) -> str:
    """Every payload of a recorded history, decoded (recordings are plain JSON payloads)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "data" in node and "metadata" in node:
                out.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(text))
    return "\n".join(out)


def test_a_lifecycle_counts_its_timers_from_the_write_after_the_patch() -> None:
    """Patch `timers-from-the-write`: each persist's marker holds when the write
    committed, and the run marks the patch (a run under `compact-terms-and-messages` does
    not take it as applied); the lifecycle recorded before it, whose persists answered a
    bare count, replays as it was (test_recorded_histories_replay)."""

    def persists(name: str) -> tuple[list[str], list[Any]]:
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        markers = [
            e["markerRecordedEventAttributes"]
            for e in events
            if "markerRecordedEventAttributes" in e
        ]
        patches = [
            json.loads(base64.b64decode(m["details"]["patch-data"]["payloads"][0]["data"]))["id"]
            for m in markers
            if m["markerName"] == "core_patch"
        ]
        results = [
            json.loads(base64.b64decode(m["details"]["result"]["payloads"][0]["data"]))
            for m in markers
            if m["markerName"] == "core_local_activity"
            and json.loads(base64.b64decode(m["details"]["data"]["payloads"][0]["data"]))[
                "activity_type"
            ]
            == "record_events"
        ]
        return patches, results

    old_patches, old_results = persists("full_lifecycle_compact")
    assert old_patches == ["compact-terms-and-messages"]
    assert old_results and all(isinstance(r, int) for r in old_results)
    patches, results = persists("full_lifecycle_from_the_write")
    assert patches == ["compact-terms-and-messages", "timers-from-the-write"]
    assert results and all(set(r) == {"at"} and len(r["at"]) == 24 for r in results)


def test_a_lifecycle_writes_its_messages_with_its_events_after_the_patch() -> None:
    """Patch `messages-in-the-write`: the lifecycle recorded after it schedules no
    `send_notification` activity (its messages went in the persists' inputs, which a
    local activity's marker does not keep) and marks the patch; the lifecycle recorded
    before it sent each task's messages in an activity, and replays as it was
    (test_recorded_histories_replay)."""

    def recorded(name: str) -> tuple[list[str], list[str]]:
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        scheduled = [
            e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
            for e in events
            if "activityTaskScheduledEventAttributes" in e
        ]
        return _patches(name), scheduled

    patches, scheduled = recorded("full_lifecycle_from_the_write")
    assert "messages-in-the-write" not in patches
    assert scheduled.count("send_notification") == 5
    patches, scheduled = recorded("full_lifecycle_messages_in_the_write")
    assert patches == [  # the intake's write carries the first messages, then a timer
        "compact-terms-and-messages",
        "messages-in-the-write",
        "timers-from-the-write",
    ]
    assert scheduled == ["release_assignment"]
    text = (HISTORIES / "full_lifecycle_messages_in_the_write.json").read_text()
    assert "acknowledgement" not in _decoded_payloads(text), "no message kept in history"
