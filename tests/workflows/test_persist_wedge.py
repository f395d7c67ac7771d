"""A request can never be wedged (issue 14, deliverable 2), on the time-skipping server and
a real PostgreSQL whose test database refuses two specific values: an ETA past 2090 in the
request row and a progress note containing POISON in the timeline.

The request says so (`PersistState`), keeps taking commands — one that fixes the value
makes the write go through — and a cancel ends both the workflow and the row, with what
the database refused set aside in persist_dead_letters.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.store import StoreActivities
from activities.terms import TermsActivities
from csflow import search_attributes as sa
from csflow.contracts import (
    CancelCommand,
    PlanCommand,
    ProgressCommand,
    ReceiptQuery,
    RequestView,
    ServiceRequestInput,
)
from csflow.domain.lifecycle import Status
from csflow.refusals import Refusal
from csflow.store import dead_letters
from tests.helpers import AGENT, SUPERVISOR, eventually, fresh_queue, intake
from tests.workflows.conftest import TERMS
from tests.workflows.fakes import FakeAssignment, FakeFollowUp, FakeNotify
from tests.workflows.updates import act, ended
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

FAR = datetime(2095, 1, 1, tzinfo=UTC)  # the test database refuses this ETA
NEAR = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
Handle = WorkflowHandle[Any, Any]


@pytest.fixture
async def started(ts_env: WorkflowEnvironment, pool: Any) -> AsyncIterator[Handle]:
    await pool.execute(
        "ALTER TABLE requests ADD CONSTRAINT test_refuses_far_eta "
        "CHECK (eta IS NULL OR eta < '2090-01-01')"
    )
    await pool.execute(
        "ALTER TABLE request_events ADD CONSTRAINT test_refuses_poison "
        "CHECK (reason IS NULL OR reason NOT LIKE '%POISON%')"
    )
    queue = fresh_queue()
    assignment, follow_up, notify = FakeAssignment(), FakeFollowUp(), FakeNotify()
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ServiceRequestWorkflow, ImprovementTaskWorkflow],
        activities=[
            StoreActivities(pool).record_events,
            assignment.triage,
            assignment.transfer,
            assignment.release,
            follow_up.plan_follow_up,
            follow_up.open_linked_request,
            follow_up.save_improvement,
            notify.send,
            TermsActivities(TERMS).resolve_terms,
        ],
    ):
        given, received = intake(), datetime.now(UTC)
        number = f"CS{received:%Y%m%d}-WEB-0001"
        h: Handle = await ts_env.client.start_workflow(
            ServiceRequestWorkflow.run,
            ServiceRequestInput(
                number=number,
                intake=given,
                received_at=received,
                terms=TERMS.for_intake(given, received),
            ),
            id=f"{number}-{queue}",
            task_queue=queue,
        )
        await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
        yield h


async def _refused(h: Handle, update: Any, arg: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(update, arg)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def _persist_state_is(h: Handle, wanted: str) -> None:
    async def check() -> None:
        attrs = (await h.describe()).typed_search_attributes
        assert attrs.get(sa.PERSIST_STATE) == wanted

    await eventually(check)


def _plan(eta: datetime) -> PlanCommand:
    return PlanCommand(actor=AGENT, measures=["replace the unit"], eta=eta)


async def test_a_refused_write_flips_the_flag_and_a_fixing_command_clears_it(
    started: Handle,
    pool: Any,
) -> None:
    h = started
    number = (await h.query(ServiceRequestWorkflow.get_state)).number
    await _persist_state_is(h, "ok")

    err = await _refused(h, ServiceRequestWorkflow.submit_plan, _plan(FAR))
    assert err.type == Refusal.NOT_PERSISTED.value
    await _persist_state_is(h, "rejected")
    view: RequestView = await h.query(ServiceRequestWorkflow.get_state)  # still answers
    assert view.status is Status.IN_PROGRESS and view.eta == FAR
    assert (
        await pool.fetchval("SELECT status FROM requests WHERE number = $1", number) == "assigned"
    )

    # A command that fixes the value: the pending events and the new one are written.
    fixed = await act(h, ServiceRequestWorkflow.submit_plan, _plan(NEAR))
    assert fixed.eta == NEAR
    await _persist_state_is(h, "ok")
    row = await pool.fetchrow("SELECT status, eta, version FROM requests WHERE number = $1", number)
    assert (row["status"], row["eta"]) == ("in_progress", NEAR)
    assert row["version"] == fixed.timeline[-1].seq
    assert await dead_letters.of_request(pool, number) == []

    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    assert (await ended(h)).status is Status.CANCELLED


async def test_refused_for_long_the_write_is_salvaged_and_a_cancel_ends_workflow_and_row(
    started: Handle,
    pool: Any,
    ts_env: WorkflowEnvironment,
) -> None:
    h = started
    number = (await h.query(ServiceRequestWorkflow.get_state)).number

    # Refused: the request says so, keeps the events, and keeps taking commands.
    err = await _refused(
        h,
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="POISON in the note"),
    )
    assert err.type == Refusal.NOT_PERSISTED.value
    await _persist_state_is(h, "rejected")
    poisoned = (await h.query(ServiceRequestWorkflow.get_state)).timeline[-1].seq
    err = await _refused(h, ServiceRequestWorkflow.submit_plan, _plan(FAR))
    assert err.type == Refusal.NOT_PERSISTED.value
    view = await h.query(ServiceRequestWorkflow.get_state)
    assert view.plan is not None and view.eta == FAR

    # Still refused two minutes on (retried every 30 s): salvaged by the request itself.
    await ts_env.fast_forward(h, timedelta(minutes=3))
    await _persist_state_is(h, "quarantined")
    stub = await pool.fetchrow(
        "SELECT kind, reason, data FROM request_events WHERE number = $1 AND seq = $2",
        number,
        poisoned,
    )
    assert stub["kind"] == "progress_posted" and stub["reason"] is None
    assert stub["data"] == {"quarantined": "CheckViolationError"}
    dead = await dead_letters.of_request(pool, number)
    assert [(d.part, d.seq) for d in dead] == [("row", None), ("event", poisoned)]
    assert all("CheckViolationError" in d.error for d in dead)
    assert json.loads(dead[1].payload)["reason"] == "POISON in the note"
    assert json.loads(dead[0].payload)["eta"].startswith("2095-01-01")
    # Every event is in the timeline table, in order; the row moved on without the ETA.
    seqs = [
        r["seq"]
        for r in await pool.fetch(
            "SELECT seq FROM request_events WHERE number = $1 ORDER BY seq", number
        )
    ]
    assert seqs == list(range(1, view.timeline[-1].seq + 1))
    row = await pool.fetchrow("SELECT status, eta, version FROM requests WHERE number = $1", number)
    assert (row["status"], row["eta"], row["version"]) == (
        "in_progress",
        None,
        view.timeline[-1].seq,
    )

    # The ETA is still unstorable, yet a cancel ends the workflow and the row.
    done = await act(
        h, ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="give up")
    )
    assert done.status is Status.CANCELLED
    assert (await ended(h)).status is Status.CANCELLED
    row = await pool.fetchrow(
        "SELECT status, closed_at, version FROM requests WHERE number = $1", number
    )
    assert row["status"] == "cancelled" and row["closed_at"] is not None
    assert row["version"] == done.timeline[-1].seq
    assert (
        await pool.fetchval(
            "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq DESC LIMIT 1", number
        )
        == "cancelled"
    )
    assert [d.part for d in await dead_letters.of_request(pool, number)] == ["row", "event", "row"]
