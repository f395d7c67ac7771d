"""After resolution: confirmation, the follow-up plan, silent customers, new needs and the
negative-feedback loop — every branch on the time-skipping server (issue 6)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from csflow.config.terms import TermsProvider
from csflow.contracts import (
    Actor,
    CompleteImprovement,
    ConfirmCommand,
    FollowUpRecord,
    NewNeed,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    UpdateResult,
)
from csflow.domain.codes import Category, Priority, Role, Tier
from csflow.domain.lifecycle import Status
from csflow.domain.policy import policy_from_mapping
from tests.helpers import AGENT, CUSTOMER, eventually, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act, ended
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[ServiceRequestWorkflow, UpdateResult]
SHANGHAI = timezone(timedelta(hours=8))
H = timedelta(hours=1)
FU = Actor(id="fu.lin", role=Role.FOLLOW_UP)
# Weekdays only, no holidays, and silence far away: each test isolates one branch.
QUIET = TermsProvider(
    policy_from_mapping(
        {
            "calendar": {"holidays_from": "none"},
            "follow_up": {"reactivation_after": "720h"},
        }
    )
)


def close_of_business_after_weekdays(t: datetime, n: int) -> datetime:
    """Written independently of the calendar code: Mon–Fri, 18:00 Shanghai."""
    d: date = t.astimezone(SHANGHAI).date()
    counted = 0
    while counted < n:
        d += timedelta(days=1)
        if d.weekday() < 5:
            counted += 1
    return datetime.combine(d, time(18, 0), SHANGHAI)


async def resolved(harness: Harness, terms: TermsProvider = QUIET, **kw: Any) -> Handle:
    h = await harness.start(intake(priority=Priority.P3, **kw), terms=terms)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed")
    )
    return h


def at(value: str) -> datetime:
    """A time as the timeline's event data carries it (ISO text)."""
    return datetime.fromisoformat(value)


def events(v: RequestView, kind: str) -> list[Any]:
    return [e for e in v.timeline if e.kind == kind]


@pytest.mark.parametrize("service_class", ["vip", "major", "routine"])
async def test_follow_up_deadline_reminders_and_escalation_by_class(
    harness: Harness,
    service_class: str,
) -> None:
    kw: dict[str, Any] = {"category": Category.AFTER_SALES}
    if service_class == "major":
        kw["sub_type"] = "repair"
    h = await resolved(harness, **kw) if service_class != "vip" else None
    if service_class == "vip":
        base = intake(priority=Priority.P3, category=Category.CONSULTATION)
        base.customer.tier = Tier.VIP
        h = await harness.start(base, terms=QUIET)
        await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
        await h.execute_update(
            ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="answered")
        )
    assert h is not None
    v = await act(h, ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True))
    scheduled = events(v, "follow_up_scheduled")[0]
    t = scheduled.at
    expected = {
        "vip": t + 24 * H,
        "major": close_of_business_after_weekdays(t, 1),
        "routine": close_of_business_after_weekdays(t, 3),
    }[service_class]
    assert v.follow_up is not None and v.follow_up.due_at == expected
    assert scheduled.data["service_class"] == service_class
    assert scheduled.data["owner"] == "fu.lin" and scheduled.data["survey_url"]
    assert v.status is Status.FOLLOW_UP_SCHEDULED and v.next_deadline == expected

    await harness.env.fast_forward(h, (expected - t) + H)

    async def missed() -> RequestView:
        view = await h.query(ServiceRequestWorkflow.get_state)
        assert events(view, "follow_up_missed")
        return view

    v = await eventually(missed)
    reminders = [e.at for e in events(v, "follow_up_reminder")]
    miss = events(v, "follow_up_missed")[0]
    assert len(reminders) == 2 and reminders[0] < reminders[1] < expected
    if service_class == "vip":
        assert reminders == [t + 12 * H, t + 18 * H]
    assert miss.at == expected, "the escalation fires at the deadline, to the second"
    assert miss.data["notify"] == ["supervisor"]
    assert v.sla_state.value == "red"
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up, FollowUpRecord(actor=FU, score=4, nps=8)
    )
    assert (await ended(h)).status is Status.CLOSED


