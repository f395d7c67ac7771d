"""The typed client: create requests, send commands, read state.

This is the one place that knows how a ServiceRequest is started (id = number, id
policies, summary, task queue) and how Temporal's errors translate into what a caller can
act on, so the API, the CLI and backend services all behave the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from csflow.commands import BY_COMMAND
from csflow.config.terms import TermsProvider
from csflow.contracts import (
    WORKFLOW_TYPE,
    Actor,
    AssignmentMade,
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
    ImprovementRow,
    Model,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    RequestIntake,
    RequestView,
    ResolveCommand,
    ServiceRequestInput,
    TimelineEvent,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.lifecycle import Command, TaskCommand
from csflow.domain.numbering import business_day, format_number
from csflow.refusals import Refusal
from csflow.settings import TASK_QUEUE, Settings
from csflow.store import listing
from csflow.store import requests as store
from csflow.store.listing import DEFAULT_LIMIT, RequestFilter, RequestPage

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
    """One object per process: it holds a Temporal client and a PostgreSQL pool.

    Build it with `from_env()` (or `connect()`) to have it own both and release them on
    `aclose()`; a composition root that already has a client and a pool (the API, tests)
    passes them in and keeps ownership.

    Each lifecycle command has a method named like its Update (`submit_plan`, `close`,
    ...), so connection cleanup is `aclose()`, the asyncio name — `close` closes a request.
    """

    def __init__(self, client: Client, pool: asyncpg.Pool[Any], terms: TermsProvider, *,
                 task_queue: str = TASK_QUEUE, receipt_wait: float = 10.0) -> None:
        self._client = client
        self._pool = pool
        self._terms = terms
        self._queue = task_queue
        self._tz = terms.policy.calendar.time_zone
        self._receipt_wait = receipt_wait
        self._owns_pool = False

    @classmethod
    async def from_env(cls, settings: Settings | None = None, *,
                       terms: TermsProvider | None = None, pool_size: int = 4) -> Self:
        """Connect as the environment says: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        CSFLOW_TASK_QUEUE, DATABASE_URL and the policy file (CSFLOW_POLICY).

        The policy is read because creating a request resolves its SLA terms here, before
        the workflow starts. Unset addresses mean the embedded stack `csflow up` runs. A
        refused connection raises TemporalUnavailable (Temporal) or OSError (PostgreSQL)
        with nothing left open.
        """
        from csflow.config.policy import policy_from_env
        from csflow.store.pool import create_pool

        settings = settings or Settings()
        terms = terms or TermsProvider(policy_from_env())
        try:
            temporal = await Client.connect(settings.temporal_target,
                                            namespace=settings.temporal_namespace,
                                            data_converter=pydantic_data_converter)
        except RuntimeError as err:
            raise TemporalUnavailable(
                f"Temporal is unreachable at {settings.temporal_target}: {err}") from err
        pool = await create_pool(settings.database_dsn, min_size=1, max_size=pool_size)
        made = cls(temporal, pool, terms, task_queue=settings.task_queue)
        made._owns_pool = True
        return made

    async def aclose(self) -> None:
        """Release what `from_env` opened; a pool passed in stays its owner's to close.

        The Temporal client needs no closing: its connection ends with the last reference.
        """
        if self._owns_pool:
            self._owns_pool = False
            await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def create(self, intake: RequestIntake, *, now: datetime | None = None,
                     wait: bool = True) -> Created:
        """Start one workflow per request; a repeated external id returns the first request.

        `wait=False` returns as soon as the workflow is started (bulk imports), without
        the intake view.
        """
        taxonomy = self._terms.policy.taxonomy  # `[taxonomy]`: refused here, before history
        if (problem := taxonomy.problem(intake.category, intake.sub_type)) is not None:
            raise RequestRefused(problem, Refusal.INVALID.value)
        if (name := taxonomy.canonical(intake.category, intake.sub_type)) != intake.sub_type:
            intake = intake.model_copy(update={"sub_type": name})
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
                await self.send(wf.id, Command.UPDATE_CALENDAR,
                                UpdateCalendarCommand(actor=actor, calendar=calendar),
                                idempotency_key=f"calendar-{calendar.version}")
            except (RequestEnded, RequestNotFound):
                continue  # finished between the listing and the update
            except RequestRefused as err:
                result.failed[wf.id] = err.reason
                continue
            result.updated.append(wf.id)
        return result

    async def state(self, number: str) -> RequestView:
        """The persisted view; the live query only while intake is still being written."""
        view = await store.get_request(self._pool, number)
        if view is not None:
            return view
        handle = self._client.get_workflow_handle(number)
        return await self._guard(handle.query("get_state", result_type=RequestView), number)

    async def timeline(self, number: str) -> list[TimelineEvent]:
        """The audited events from PostgreSQL; the live query's while intake is unwritten."""
        events = await listing.timeline(self._pool, number)
        if events or await listing.request_exists(self._pool, number):
            return events
        return (await self.state(number)).timeline

    # ---- one typed method per command (csflow.commands.COMMANDS; a test keeps them in
    # step): a caller's type checker sees each command's model, `send` stays the one path.

    async def submit_plan(self, number: str, command: PlanCommand, *,
                          idempotency_key: str | None = None) -> RequestView:
        """Submit or revise the plan (measures, owner, ETA)."""
        return await self.send(number, Command.SUBMIT_PLAN, command,
                               idempotency_key=idempotency_key)

    async def post_progress(self, number: str, command: ProgressCommand, *,
                            idempotency_key: str | None = None) -> RequestView:
        """A progress note; restarts the progress cadence clock."""
        return await self.send(number, Command.POST_PROGRESS, command,
                               idempotency_key=idempotency_key)

    async def resolve(self, number: str, command: ResolveCommand, *,
                      idempotency_key: str | None = None) -> RequestView:
        """Propose a resolution; the customer's confirmation window opens."""
        return await self.send(number, Command.RESOLVE, command,
                               idempotency_key=idempotency_key)

    async def confirm(self, number: str, command: ConfirmCommand, *,
                      idempotency_key: str | None = None) -> RequestView:
        """The customer's answer; not satisfied re-handles with raised priority."""
        return await self.send(number, Command.CONFIRM, command,
                               idempotency_key=idempotency_key)

    async def close(self, number: str, command: CloseCommand, *,
                    idempotency_key: str | None = None) -> RequestView:
        """Close a resolved request (not the connections: that is `aclose`)."""
        return await self.send(number, Command.CLOSE, command,
                               idempotency_key=idempotency_key)

    async def cancel(self, number: str, command: CancelCommand, *,
                     idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.CANCEL, command,
                               idempotency_key=idempotency_key)

    async def wait_for_customer(self, number: str, command: WaitForCustomerCommand, *,
                                idempotency_key: str | None = None) -> RequestView:
        """SLA clocks pause while the request waits on the customer (if policy says so)."""
        return await self.send(number, Command.WAIT_FOR_CUSTOMER, command,
                               idempotency_key=idempotency_key)

    async def customer_replied(self, number: str, command: CustomerRepliedCommand, *,
                               idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.CUSTOMER_REPLIED, command,
                               idempotency_key=idempotency_key)

    async def change_priority(self, number: str, command: ChangePriorityCommand, *,
                              idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.CHANGE_PRIORITY, command,
                               idempotency_key=idempotency_key)

    async def update_calendar(self, number: str, command: UpdateCalendarCommand, *,
                              idempotency_key: str | None = None) -> RequestView:
        """One request; `push_calendar` sends a calendar to every running request."""
        return await self.send(number, Command.UPDATE_CALENDAR, command,
                               idempotency_key=idempotency_key)

    async def escalate(self, number: str, command: EscalateCommand, *,
                       idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.ESCALATE, command,
                               idempotency_key=idempotency_key)

    async def reassign(self, number: str, command: ReassignCommand, *,
                       idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.REASSIGN, command,
                               idempotency_key=idempotency_key)

    async def order_rehandling(self, number: str, command: OrderRehandlingCommand, *,
                               idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.ORDER_REHANDLING, command,
                               idempotency_key=idempotency_key)

    async def request_compensation(self, number: str, command: CompensationRequest, *,
                                   idempotency_key: str | None = None) -> RequestView:
        """Above the agent's limit the compensation waits for `decide_compensation`."""
        return await self.send(number, Command.REQUEST_COMPENSATION, command,
                               idempotency_key=idempotency_key)

    async def decide_compensation(self, number: str, command: CompensationDecision, *,
                                  idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.DECIDE_COMPENSATION, command,
                               idempotency_key=idempotency_key)

    async def assignment_made(self, number: str, command: AssignmentMade, *,
                              idempotency_key: str | None = None) -> RequestView:
        """Internal: only the `system` role may send it (the assignment queue does)."""
        return await self.send(number, Command.ASSIGNMENT_MADE, command,
                               idempotency_key=idempotency_key)

    async def record_follow_up(self, number: str, command: FollowUpRecord, *,
                               idempotency_key: str | None = None) -> RequestView:
        return await self.send(number, Command.RECORD_FOLLOW_UP, command,
                               idempotency_key=idempotency_key)

    async def complete_improvement(self, task_id: str, command: CompleteImprovement, *,
                                   idempotency_key: str | None = None) -> ImprovementRow:
        """Close an improvement task (the request's child) with what changed."""
        handle = self._client.get_workflow_handle(task_id)
        try:
            return await self._guard(handle.execute_update(
                TaskCommand.COMPLETE_IMPROVEMENT.value, command, id=idempotency_key,
                result_type=ImprovementRow), task_id)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise RequestRefused(cause.message, cause.type) from err
            raise RequestRefused(str(cause or err), None) from err

    async def _known(self, number: str) -> bool:
        try:
            return await listing.request_exists(self._pool, number)
        except (OSError, asyncpg.PostgresError):
            return False  # the database is down too: say what Temporal said

    async def _guard(self, call: Awaitable[T], number: str) -> T:
        try:
            return await call
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                # The wording differs when the request ends while a command is in flight;
                # its persisted row tells an ended request from one that never was.
                if "completed" in err.message or await self._known(number):
                    raise RequestEnded(f"request {number} has already ended") from err
                raise RequestNotFound(f"no request {number}") from err
            if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise TemporalUnavailable(f"Temporal is unreachable: {err.message}") from err
            raise
        except WorkflowAlreadyStartedError as err:
            raise RequestRefused(
                f"request number {number} was already used by an earlier request; was the "
                "database reset while Temporal kept its history?", Refusal.ILLEGAL_STATE) from err
        except RuntimeError as err:
            # A lazily connected client reports a refused first connection this way.
            if "Failed client connect" in str(err):
                raise TemporalUnavailable("Temporal is unreachable") from err
            raise

    # Last in the class: from here on `list` in this class body names the method.
    async def list(self, filter: RequestFilter | None = None, *,
                   limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> RequestPage:
        """One page of requests, newest first; pass `next_cursor` back for the next.

        Raises `InvalidCursor` (a ValueError) for a cursor this client did not hand out.
        """
        return await listing.list_requests(self._pool, filter or RequestFilter(),
                                           limit=limit, cursor=cursor)


@asynccontextmanager
async def connect(settings: Settings | None = None, *,
                  terms: TermsProvider | None = None) -> AsyncIterator[CsflowClient]:
    """`async with connect() as csflow:` — a client from the environment, closed after."""
    client = await CsflowClient.from_env(settings, terms=terms)
    try:
        yield client
    finally:
        await client.aclose()
