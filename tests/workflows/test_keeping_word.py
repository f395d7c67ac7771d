"""A service that keeps its word (issue 18 items 4 and 5), on the time-skipping server:
closing before the follow-up needs a role allowed to skip it and a reason, and never drops
"what we changed"; improvement tasks go to the department a rule or a supervisor names,
whose head hears of them; an upset customer's first reply opens gently; and a "supervisor
of the assignee's team" really supervises that team. Refusals come from the Update
validators, so none of them reaches history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from csflow.config.terms import TermsProvider
from csflow.contracts import (
    Actor,
    CancelCommand,
    CloseCommand,
    CompleteImprovement,
    ConfirmCommand,
    FollowUpRecord,
    ProgressCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
)
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Status
from csflow.domain.org import Organisation
from csflow.domain.policy import policy_from_mapping
from csflow.refusals import Refusal
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually, intake
from tests.workflows.conftest import Harness
from tests.workflows.test_follow_up import FU, QUIET, resolved
from tests.workflows.updates import act, ended
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[Any, Any]
H = timedelta(hours=1)
ADMIN = Actor(id="root", role=Role.ADMIN)
ORG: dict[str, Any] = {
    "departments": {
        "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
        "repair": {
            "head": "gao.head",
            "supervisors": ["he.sup"],
            "teams": {"bench": {"supervisors": ["xu.sup"], "members": ["li.na"]}},
        },
    },
    "directors": ["zhou.director"],
}


async def _refused(h: Handle, update: Any, arg: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(update, arg)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def _kinds(h: Handle) -> list[str]:
    view = await h.query(ServiceRequestWorkflow.get_state)
    return [e.kind for e in view.timeline]


async def _follow_up_scheduled(harness: Harness, terms: TermsProvider = QUIET) -> Handle:
    h = await resolved(harness, terms=terms)
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    return h


# ---- closing before the follow-up ----


async def test_an_agent_cannot_close_before_the_follow_up(harness: Harness) -> None:
    h = await _follow_up_scheduled(harness)
    before = await _kinds(h)
    err = await _refused(h, ServiceRequestWorkflow.close, CloseCommand(actor=AGENT, reason="ok"))
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    assert "before its follow-up" in str(err) and "supervisor, admin" in str(err)
    assert await _kinds(h) == before, "a refused close never reaches history"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_supervisor_skips_the_follow_up_only_with_a_reason_on_the_record(
    harness: Harness,
) -> None:
    h = await _follow_up_scheduled(harness)
    err = await _refused(h, ServiceRequestWorkflow.close, CloseCommand(actor=SUPERVISOR))
    assert err.type == Refusal.INVALID.value and "reason" in str(err)
    v: RequestView = await act(
        h,
        ServiceRequestWorkflow.close,
        CloseCommand(actor=SUPERVISOR, reason="customer asked not to be called again"),
    )
    assert v.status is Status.CLOSED
    closed = v.timeline[-1]
    assert closed.kind == "closed" and closed.actor.id == SUPERVISOR.id
    assert closed.reason == "customer asked not to be called again"
    assert closed.data["follow_up_skipped"] is True
    assert closed.data["skipped_by_role"] == "supervisor"
    assert v.follow_up is not None and closed.data["follow_up_due_at"]


async def test_the_roles_allowed_to_skip_come_from_the_policy(harness: Harness) -> None:
    admins_only = TermsProvider(
        policy_from_mapping(
            {"calendar": {"holidays_from": "none"}, "follow_up": {"skip_roles": ["admin"]}}
        )
    )
    h = await _follow_up_scheduled(harness, admins_only)
    err = await _refused(
        h, ServiceRequestWorkflow.close, CloseCommand(actor=SUPERVISOR, reason="enough")
    )
    assert err.type == Refusal.FORBIDDEN_ROLE.value and "only admin may" in str(err)
    v = await act(
        h, ServiceRequestWorkflow.close, CloseCommand(actor=ADMIN, reason="duplicate account")
    )
    assert v.status is Status.CLOSED and v.timeline[-1].data["skipped_by_role"] == "admin"


async def test_a_close_waits_for_the_improvement_outcome(harness: Harness) -> None:
    """Followed up with a score of 1: an improvement task is open. Nobody's close may drop
    the "what we changed" message; once the task is done, the request closes by itself
    after telling the customer."""
    h = await _follow_up_scheduled(harness)
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FU, score=1, nps=2, problem="the courier was rude"),
    )
    task_id = next(e for e in v.timeline if e.kind == "improvement_opened").data["task_id"]
    for actor in (AGENT, SUPERVISOR):
        err = await _refused(
            h, ServiceRequestWorkflow.close, CloseCommand(actor=actor, reason="done")
        )
        assert err.type == Refusal.ILLEGAL_STATE.value
        assert task_id in str(err) and "what changed" in str(err)
    task: Handle = harness.client.get_workflow_handle(task_id)
    await task.execute_update(
        ImprovementTaskWorkflow.complete,
        CompleteImprovement(actor=SUPERVISOR, what_changed="couriers retrained"),
    )
    final = await ended(h)
    kinds = [e.kind for e in final.timeline]
    assert kinds[-2:] == ["improvement_closed", "closed"]
    assert final.timeline[-1].reason == "followed up"


# ---- the improvement task's department ----


def _org_harness(harness: Harness) -> None:
    harness.assignment.org = Organisation.model_validate(ORG)
    harness.assignment.on_duty = {"ma.head", "chen.sup", "gao.head", "he.sup", "zhou.director"}
    harness.assignment.holder = (AGENT.id, "care")


def _alerts(harness: Harness, prefix: str) -> set[str]:
    return {
        n.recipient.id
        for n in harness.notify.sent
        if n.template == "staff_alert" and n.key.startswith(prefix)
    }


async def test_a_supervisor_names_the_improvement_department_and_its_head_hears(
    harness: Harness,
) -> None:
    _org_harness(harness)
    h = await _follow_up_scheduled(harness)
    err = await _refused(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FU, score=1, nps=2, improvement_department="repair"),
    )
    assert err.type == Refusal.FORBIDDEN_ROLE.value and "supervisor or admin" in str(err)
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(
            actor=SUPERVISOR, score=1, nps=2, problem="broke again", improvement_department="repair"
        ),
    )
    opened = next(e for e in v.timeline if e.kind == "improvement_opened")
    assert opened.data["department"] == "repair"
    assert opened.data["department_chosen_by"] == SUPERVISOR.id
    task_id = opened.data["task_id"]
    row = harness.follow_up.improvements[task_id]
    assert row.department == "repair"

    async def repair_head_told() -> None:
        assert _alerts(harness, f"{h.id}/") == {"gao.head"}

    await eventually(repair_head_told)
    task: Handle = harness.client.get_workflow_handle(task_id)
    await harness.env.fast_forward(task, 73 * H)

    async def overdue_to_repair_head() -> None:
        assert _alerts(harness, f"{task_id}/overdue/department_head/") == {"gao.head"}

    await eventually(overdue_to_repair_head)
    assert "ma.head" not in _alerts(harness, ""), "the handling department's head is not it"
    await task.execute_update(
        ImprovementTaskWorkflow.complete,
        CompleteImprovement(actor=SUPERVISOR, what_changed="new spare parts supplier"),
    )
    await h.result()


async def test_the_taxonomy_names_the_improvement_department_by_rule(harness: Harness) -> None:
    _org_harness(harness)
    terms = TermsProvider(
        policy_from_mapping(
            {
                "calendar": {"holidays_from": "none"},
                "organisation": ORG,
                "taxonomy": {
                    "categories": {
                        "complaint": {"sub_types": {"quality": {"department": "repair"}}}
                    }
                },
            }
        )
    )
    h = await harness.start(intake(sub_type="quality"), terms=terms)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="fixed")
    )
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FU, score=2, nps=3, problem="the screen flickers again"),
    )
    opened = next(e for e in v.timeline if e.kind == "improvement_opened")
    assert v.department == "care" and opened.data["department"] == "repair"
    assert "department_chosen_by" not in opened.data

    async def repair_head_told() -> None:
        assert _alerts(harness, f"{h.id}/") == {"gao.head"}

    await eventually(repair_head_told)
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


# ---- an upset customer's first reply ----


async def _upset(harness: Harness, language: Literal["zh-CN", "en"]) -> Handle:
    harness.assignment.emotion = ["愤怒"]
    base = intake()
    base.customer.language = language
    h = await harness.start(base, terms=QUIET)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    v = await h.query(ServiceRequestWorkflow.get_state)
    assert "soothe_first" in v.flags
    return h


async def test_an_upset_customers_first_reply_must_open_by_soothing(harness: Harness) -> None:
    h = await _upset(harness, "en")
    before = await _kinds(h)
    err = await _refused(
        h,
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="Your parcel was re-sent today."),
    )
    assert err.type == Refusal.COMPLIANCE.value
    assert "soothe_first" in str(err) and "“We're sorry”" in str(err)
    assert await _kinds(h) == before
    # An opening in the first sentence is what the policy asks for; later replies are free.
    await h.execute_update(
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="We're sorry for the trouble. It was re-sent today."),
    )
    await h.execute_update(
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="The courier picks it up at 15:00."),
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_openings_follow_the_customers_language(harness: Harness) -> None:
    h = await _upset(harness, "zh-CN")
    err = await _refused(
        h,
        ServiceRequestWorkflow.resolve,
        ResolveCommand(actor=AGENT, summary="We're sorry. 已经为您重新发货。"),
    )
    assert "非常抱歉" in str(err), "an English opening is not what a zh-CN customer reads"
    v = await act(
        h,
        ServiceRequestWorkflow.resolve,
        ResolveCommand(actor=AGENT, summary="非常抱歉给您带来不便，已经为您重新发货。"),
    )
    assert v.status is Status.AWAITING_CONFIRMATION
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_calm_customers_first_reply_is_not_checked(harness: Harness) -> None:
    h = await harness.start(intake(), terms=QUIET)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="Your parcel was re-sent today."),
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


# ---- a supervisor of the assignee's team ----


async def test_team_supervisor_means_a_supervisor_of_that_team(harness: Harness) -> None:
    """`[ownership]` says the assignee or a supervisor of the assignee's team: with an
    organisation configured, another department's supervisor is refused."""
    terms = TermsProvider(
        policy_from_mapping({"calendar": {"holidays_from": "none"}, "organisation": ORG})
    )
    harness.assignment.org = Organisation.model_validate(ORG)  # li.na: team bench
    harness.assignment.holder = ("li.na", "repair")
    h = await harness.start(intake(), terms=terms)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    chen = Actor(id="chen.sup", role=Role.SUPERVISOR)  # care's supervisor
    err = await _refused(
        h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=chen, note="on it")
    )
    assert err.type == Refusal.FORBIDDEN_ROLE.value
    assert "a supervisor of the assignee's team" in str(err) and "chen.sup" in str(err)
    for sup in ("xu.sup", "he.sup", "gao.head"):  # the team's, the department's, its head
        who = Actor(id=sup, role=Role.SUPERVISOR)
        await h.execute_update(
            ServiceRequestWorkflow.post_progress, ProgressCommand(actor=who, note=f"{sup} here")
        )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