async def test_no_answer_to_the_confirmation_closes_it_as_confirmed_by_timeout(
    harness: Harness,
) -> None:
    h = await resolved(harness)
    asked = (await h.query(ServiceRequestWorkflow.get_state)).timeline[-1].at
    await harness.env.fast_forward(h, 73 * H)

    async def timed_out() -> RequestView:
        view = await h.query(ServiceRequestWorkflow.get_state)
        assert events(view, "follow_up_scheduled")
        return view

    v = await eventually(timed_out)
    timeout = events(v, "confirmed_by_timeout")[0]
    assert timeout.at == asked + 72 * H
    assert "confirmed by timeout" in (timeout.reason or "")
    assert timeout.status_to is Status.RESOLVED
    assert h.id in harness.assignment.released


async def test_a_silent_customer_is_reactivated_then_marked_silent(harness: Harness) -> None:
    # A 24 h follow-up: the questionnaire's own 48 h is the later, so it decides.
    default = TermsProvider(
        policy_from_mapping(
            {"calendar": {"holidays_from": "none"}, "follow_up": {"routine": "24h"}}
        )
    )
    h = await resolved(harness, terms=default)
    v = await act(h, ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True))
    scheduled = events(v, "follow_up_scheduled")[0]
    t = scheduled.at
    assert at(scheduled.data["questionnaire_sent_at"]) == t
    assert at(scheduled.data["reactivation_at"]) == t + 48 * H
    await harness.env.fast_forward(h, 121 * H)
    final = await ended(h)
    reactivation = events(final, "customer_reactivation")[0]
    assert reactivation.at == t + 48 * H and reactivation.data["notify"] == ["customer"]
    silent = events(final, "customer_silent")[0]
    assert silent.at == t + 48 * H + 72 * H
    assert final.status is Status.CLOSED and final.follow_up is not None
    assert final.follow_up.silent
    assert final.timeline[-1].reason == "customer silent after the follow-up"


async def test_a_customer_is_never_closed_silent_before_the_follow_up_deadline(
    harness: Harness,
) -> None:
    """The production reactivation (48 h) and silence (72 h), a follow-up due two working
    weeks out: counted from scheduling, the request closed "silent" on day 5 while its
    follow-up was owed until day 14. Reactivation now waits for the deadline."""
    far = TermsProvider(
        policy_from_mapping(
            {
                "calendar": {"holidays_from": "none"},
                "follow_up": {"routine": {"duration": "10d", "basis": "working_days"}},
            }
        )
    )
    h = await resolved(harness, terms=far)
    v = await act(h, ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True))
    scheduled = events(v, "follow_up_scheduled")[0]
    t, due = scheduled.at, close_of_business_after_weekdays(scheduled.at, 10)
    assert v.follow_up is not None and v.follow_up.due_at == due

    # Day 6: the old rule had reactivated (t + 48 h) and closed it silent (t + 120 h).
    await harness.env.fast_forward(h, 6 * 24 * H)
    mid = await h.query(ServiceRequestWorkflow.get_state)
    assert not events(mid, "customer_reactivation") and not events(mid, "customer_silent")
    assert mid.status is Status.FOLLOW_UP_SCHEDULED

    await harness.env.fast_forward(h, (due - t) - 6 * 24 * H + 73 * H)
    final = await ended(h)
    assert events(final, "follow_up_missed")[0].at == due
    assert events(final, "customer_reactivation")[0].at == due
    silent = events(final, "customer_silent")[0]
    assert silent.at == due + 72 * H and silent.at > due
    closed = events(final, "closed")[0]
    assert closed.at >= silent.at and final.status is Status.CLOSED
    # The timeline says when the questionnaire went out and why the touch waited.
    assert at(scheduled.data["questionnaire_sent_at"]) == t
    assert at(scheduled.data["reactivation_at"]) == due, "not t + 48 h: the visit is owed"


