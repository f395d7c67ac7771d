"""The typed client: create requests, send commands, read state.

This is the one place that knows how a ServiceRequest is started (id = number, id
policies, summary, task queue) and how Temporal's errors translate into what a caller can
act on, so the API, the CLI and backend services all behave the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from csflow.commands import BY_COMMAND
from csflow.contracts import (
    WORKFLOW_TYPE,
    Actor,
    Model,
    ReceiptQuery,
    RequestIntake,
    RequestView,
    ServiceRequestInput,
    UpdateCalendarCommand,
)
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.lifecycle import Command
from csflow.domain.numbering import business_day, format_number
from csflow.settings import TASK_QUEUE
from csflow.sla_terms import TermsProvider
from csflow.store import requests as store

if TYPE_CHECKING:
    import asyncpg


T = TypeVar("T")


class RequestNotFound(LookupError):
    """No request has this number."""


class RequestEnded(RuntimeError):
    """The request is closed or cancelled; it takes no more commands."""


class RequestRefused(RuntimeError):
    """The workflow refused the command; `reason` says why, `kind` is the error type."""

    def __init__(self, reason: str, kind: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class TemporalUnavailable(RuntimeError):
    """Temporal could not be reached; nothing was started or changed."""


@dataclass
class CalendarPush:
    updated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Created:
    number: str
    view: RequestView | None  # None when intake had not finished within the wait
    existing: bool  # True when the external id had already created this request


def summary_for(number: str, intake: RequestIntake) -> str:
    """The Temporal UI's list name for a request — codes only, never personal data."""
    return (f"{number} · {intake.category.value} · {intake.priority.value} · "
            f"{intake.channel.value} · {intake.customer.tier.value}")


class CsflowClient:
    def __init__(self, client: Client, pool: asyncpg.Pool[Any], terms: TermsProvider, *,
                 task_queue: str = TASK_QUEUE, receipt_wait: float = 10.0) -> None:
        self._client = client
        self._pool = pool
        self._terms = terms
        self._queue = task_queue
        self._tz = terms.policy.calendar.time_zone
        self._receipt_wait = receipt_wait

    async def create(self, intake: RequestIntake, *, now: datetime | None = None,
                     wait: bool = True) -> Created:
        """Start one workflow per request; a repeated external id returns the first request.

        `wait=False` returns as soon as the workflow is started (bulk imports), without
        the intake view.
        """
        existing = False
        number: str | None = None
        if intake.external_id:
            number = await store.number_for_external_id(self._pool, intake.external_id)
            existing = number is not None
        received_at = intake.received_at or now or datetime.now(UTC)
        if number is None:
            day = business_day(received_at, self._tz)
            serial = await store.allocate_serial(self._pool, day, intake.channel)
            number = format_number(day, intake.channel, serial)
            if intake.external_id:
                claimed = await store.claim_external_id(self._pool, intake.external_id, number)
                existing = claimed != number
                number = claimed
        # Starting is idempotent (USE_EXISTING), so a retry after a lost reply heals itself.
        handle = await self._guard(self._client.start_workflow(
            WORKFLOW_TYPE,
            ServiceRequestInput(number=number, intake=intake, received_at=received_at,
                                terms=self._terms.for_intake(intake, received_at)),
            id=number,
            task_queue=self._queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=summary_for(number, intake),
            result_type=RequestView,
        ), number)
        if not wait:
            return Created(number=number, view=None, existing=existing)
        try:
            view = await asyncio.wait_for(
                handle.execute_update("receipt", ReceiptQuery(), result_type=RequestView),
                timeout=self._receipt_wait,
            )
        except (TimeoutError, RPCError):
            view = None
        return Created(number=number, view=view, existing=existing)

    async def send(self, number: str, command: Command, arg: Model, *,
                   idempotency_key: str | None = None) -> RequestView:
        """Run one command; the same `idempotency_key` twice runs it once (Update id)."""
        spec = BY_COMMAND[command]
        if not isinstance(arg, spec.model):
            raise TypeError(f"{command.value} takes {spec.model.__name__}")
        handle = self._client.get_workflow_handle(number)
        try:
            return await self._guard(
                handle.execute_update(spec.update_name, arg, id=idempotency_key,
                                      result_type=RequestView),
                number,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise RequestRefused(cause.message, cause.type) from err
            raise RequestRefused(str(cause or err), None) from err

    async def push_calendar(self, calendar: BusinessCalendar, actor: Actor) -> CalendarPush:
        """Send a corrected calendar to every running request; each re-arms its timers.

        Requests already on this calendar version are skipped, so a re-run after an
        interruption only finishes the rest.
        """
        query = (f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
                 f"AND TaskQueue = '{self._queue}'")
        result = CalendarPush()
        async for wf in self._client.list_workflows(query):
            try:
                view = await self.send(wf.id, Command.UPDATE_CALENDAR,
                                       UpdateCalendarCommand(actor=actor, calendar=calendar),
                                       idempotency_key=f"calendar-{calendar.version}")
            except (RequestEnded, RequestNotFound):
                continue  # finished between the listing and the update
            except RequestRefused as err:
                result.failed[wf.id] = err.reason
                continue
            del view
            result.updated.append(wf.id)
        return result

    async def state(self, number: str) -> RequestView:
        """The persisted view; the live query only while intake is still being written."""
        view = await store.get_request(self._pool, number)
        if view is not None:
            return view
        handle = self._client.get_workflow_handle(number)
        return await self._guard(handle.query("get_state", result_type=RequestView), number)

    async def _guard(self, call: Awaitable[T], number: str) -> T:
        try:
            return await call
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                if "completed" in err.message:
                    raise RequestEnded(f"request {number} has already ended") from err
                raise RequestNotFound(f"no request {number}") from err
            if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise TemporalUnavailable(f"Temporal is unreachable: {err.message}") from err
            raise
        except WorkflowAlreadyStartedError as err:
            raise RequestRefused(
                f"request number {number} was already used by an earlier request; was the "
                "database reset while Temporal kept its history?", "IllegalTransition") from err
        except RuntimeError as err:
            # A lazily connected client reports a refused first connection this way.
            if "Failed client connect" in str(err):
                raise TemporalUnavailable("Temporal is unreachable") from err
            raise
