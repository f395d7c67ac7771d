"""Asking the numbering workflow for a request's number.

Numbers come from the worker's database behind a workflow (docs/architecture.md), so a
caller needs Temporal alone and every caller — this client, the API, a service in
another language — numbers the same way. The ask is an Update-with-start on one of
NUMBER_SHARDS long-lived numbering workflows per task queue; a process goes round robin
from a random shard, so its asks spread evenly and many processes do not all begin on
shard 0.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import Priority, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from csflow.contracts import RequestIntake
from csflow.domain.numbering import (
    NEXT_NUMBER,
    NUMBER_SHARDS,
    NUMBERING_UNAVAILABLE,
    NUMBERS_PRIORITY,
    NUMBERS_WORKFLOW,
    IssuedNumber,
    NumberRequest,
    NumbersInput,
    numbers_workflow_id,
)
from starter.errors import NumberingUnavailable, refused, translated


class Numbering:
    """The numbering shards of one task queue, asked in turn."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        wait: timedelta,
        known: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._client = client
        self._queue = task_queue
        self._wait = wait
        self._known = known
        self._shards = itertools.islice(
            itertools.cycle(range(NUMBER_SHARDS)), random.randrange(NUMBER_SHARDS), None
        )

    async def number(self, intake: RequestIntake, received_at: datetime) -> IssuedNumber:
        """The request's number, from the next shard (see CsflowClient.number)."""
        name = numbers_workflow_id(self._queue, next(self._shards))
        start: WithStartWorkflowOperation[Any, None] = WithStartWorkflowOperation(
            NUMBERS_WORKFLOW,
            NumbersInput(),
            id=name,
            task_queue=self._queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # Its state is in PostgreSQL: a run that ended (terminated by hand) is simply
            # replaced by a new one.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary="request numbers for this task queue",
            priority=Priority(priority_key=NUMBERS_PRIORITY),
            result_type=type(None),
        )
        ask = NumberRequest(
            channel=intake.channel, received_at=received_at, external_id=intake.external_id
        )
        try:
            return await translated(
                self._client.execute_update_with_start_workflow(
                    NEXT_NUMBER,
                    ask,
                    start_workflow_operation=start,
                    result_type=IssuedNumber,
                    rpc_timeout=self._wait,
                ),
                name,
                self._known,
            )
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from err  # our caller cancelled: not an outage
            raise NumberingUnavailable(
                f"no request number within {self._wait.total_seconds():g} s: is a "
                f"worker running on task queue {self._queue}? Nothing was started"
            ) from err
        except RPCError as err:
            if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                raise NumberingUnavailable(f"numbering is saturated: {err.message}") from err
            if err.status == RPCStatusCode.FAILED_PRECONDITION:
                # "Workflow Task in failed state": the numbering run's last task failed (a
                # worker too loaded to finish it in time) and is being retried — transient.
                raise NumberingUnavailable(f"numbering is busy: {err.message}") from err
            raise
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == NUMBERING_UNAVAILABLE:
                raise NumberingUnavailable(cause.message) from err
            raise refused(err) from err
        finally:
            _retrieve_start(start)


def _retrieve_start(start: WithStartWorkflowOperation[Any, None]) -> None:
    """Mark the start operation's outcome as seen. When Update-with-Start fails (e.g.
    "workflow update was aborted" while the worker stands still), temporalio 1.35 also
    sets that error on the operation's own future, which nobody here awaits — the error
    is already raised above — so asyncio logs "Future exception was never retrieved"
    with a traceback for each. The SDK offers no public "done?" on the operation."""
    future = getattr(start, "_workflow_handle", None)
    if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
        future.exception()