async def test_a_score_of_one_opens_an_improvement_task_that_escalates_and_reports_back(
    harness: Harness,
) -> None:
    h = await resolved(harness)
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FU, score=1, nps=2, problem="the courier was rude", method="phone"),
    )
    recorded = events(v, "follow_up_recorded")[0]
    assert recorded.data["negative"] is True and recorded.data["problem"] == "the courier was rude"
    opened = events(v, "improvement_opened")[0]
    task_id = opened.data["task_id"]
    assert task_id == f"{h.id}-IMP1" and v.improvements == [task_id]
    assert datetime.fromisoformat(opened.data["due_at"]) == opened.at + 72 * H
    assert v.status is Status.FOLLOWED_UP, "the request waits for the improvement"

    task: WorkflowHandle[ImprovementTaskWorkflow, Any] = harness.client.get_workflow_handle(task_id)
    row = await task.query(ImprovementTaskWorkflow.get_task)
    assert row.due_at == opened.at + 72 * H and row.status == "open"
    await harness.env.fast_forward(task, 73 * H)

    async def overdue() -> None:
        assert await task.query(ImprovementTaskWorkflow.escalations) == ["department_head"]
        assert harness.follow_up.improvements[task_id].status == "overdue"

    await eventually(overdue)
    with pytest.raises(WorkflowUpdateFailedError):
        await task.execute_update(
            ImprovementTaskWorkflow.complete,
            CompleteImprovement(actor=CUSTOMER, what_changed="nothing"),
        )
    await task.execute_update(
        ImprovementTaskWorkflow.complete,
        CompleteImprovement(
            actor=AGENT, what_changed="courier partner retrained; a complaint hotline added"
        ),
    )
    final = await ended(h)
    closed = events(final, "improvement_closed")[0]
    assert closed.data["what_changed"].startswith("courier partner retrained")
    assert closed.data["notify"] == ["customer"]
    assert final.status is Status.CLOSED and final.timeline[-1].reason == "followed up"
    assert harness.follow_up.improvements[task_id].status == "closed"


async def test_new_needs_open_linked_requests(harness: Harness) -> None:
    h = await resolved(harness)
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(
            actor=FU,
            score=5,
            nps=9,
            new_needs=[
                NewNeed(category=Category.CONSULTATION, description="wants an extended warranty")
            ],
        ),
    )
    linked = events(v, "linked_request_opened")[0]
    assert linked.data["linked"] == f"{h.id}-N1"
    assert harness.follow_up.linked[0].need.description == "wants an extended warranty"
    assert (await ended(h)).status is Status.CLOSED


async def test_an_answer_about_a_rehandled_outcome_is_refused(harness: Harness) -> None:
    h = await resolved(harness)
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(
            ServiceRequestWorkflow.record_follow_up,
            FollowUpRecord(
                actor=Actor(id="C-1001", role=Role.CUSTOMER),
                score=5,
                nps=10,
                method="questionnaire",
                cycle=0,
            ),
        )
    assert "earlier outcome" in str(caught.value.cause)
    await h.execute_update(
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(
            actor=Actor(id="C-1001", role=Role.CUSTOMER),
            score=5,
            nps=10,
            method="questionnaire",
            cycle=1,
        ),
    )
    # A second answer: the link works once. The first closed the request, so the refusal is
    # the validator's, or — once the workflow has finished — the server's "completed".
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await h.execute_update(
            ServiceRequestWorkflow.record_follow_up,
            FollowUpRecord(actor=Actor(id="C-1001", role=Role.CUSTOMER), score=1, nps=0, cycle=1),
        )
