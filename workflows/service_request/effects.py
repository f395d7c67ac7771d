"""Every activity and child workflow a request calls: one function each, with its
timeouts and retries, so the workflow reads as decisions and this file as the outside
world it touches. Deterministic to call from workflow code only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.assignment import AssignmentActivities
    from activities.followup import FollowUpActivities
    from activities.notify import NotifyActivities
    from activities.store import StoreActivities
    from activities.terms import TermsActivities
    from csflow.activity_io import (
        FollowUpPlan,
        LinkedRequestInput,
        PlanFollowUpInput,
        RecordEvents,
        ReleaseInput,
        ResolveTermsInput,
        TransferInput,
        TransferResult,
        Triage,
        TriageInput,
        Written,
    )
    from csflow.contracts import ImprovementInput, ImprovementResult
    from csflow.domain.org_routes import EscalationRoute, EscalationRouteInput
    from csflow.domain.terms import RequestTerms
    from csflow.notify.models import CompactNotification, Notification
    from csflow.notify.templates import declared_variables
    from workflows import options

IMPROVEMENT_TASK = "ImprovementTask"
A = TypeVar("A")
R = TypeVar("R")


async def _quick(
    method: Callable[[Any, A], Awaitable[R]],
    arg: A,
    summary: str | None = None,
    *,
    local: bool = False,
) -> R:
    """A short call to csflow's own services (PostgreSQL, the policy): 10 s an attempt,
    retried until it succeeds or refuses for good. `local`: run by the worker inside the
    workflow task (a local activity) — history keeps only the result's marker; no summary
    (patch `compact-terms-and-messages`)."""
    if local:
        return await workflow.execute_local_activity_method(
            method,
            arg,
            start_to_close_timeout=options.ASSIGN_TIMEOUT,
            retry_policy=options.ASSIGN_RETRY,
        )
    return await workflow.execute_activity_method(
        method,
        arg,
        start_to_close_timeout=options.ASSIGN_TIMEOUT,
        retry_policy=options.ASSIGN_RETRY,
        summary=summary,
    )


async def resolve_terms(inp: ResolveTermsInput, *, local: bool = False) -> RequestTerms:
    """`local` (patch `compact-terms-and-messages`): a local activity — it reads only the
    worker's policy, in memory, and changes nothing — so history keeps only its marker
    with the (compact) terms, no input and no activity task's three events."""
    return await _quick(
        TermsActivities.resolve_terms, inp, "resolve SLA terms from the policy", local=local
    )


async def triage(inp: TriageInput, *, local: bool = False) -> Triage:
    """`local` (patch `compact-terms-and-messages`): a local activity — a few reads and one
    assignment, idempotent by the request number (a retry finds it "already assigned") —
    so history keeps its result's marker only: no input (the sealed description), no
    activity task's three events, no workflow task to hear of its completion."""
    return await _quick(AssignmentActivities.triage, inp, local=local)


async def transfer(
    number: str, to_staff: str | None = None, to_department: str | None = None
) -> TransferResult:
    """Capacity is checked where it is counted (PostgreSQL), never guessed here."""
    move = TransferInput(number=number, to_staff=to_staff, to_department=to_department)
    return await _quick(AssignmentActivities.transfer, move)


async def route_escalation(inp: EscalationRouteInput) -> EscalationRoute:
    """Who a ladder step reaches, and where `reassign` / a takeover moves the request."""
    return await _quick(
        AssignmentActivities.route_escalation,
        inp,
        f"ladder step: {', '.join(inp.roles) or inp.action}",
    )


async def release(number: str) -> None:
    """Free the holder's capacity; the queue drains to whoever has room (which takes
    longer: each request it hands on is told)."""
    await workflow.execute_activity_method(
        AssignmentActivities.release,
        ReleaseInput(number=number),
        start_to_close_timeout=options.RELEASE_TIMEOUT,
        retry_policy=options.ASSIGN_RETRY,
    )


async def plan_follow_up(inp: PlanFollowUpInput, *, local: bool = False) -> FollowUpPlan:
    """`local` (patch `compact-terms-and-messages`): a local activity — one read and a
    signed link, nothing written — so history keeps only its result's marker."""
    return await _quick(FollowUpActivities.plan_follow_up, inp, local=local)


