"""Determinism guard: recorded histories must replay on the current workflow code.

The JSON files in `histories/` are real executions recorded from released code. A change
that would break running requests (reordered commands, a new activity without
`workflow.patched`) fails here. To record a new set after a deliberate, patched change:
`CSFLOW_RECORD_HISTORIES=1 pytest tests/workflows/test_replay.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from csflow.contracts import (
    Actor,
    CancelCommand,
    ChangePriorityCommand,
    CloseCommand,
    CompensationDecision,
    CompensationRequest,
    CompleteImprovement,
    ConfirmCommand,
    CustomerRepliedCommand,
    EscalateCommand,
    FollowUpRecord,
    PlanCommand,
    ProgressCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    WaitForCustomerCommand,
)
from csflow.domain.codes import Priority, Role
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, at, intake
from tests.workflows.conftest import Harness
from workflows.service_request import ServiceRequestWorkflow

HISTORIES = Path(__file__).parent / "histories"
Handle = WorkflowHandle[ServiceRequestWorkflow, RequestView]


async def _closed_after_rehandling(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(ServiceRequestWorkflow.submit_plan, PlanCommand(
        actor=AGENT, measures=["inspect"], eta=at("2026-11-25T12:00:00+08:00")))
    await h.execute_update(ServiceRequestWorkflow.post_progress,
                           ProgressCommand(actor=AGENT, note="inspected"))
    await h.execute_update(ServiceRequestWorkflow.resolve,
                           ResolveCommand(actor=AGENT, summary="fixed"))
    await h.execute_update(ServiceRequestWorkflow.confirm, ConfirmCommand(
        actor=CUSTOMER, satisfied=False, reason="still noisy"))
    await h.execute_update(ServiceRequestWorkflow.resolve,
                           ResolveCommand(actor=AGENT, summary="replaced"))
    await h.execute_update(ServiceRequestWorkflow.confirm,
                           ConfirmCommand(actor=CUSTOMER, satisfied=True))
    await h.execute_update(ServiceRequestWorkflow.close, CloseCommand(actor=AGENT))
    await h.result()
    return h


async def _breached_then_cancelled(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P1))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=20))
    await h.execute_update(ServiceRequestWorkflow.cancel,
                           CancelCommand(actor=SUPERVISOR, reason="duplicate of another"))
    await h.result()
    return h


async def _paused_and_reprioritised(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P3))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(ServiceRequestWorkflow.wait_for_customer, WaitForCustomerCommand(
        actor=AGENT, reason="need the serial number"))
    await harness.env.fast_forward(h, timedelta(hours=5))
    await h.execute_update(ServiceRequestWorkflow.customer_replied,
                           CustomerRepliedCommand(actor=CUSTOMER, note="SN-1"))
    await h.execute_update(ServiceRequestWorkflow.change_priority, ChangePriorityCommand(
        actor=SUPERVISOR, priority=Priority.P1, reason="VIP escalation"))
    await harness.env.fast_forward(h, timedelta(hours=3))
    await h.execute_update(ServiceRequestWorkflow.resolve,
                           ResolveCommand(actor=AGENT, summary="replaced"))
    await h.execute_update(ServiceRequestWorkflow.confirm,
                           ConfirmCommand(actor=CUSTOMER, satisfied=True))
    await h.execute_update(ServiceRequestWorkflow.close, CloseCommand(actor=AGENT))
    await h.result()
    return h


async def _followed_up_with_improvement(harness: Harness) -> Handle:
    h = await harness.start(intake(priority=Priority.P2))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(ServiceRequestWorkflow.request_compensation, CompensationRequest(
        actor=AGENT, amount=Decimal("900"), reason="lost day"))
    await h.execute_update(ServiceRequestWorkflow.decide_compensation, CompensationDecision(
        actor=SUPERVISOR, approve=True, reason="ok"))
    await h.execute_update(ServiceRequestWorkflow.escalate, EscalateCommand(
        actor=SUPERVISOR, reason="VIP partner", priority=Priority.P1, to_staff="li.senior"))
    await h.execute_update(ServiceRequestWorkflow.resolve,
                           ResolveCommand(actor=AGENT, summary="fixed"))
    await h.execute_update(ServiceRequestWorkflow.confirm,
                           ConfirmCommand(actor=CUSTOMER, satisfied=True))
    await h.execute_update(ServiceRequestWorkflow.record_follow_up, FollowUpRecord(
        actor=Actor(id="fu.lin", role=Role.FOLLOW_UP), score=1, nps=0, problem="rude"))
    task = harness.client.get_workflow_handle(f"{h.id}-IMP1")
    await task.execute_update("complete_improvement", CompleteImprovement(
        actor=AGENT, what_changed="training"))
    await h.result()
    return h


async def _imported_backlog(harness: Harness) -> Handle:
    """Received 20 minutes before it reached csflow: missed firings recorded, not announced
    (patch `quiet-backlog-firings`), the next ladder step announced."""
    received = datetime.now(UTC) - timedelta(minutes=20)
    h = await harness.start(intake(priority=Priority.P1), received_at=received)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, timedelta(minutes=15))
    await h.execute_update(ServiceRequestWorkflow.cancel,
                           CancelCommand(actor=SUPERVISOR, reason="handled by phone"))
    await h.result()
    return h


SCENARIOS: dict[str, Callable[[Harness], Awaitable[Handle]]] = {
    "imported_backlog": _imported_backlog,
    "followed_up_with_improvement": _followed_up_with_improvement,
    "closed_after_rehandling": _closed_after_rehandling,
    "breached_then_cancelled": _breached_then_cancelled,
    "paused_and_reprioritised": _paused_and_reprioritised,
}


async def _replay(history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=[ServiceRequestWorkflow],
                        data_converter=pydantic_data_converter)
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
    # The exported history does not carry its workflow id; the file name stands for it.
    history = WorkflowHistory.from_json(path.stem, text)
    await _replay(history)


def test_there_are_recorded_histories() -> None:
    assert {p.stem for p in _recorded()} == set(SCENARIOS)
