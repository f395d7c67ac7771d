"""`team_supervisor` is a supervisor of the holder's TEAM, on the time-skipping server
(issue 13 item 7, patch `ownership-by-team`): each assignment records the holder's team,
the team's own supervisors and the department's supervisors and head above it may act,
a supervisor of another team of the same department may not, and a reassignment to
another team moves who may. Refusals come from the Update validators."""

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
    CompensationRequest,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    ResolveCommand,
)
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Status
from csflow.domain.org import Organisation
from csflow.domain.policy import policy_from_mapping
from csflow.refusals import Refusal
from tests.helpers import SUPERVISOR, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[Any, Any]
ORG: dict[str, Any] = {
    "departments": {
        "repair": {
            "head": "gao.head",
            "supervisors": ["he.sup"],
            "teams": {
                "bench": {"supervisors": ["xu.sup"], "members": ["li.na"]},
                "field": {"supervisors": ["wu.sup"], "members": ["zhao.gang"]},
            },
        },
        "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
    },
    "directors": ["zhou.director"],
}
TERMS = TermsProvider(
    policy_from_mapping({"calendar": {"holidays_from": "none"}, "organisation": ORG})
)
LI = Actor(id="li.na", role=Role.ENGINEER)


def sup(staff_id: str) -> Actor:
    return Actor(id=staff_id, role=Role.SUPERVISOR)


async def _refused(h: Handle, update: Any, arg: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(update, arg)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def _held_by_li(harness: Harness) -> Handle:
    harness.assignment.org = Organisation.model_validate(ORG)
    harness.assignment.holder = ("li.na", "repair")
    h = await harness.start(intake(), terms=TERMS)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    return h


async def _refused_all_three(h: Handle, actor: Actor, holder: str) -> None:
    """post_progress, resolve and request_compensation are each refused, naming why."""
    for command, update, arg in (
        (
            "post_progress",
            ServiceRequestWorkflow.post_progress,
            ProgressCommand(actor=actor, note="hi"),
        ),
        ("resolve", ServiceRequestWorkflow.resolve, ResolveCommand(actor=actor, summary="done")),
        (
            "request_compensation",
            ServiceRequestWorkflow.request_compensation,
            CompensationRequest(actor=actor, amount=Decimal(10), reason="sorry"),
        ),
    ):
        err = await _refused(h, update, arg)
        assert err.type == Refusal.FORBIDDEN_ROLE.value, command
        assert err.message == (
            f"{command} on {h.id} is for the assignee, a supervisor of the "
            f"assignee's team, an admin (assignee: {holder}); {actor.id} (supervisor) is "
            "none of them"
        )


async def test_another_teams_supervisor_is_refused_and_the_teams_is_accepted(
    harness: Harness,
) -> None:
    h = await _held_by_li(harness)
    view = await act(h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=LI, note="on"))
    assert (view.department, view.team) == ("repair", "bench")
    before = len(view.timeline)
    # wu.sup supervises field, a team of the same department: not li.na's supervisor.
    await _refused_all_three(h, sup("wu.sup"), "li.na, team bench")
    await _refused_all_three(h, sup("chen.sup"), "li.na, team bench")  # another department
    after = await h.query(ServiceRequestWorkflow.get_state)
    assert len(after.timeline) == before  # refused in the validator: nothing recorded
    # The team's own supervisor, the department's supervisor and its head may act.
    for who in ("xu.sup", "he.sup", "gao.head"):
        view = await act(
            h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=sup(who), note=who)
        )
        assert view.timeline[-1].actor.id == who
    granted = await act(
        h,
        ServiceRequestWorkflow.request_compensation,
        CompensationRequest(actor=sup("xu.sup"), amount=Decimal(10), reason="a lost day"),
    )
    assert granted.compensation is not None and granted.compensation.requested_by == "xu.sup"
    resolved = await act(
        h, ServiceRequestWorkflow.resolve, ResolveCommand(actor=sup("xu.sup"), summary="fixed")
    )
    assert resolved.status is Status.AWAITING_CONFIRMATION
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_reassigning_to_another_team_moves_who_may_act(harness: Harness) -> None:
    h = await _held_by_li(harness)
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=sup("xu.sup"), note="mine")
    )
    moved = await act(
        h,
        ServiceRequestWorkflow.reassign,
        ReassignCommand(actor=sup("he.sup"), to_staff="zhao.gang", reason="field visit"),
    )
    assert (moved.assignee, moved.department, moved.team) == ("zhao.gang", "repair", "field")
    await _refused_all_three(h, sup("xu.sup"), "zhao.gang, team field")  # no longer theirs
    for who in ("wu.sup", "he.sup", "gao.head"):
        await h.execute_update(
            ServiceRequestWorkflow.post_progress, ProgressCommand(actor=sup(who), note=who)
        )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_holder_in_no_team_is_answered_for_by_the_department(harness: Harness) -> None:
    """Someone the chart lists in no team (and the directory neither): the department's
    supervisors and head, and no team's supervisor."""
    harness.assignment.org = Organisation.model_validate(ORG)
    harness.assignment.holder = ("sun.li", "repair")
    h = await harness.start(intake(), terms=TERMS)
    view = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    assert view.team is None
    await _refused_all_three(h, sup("xu.sup"), "sun.li")
    for who in ("he.sup", "gao.head"):
        await h.execute_update(
            ServiceRequestWorkflow.post_progress, ProgressCommand(actor=sup(who), note=who)
        )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_the_directorys_team_counts_when_the_chart_lists_no_members(
    harness: Harness,
) -> None:
    """A team named in the staff directory (`csflow scorecard team`) that the chart has:
    its supervisors answer for the holder even though the chart lists no members."""
    chart = {
        "departments": {
            "repair": {
                "head": "gao.head",
                "teams": {
                    "bench": {"supervisors": ["xu.sup"]},
                    "field": {"supervisors": ["wu.sup"]},
                },
            }
        },
        "directors": ["zhou.director"],
    }
    terms = TermsProvider(
        policy_from_mapping({"calendar": {"holidays_from": "none"}, "organisation": chart})
    )
    harness.assignment.org = Organisation.model_validate(chart)
    harness.assignment.teams = {"li.na": "bench"}
    harness.assignment.holder = ("li.na", "repair")
    h = await harness.start(intake(), terms=terms)
    view = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    assert view.team == "bench"
    await _refused_all_three(h, sup("wu.sup"), "li.na, team bench")
    await h.execute_update(
        ServiceRequestWorkflow.post_progress, ProgressCommand(actor=sup("xu.sup"), note="here")
    )
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