async def open_linked_request(inp: LinkedRequestInput) -> str:
    return await _quick(FollowUpActivities.open_linked_request, inp)


async def start_improvement(
    inp: ImprovementInput, summary: str
) -> ChildWorkflowHandle[Any, ImprovementResult]:
    """A child the request waits for; abandoned (not cancelled) if the request ends."""
    return await workflow.start_child_workflow(
        IMPROVEMENT_TASK,
        inp,
        id=inp.task_id,
        result_type=ImprovementResult,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        parent_close_policy=ParentClosePolicy.ABANDON,
        static_summary=summary,
    )


def compact(n: Notification) -> CompactNotification | None:
    """`n` as a `CompactNotification` (the variables its template reads, nothing its key
    already says), or None when it does not fit one (a ladder page): sent whole."""
    return CompactNotification.of(n, declared_variables(n.template))


def send(n: Notification | list[CompactNotification]) -> asyncio.Task[Any]:
    """Started, not awaited: a slow channel never holds up the request. A list (the
    request's patch `compact-terms-and-messages`): the compact messages one workflow task
    planned, in one activity — each still sent once by its own key; the activity answers
    nothing (csflow/notify/models.py, activities/notify.py)."""
    what: str | None
    arg: Notification | CompactNotification | list[CompactNotification]
    if isinstance(n, list):
        # No summary: a sealed payload of ~150 bytes in every message's history, saying
        # what the input's keys say (`{number}/{seq}/{recipient}/{template}`).
        what, arg = None, (n if len(n) > 1 else n[0])
    else:
        what, arg = f"{n.template} → {n.recipient.kind}", n
    return workflow.start_activity_method(
        NotifyActivities.send,
        arg,
        start_to_close_timeout=options.NOTIFY_TIMEOUT,
        schedule_to_close_timeout=options.NOTIFY_WITHIN,
        retry_policy=options.NOTIFY_RETRY,
        summary=what,
    )


async def record_events(
    batch: RecordEvents, *, local: bool = False, labelled: bool = True
) -> datetime | None:
    """One short, idempotent transaction. `local` (the request's patch
    `receipts-and-row-changes`): run as a local activity, in the worker that runs the
    workflow task — no activity task through the server, no input in history (only the
    result's marker), and an Update's persist completes in the task that accepted it.
    A write refused outright fails at once either way; connection trouble is retried
    the same (locally up to a minute, then with a timer between attempts). Not
    `labelled` (patch `compact-terms-and-messages`): the marker carries no summary — a
    sealed payload of ~120 bytes each time, saying what its activity type already says.

    Returns when the write committed by the worker's clock (`Written.at`), or None from
    a history whose writes answered only their count."""
    first, last = batch.events[0].seq, batch.events[-1].seq
    written: int | Written
    if local:
        written = await workflow.execute_local_activity_method(
            StoreActivities.record_events,
            batch,
            start_to_close_timeout=options.PERSIST_TIMEOUT,
            retry_policy=options.PERSIST_RETRY,
            summary=f"persist events {first}..{last}" if labelled else None,
        )
    else:
        written = await workflow.execute_activity_method(
            StoreActivities.record_events,
            batch,
            start_to_close_timeout=options.PERSIST_TIMEOUT,
            retry_policy=options.PERSIST_RETRY,
            summary=f"persist events {first}..{last}",
        )
    return written.at if isinstance(written, Written) else None


async def salvage_events(batch: RecordEvents) -> int:
    """The write the database refused, storing what it takes; returns the parts set
    aside in persist_dead_letters (docs/events.md)."""
    first, last = batch.events[0].seq, batch.events[-1].seq
    set_aside = await workflow.execute_activity_method(
        StoreActivities.record_events,
        batch.model_copy(update={"salvage": True}),
        start_to_close_timeout=options.PERSIST_TIMEOUT,
        retry_policy=options.PERSIST_RETRY,
        summary=f"salvage events {first}..{last}",
    )
    assert isinstance(set_aside, int), "a salvage answers the parts it set aside"
    return set_aside
