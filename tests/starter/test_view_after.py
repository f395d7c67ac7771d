"""A command's answer read from PostgreSQL (`CsflowClient.view_after` with a pool) is the
view the workflow itself holds: the row keeps everything the view shows, so callers with
a database never need the `get_state` query (which replays a whole ended request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from csflow.contracts import (
    ConfirmCommand,
    FollowUpRecord,
    PlanCommand,
    ProgressCommand,
    RequestView,
    ResolveCommand,
)
from csflow.domain.lifecycle import Status
from csflow.settings import Settings
from tests.helpers import AGENT, CUSTOMER, intake
from tests.starter.conftest import Stack, running_stack
from workflows import sandbox

FOLLOW_UP = {"id": "fu.lin", "role": "follow_up"}


async def _workflow_view(stack: Stack, number: str) -> RequestView:
    handle = stack.client.get_workflow_handle(number)
    view: RequestView = await handle.query("get_state", result_type=RequestView)
    return view


def _shown(view: RequestView) -> RequestView:
    """The view as a reader sees it: the customer's words in events are never shown here
    — the workflow's view carries them sealed with the customer's key, the row's marks
    them `sealed` (read through the audited route) — so both are left out."""
    events = [
        e.model_copy(
            update={
                "reason": None if (e.reason or "").startswith("sealed:") else e.reason,
                "data": {
                    k: v
                    for k, v in e.data.items()
                    if k != "sealed" and not (isinstance(v, str) and v.startswith("sealed:"))
                },
            }
        )
        for e in view.timeline
    ]
    return view.model_copy(update={"timeline": events})


async def test_every_commands_answer_equals_the_workflows_own_view(stack: Stack) -> None:
    created = await stack.csflow.create(intake(priority="P3"))
    n = created.number
    assert created.view is not None
    assert _shown(created.view) == _shown(await _workflow_view(stack, n))

    eta = datetime.now(UTC) + timedelta(days=2)
    steps = [
        stack.csflow.submit_plan(n, PlanCommand(actor=AGENT, measures=["call back"], eta=eta)),
        stack.csflow.post_progress(n, ProgressCommand(actor=AGENT, note="courier informed")),
        stack.csflow.resolve(n, ResolveCommand(actor=AGENT, summary="address changed")),
        stack.csflow.confirm(n, ConfirmCommand(actor=CUSTOMER, satisfied=True)),
    ]
    for step in steps:
        answered = await step
        assert _shown(answered) == _shown(await _workflow_view(stack, n))

    # A low score opens an improvement task and ends the run: the answer still lists it
    # (the row's events name it) without replaying the ended request.
    closed = await stack.csflow.record_follow_up(
        n,
        FollowUpRecord.model_validate(
            {"actor": FOLLOW_UP, "score": 1, "nps": 2, "problem": "nobody called back"}
        ),
    )
    assert closed.improvements == [f"{n}-IMP1"]
    assert _shown(closed) == _shown(await _workflow_view(stack, n))
    # The words themselves are not in the answer: only the audited route reads them.
    assert "nobody called back" not in closed.model_dump_json()


@pytest.mark.parametrize("mode", ["strict", "off"])
async def test_a_lifecycle_runs_under_every_sandbox_mode(
    ts_env: WorkflowEnvironment, pool: Any, db: str, mode: str
) -> None:
    """`CSFLOW_WORKFLOW_SANDBOX` (README, "Settings"): the same workflow code runs with the
    SDK's strict sandbox and with none; `passthrough`, the default, is every other test's."""
    settings = Settings.model_validate({"CSFLOW_WORKFLOW_SANDBOX": mode})
    runner = sandbox.runner(settings.workflow_sandbox)
    assert isinstance(
        runner, UnsandboxedWorkflowRunner if mode == "off" else SandboxedWorkflowRunner
    )
    async for stack in running_stack(ts_env, pool, db, settings):
        csflow = stack.csflow
        n = (await csflow.create(intake(priority="P3"))).number
        await csflow.resolve(n, ResolveCommand(actor=AGENT, summary="address changed"))
        view = await csflow.confirm(n, ConfirmCommand(actor=CUSTOMER, satisfied=True))
        assert view.status == Status.FOLLOW_UP_SCHEDULED
        closed = await csflow.record_follow_up(
            n, FollowUpRecord.model_validate({"actor": FOLLOW_UP, "score": 5, "nps": 9})
        )
        assert closed.status.terminal or closed.status == Status.FOLLOWED_UP
