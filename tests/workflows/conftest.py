from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.terms import TermsActivities
from csflow.config.terms import TermsProvider
from csflow.contracts import RequestIntake, ServiceRequestInput, UpdateResult
from csflow.domain.policy import DEFAULT_POLICY
from tests.helpers import fresh_queue
from tests.workflows.fakes import FakeAssignment, FakeFollowUp, FakeNotify, FakeStore
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

TERMS = TermsProvider(DEFAULT_POLICY)


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    queue: str
    store: FakeStore
    assignment: FakeAssignment
    follow_up: FakeFollowUp
    notify: FakeNotify
    _serial: int = 0

    async def start(
        self,
        intake: RequestIntake,
        *,
        received_at: datetime | None = None,
        terms: TermsProvider | None = None,
    ) -> WorkflowHandle[ServiceRequestWorkflow, UpdateResult]:
        self._serial += 1
        number = f"CS20261123-WEB-{self._serial:04d}-{self.queue[-6:]}"
        received_at = received_at or datetime.now(UTC)
        return await self.client.start_workflow(
            ServiceRequestWorkflow.run,
            ServiceRequestInput(
                number=number,
                intake=intake,
                received_at=received_at,
                terms=(terms or TERMS).for_intake(intake, received_at),
            ),
            id=number,
            task_queue=self.queue,
        )


@asynccontextmanager
async def running_harness(
    ts_env: WorkflowEnvironment, terms: TermsProvider = TERMS
) -> AsyncIterator[Harness]:
    """A worker on a fresh task queue with in-memory activities; `terms` is the policy
    its `resolve_terms` answers from (for a caller's start, which carries none)."""
    queue = fresh_queue()
    notify = FakeNotify()
    store = FakeStore(outbox=notify.sent)
    assignment = FakeAssignment()
    follow_up = FakeFollowUp()
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ServiceRequestWorkflow, ImprovementTaskWorkflow],
        activities=[
            store.record_events,
            assignment.triage,
            assignment.transfer,
            assignment.release,
            assignment.route_escalation,
            follow_up.plan_follow_up,
            follow_up.open_linked_request,
            follow_up.save_improvement,
            notify.send,
            TermsActivities(terms).resolve_terms,
        ],
    ):
        yield Harness(ts_env, ts_env.client, queue, store, assignment, follow_up, notify)


@pytest.fixture
async def harness(ts_env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    """A worker on a fresh task queue with in-memory activities."""
    async with running_harness(ts_env) as h:
        yield h
