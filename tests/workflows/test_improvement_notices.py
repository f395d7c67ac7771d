"""Improvement tasks are heard (issue 18): the head of the responsible department learns
of a new task at once, and an overdue task's escalation reaches that head and then the
director on duty — resolved through the organisation, never another department's head."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from csflow.contracts import CancelCommand, ConfirmCommand, FollowUpRecord
from csflow.domain.org import Organisation
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually
from tests.workflows.conftest import Harness
from tests.workflows.test_follow_up import FU, resolved
from tests.workflows.updates import act
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

H = timedelta(hours=1)


async def test_an_overdue_improvement_task_escalates_to_people(harness: Harness) -> None:
    harness.assignment.org = Organisation.model_validate(
        {
            "departments": {
                "care": {"head": "ma.head", "supervisors": ["chen.sup"]},
                "repair": {"head": "gao.head", "supervisors": ["he.sup"]},
            },
            "directors": ["zhou.director"],
        }
    )
    harness.assignment.on_duty = {"ma.head", "chen.sup", "gao.head", "he.sup", "zhou.director"}
    harness.assignment.holder = (AGENT.id, "care")  # the resolver holds it (ownership)
    h = await resolved(harness)
    await h.execute_update(
        ServiceRequestWorkflow.confirm, ConfirmCommand(actor=CUSTOMER, satisfied=True)
    )
    v = await act(
        h,
        ServiceRequestWorkflow.record_follow_up,
        FollowUpRecord(actor=FU, score=1, nps=2, problem="the courier was rude", method="phone"),
    )
    task_id = next(e for e in v.timeline if e.kind == "improvement_opened").data["task_id"]

    def alerts(prefix: str) -> set[str]:
        return {
            n.recipient.id
            for n in harness.notify.sent
            if n.template == "staff_alert" and n.key.startswith(prefix)
        }

    async def head_told_of_the_task() -> None:
        assert alerts(f"{h.id}/") == {"ma.head"}

    await eventually(head_told_of_the_task)
    task: WorkflowHandle[ImprovementTaskWorkflow, Any] = harness.client.get_workflow_handle(task_id)
    await harness.env.fast_forward(task, 73 * H)

    async def head_told_it_is_overdue() -> None:
        assert alerts(f"{task_id}/overdue/department_head/") == {"ma.head"}

    await eventually(head_told_it_is_overdue)
    await harness.env.fast_forward(task, 72 * H)

    async def director_told() -> None:
        assert alerts(f"{task_id}/overdue/director/") == {"zhou.director"}

    await eventually(director_told)
    assert "gao.head" not in alerts("")
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
