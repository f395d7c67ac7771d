"""The numbering entity: where callers with only a Temporal connection get request numbers.

A few long-lived executions per deployment (`csflow-numbers-<task queue>-<shard>`, shards
0-7: Temporal admits at most 10 Updates in flight per execution), reached by
Update-with-start: a caller sends `next_number` with the channel, the time of receipt and
its external id, and gets the number to start the ServiceRequest under (docs/contract.md).
The counters and the external-id bindings are rows in the worker's PostgreSQL, written by
a local activity — not workflow state — so they survive this execution ending, being
terminated or continuing as new, cover every past day (imports) and carry on from the
numbers handed out before this workflow existed. The workflow itself only gives them a
Temporal address; it carries nothing across continue-as-new.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.numbering import NumberingActivities
    from csflow.domain.numbering import (
        NEXT_NUMBER,
        NUMBERING_UNAVAILABLE,
        NUMBERS_WORKFLOW,
        IssuedNumber,
        NumberRequest,
        NumbersInput,
    )
    from csflow.domain.receipt import in_the_future
    from workflows.caller_start import INVALID_START

# A database that does not answer within this fails the Update (the caller sees why and
# may retry) instead of holding the caller, and an Update slot, indefinitely.
ALLOCATE_TIMEOUT = timedelta(seconds=5)
ALLOCATE_DEADLINE = timedelta(seconds=20)
ALLOCATE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=2)
)


@workflow.defn(name=NUMBERS_WORKFLOW, failure_exception_types=[ValidationError])
class RequestNumbersWorkflow:
    def __init__(self) -> None:
        self._asked = 0

    @workflow.run
    async def run(self, inp: NumbersInput) -> None:
        # Idle until this run has answered `numbers_per_run` asks — each adds ~4 events,
        # and a worker that lost the run from its cache replays the whole history before
        # answering the next one, so a short history keeps that cheap — or until the
        # server suggests a fresh run; then hand over once the Updates in hand are
        # answered. Nothing else is carried: the counters are in PostgreSQL.
        await workflow.wait_condition(
            lambda: (
                self._asked >= inp.numbers_per_run or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(inp)

    @workflow.update(name=NEXT_NUMBER)
    async def next_number(self, req: NumberRequest) -> IssuedNumber:
        self._asked += 1
        try:
            return await workflow.execute_local_activity_method(
                NumberingActivities.allocate_number,
                req,
                start_to_close_timeout=ALLOCATE_TIMEOUT,
                schedule_to_close_timeout=ALLOCATE_DEADLINE,
                retry_policy=ALLOCATE_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from err
            raise ApplicationError(
                f"no number could be handed out: the worker's database did not answer "
                f"({cause or err}); nothing was started, try again",
                type=NUMBERING_UNAVAILABLE,
                non_retryable=True,
            ) from err

    @next_number.validator
    def _validate(self, req: NumberRequest) -> None:
        if in_the_future(req.received_at, workflow.now()):
            raise ApplicationError(
                f"received_at {req.received_at.isoformat()} is in the future",
                type=INVALID_START,
                non_retryable=True,
            )
