"""The typed client: create requests, send commands, read state.

This is the one place that knows how a ServiceRequest is started (a number from the
numbering workflow, id = number, id policies, summary, task queue) and how Temporal's
errors translate into what a caller can act on, so the API, the CLI, the importer and
backend services all behave the same way. It needs a Temporal connection and nothing
else: numbering, SLA terms and idempotency by external id live behind the workflows,
where the worker's database and policy are (docs/architecture.md). A PostgreSQL pool, when
given, only serves reads (the persisted view, the timeline, lists).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import Priority, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from csflow import taxonomy
from csflow.commands import BY_COMMAND
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
    ExplainBreachCommand,
    FollowUpRecord,
    ImprovementRow,
    Model,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    RecordCauseCommand,
    RequestIntake,
    RequestView,
    ResolveCommand,
    ReviewBreachCommand,
    ServiceRequestInput,
    TimelineEvent,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
    read_update_result,
)
from csflow.contracts.personal import personal_values, sealed_values
from csflow.crypto import at_rest, granted, options
from csflow.crypto.converter import ENV_DISABLE
from csflow.crypto.granted import GrantedKeys, KeySource
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.lifecycle import Command, TaskCommand
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
from csflow.refusals import Refusal
from csflow.reports.config import ReportsConfigError
from csflow.settings import TASK_QUEUE, Settings
from csflow.store import listing
from csflow.store import requests as store
from csflow.store.listing import DEFAULT_LIMIT, RequestFilter, RequestPage

T = TypeVar("T")
M = TypeVar("M", bound=Model)


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


class NumberingUnavailable(TemporalUnavailable):
    """The worker could not hand out a number (its database did not answer); nothing was
    started. A subclass of TemporalUnavailable: for a caller both mean "try again"."""


class NoDatabase(RuntimeError):
    """A read that needs PostgreSQL (`list`) on a client built without a pool."""


@dataclass
class CalendarPush:
    updated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    other_team: list[str] = field(default_factory=list)  # on another team's hours


@dataclass(frozen=True)
class Created:
    number: str
    view: RequestView | None  # None when intake had not finished within the wait
    existing: bool  # True when the external id had already created this request


def summary_for(number: str, intake: RequestIntake) -> str:
    """The Temporal UI's list name for a request — codes only, never personal data."""
    return (
        f"{number} · {intake.category.value} · {intake.priority.value} · "
        f"{intake.channel.value} · {intake.customer.tier.value}"
    )


# Temporal is down, overloaded or gave up on the call: nothing the caller did wrong, and a
# retry (same external id or Idempotency-Key) is safe — a 503 with Retry-After, never 500.
_BUSY = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
)


class CsflowClient:
    """One object per process, holding a Temporal client and, optionally, a PostgreSQL pool.

    Temporal alone starts, steers and reads requests (`state` and `timeline` then ask the
    workflow). A pool adds the persisted reads: `state`/`timeline` from PostgreSQL (also
    for requests whose workflow history is past retention) and `list`. Build it with
    `from_env()` (or `connect()`) to have it own what it opens and release it on
    `aclose()`; a composition root that already has a client (and a pool) passes them in
    and keeps ownership.

    The customer's name, contact and words in an intake or a command are sealed with the
    customer's data key before they are sent (docs/security.md): the key comes from the
    pool, else from the codec server (``CSFLOW_CODEC_URL``, ``CSFLOW_TOKEN``; a refusal
    raises `csflow.crypto.granted.KeyRefused` and nothing is sent); `keys=False` sends
    them as given.

    Each lifecycle command has a method named like its Update (`submit_plan`, `close`,
    ...), so connection cleanup is `aclose()`, the asyncio name — `close` closes a request.
    """

    def __init__(
        self,
        client: Client,
        pool: asyncpg.Pool[Any] | None = None,
        terms: object = None,
        *,
        task_queue: str = TASK_QUEUE,
        receipt_wait: float = 10.0,
        number_wait: float = 30.0,
        keys: KeySource | bool | None = True,
    ) -> None:
        # `terms` is not used any more (the worker resolves them); accepted so that
        # composition roots written when the starter resolved terms keep constructing.
        del terms
        self._client = client
        self._pool = pool
        self._queue = task_queue
        self._receipt_wait = receipt_wait
        self._number_wait = timedelta(seconds=number_wait)
        self._owns_pool = False
        # Where the customer's data key comes from, to seal personal fields before they
        # enter Temporal (docs/security.md): the pool's key table, else the codec server
        # (CSFLOW_CODEC_URL + CSFLOW_TOKEN); none: personal fields go as plaintext (sealed
        # with the master ring only, so erasure would not reach them).
        self._keys: KeySource | None = None if isinstance(keys, bool) else keys
        self._keys_default = keys is True and (
            os.environ.get(ENV_DISABLE, "").strip().lower() != "off"
        )
        # Round robin over the numbering shards (the process's asks spread evenly); the
        # start is random so that many processes do not all begin on shard 0.
        self._shards = itertools.islice(
            itertools.cycle(range(NUMBER_SHARDS)), random.randrange(NUMBER_SHARDS), None
        )

    @classmethod
    async def from_env(
        cls,
        settings: Settings | None = None,
        *,
        database: bool | None = None,
        terms: object = None,
        pool_size: int = 4,
    ) -> Self:
        """Connect as the environment says: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        CSFLOW_TASK_QUEUE — and DATABASE_URL only for reads, only if it is set.

        `database=None` opens a pool when DATABASE_URL is set; `True` always opens one (the
        embedded stack's when unset: the operator's CLI), `False` never. No policy file is
        read. Unset addresses mean the embedded stack `csflow up` runs. A refused
        connection raises TemporalUnavailable (Temporal) or OSError (PostgreSQL) with
        nothing left open. (`terms` is ignored, as in the constructor.)
        """
        settings = settings or Settings()
        try:
            temporal = await Client.connect(
                settings.temporal_target,
                namespace=settings.temporal_namespace,
                **options.client_options(settings),
            )
        except RuntimeError as err:
            raise TemporalUnavailable(
                f"Temporal is unreachable at {settings.temporal_target}: {err}"
            ) from err
        if database is None:
            database = settings.database_url is not None
        if not database:
            return cls(temporal, task_queue=settings.task_queue)
        from csflow.store.pool import create_pool

        pool = await create_pool(settings.database_dsn, min_size=1, max_size=pool_size)
        made = cls(temporal, pool, task_queue=settings.task_queue)
        made._owns_pool = True
        return made

    @property
    def has_database(self) -> bool:
        """Whether persisted reads (and `list`) are available: a pool was given or opened."""
        return self._pool is not None

    async def aclose(self) -> None:
        """Release what `from_env` opened; a pool passed in stays its owner's to close.

        The Temporal client needs no closing: its connection ends with the last reference.
        """
        if self._owns_pool and self._pool is not None:
            self._owns_pool = False
            await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def create(
        self,
        intake: RequestIntake,
        *,
        now: datetime | None = None,
        wait: bool = True,
        imported_events: int = 0,
    ) -> Created:
        """Number the request, then start its workflow; a repeated external id returns the
        first request and never starts a second one.

        Two steps, both idempotent, so a retry after a lost reply heals itself: the
        numbering workflow returns the same number for the same external id, and the
        start under that number joins the running workflow (USE_EXISTING). The workflow
        resolves the SLA terms from the worker's policy. `wait=False` returns as soon as
        the workflow is started (bulk imports), without the intake view.
        `imported_events`: `csflow import` sends that many events recorded by hand next,
        as commands dated `at` (docs/import.md).
        """
        received_at = intake.received_at or now or datetime.now(UTC)
        intake = await self._sealed(intake.customer.id, intake)
        issued = await self.number(intake, received_at)
        number = issued.number
        try:
            handle = await self._guard(
                self._client.start_workflow(
                    WORKFLOW_TYPE,
                    ServiceRequestInput(
                        number=number,
                        intake=intake,
                        received_at=received_at,
                        imported_events=imported_events,
                    ),
                    id=number,
                    task_queue=self._queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    static_summary=summary_for(number, intake),
                    result_type=dict,  # a CommandReceipt, or a RequestView (read_update_result)
                ),
                number,
            )
        except RequestRefused:
            if not issued.existing:
                raise
            # The external id's request has run and ended: it is the answer, not a clash.
            return Created(number=number, view=await self._ended_view(number), existing=True)
        if not wait:
            return Created(number=number, view=None, existing=issued.existing)
        try:
            view = await asyncio.wait_for(
                self.view_after(
                    number,
                    handle.execute_update("receipt", ReceiptQuery(), result_type=dict),
                ),
                timeout=self._receipt_wait,
            )
        except (TimeoutError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
            view = None  # started is started: the view is read later
        return Created(number=number, view=view, existing=issued.existing)

    async def number(self, intake: RequestIntake, received_at: datetime) -> IssuedNumber:
        """Ask the numbering workflow for this request's number (Update-with-start).

        A numbering shard is started on first use and joined afterwards; the number's
        date is `received_at`'s business day in the organisation's time zone, which the
        worker knows. No answer within `number_wait` (no worker running, or one too busy)
        raises NumberingUnavailable; the ask may still be answered later, which at most
        leaves a gap — or binds the external id, which a retry then finds.
        """
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
            return await self._guard(
                self._client.execute_update_with_start_workflow(
                    NEXT_NUMBER,
                    ask,
                    start_workflow_operation=start,
                    result_type=IssuedNumber,
                    rpc_timeout=self._number_wait,
                ),
                name,
            )
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from err  # our caller cancelled: not an outage
            raise NumberingUnavailable(
                f"no request number within {self._number_wait.total_seconds():g} s: is a "
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
            if isinstance(cause, ApplicationError):
                if cause.type == NUMBERING_UNAVAILABLE:
                    raise NumberingUnavailable(cause.message) from err
                raise RequestRefused(cause.message, cause.type) from err
            raise RequestRefused(str(cause or err), None) from err

    async def view_after(self, number: str, update: Awaitable[Any]) -> RequestView:
        """The request's view once `update` is answered. Since patch `receipts-and-row-changes`
        an Update answers with a CommandReceipt (the view is not written into history on
        every command): the view is then read with the `get_state` query, which sees the
        command's effects (a worker answers it, also once the request has ended) — or,
        with a pool, from PostgreSQL. A run from before the patch answers with the view."""
        result = read_update_result(await update)
        if isinstance(result, RequestView):
            return result
        if self._pool is not None:
            # The receipt is sent only once its events are persisted: a row whose events
            # reach `seq` holds the command's effects. Reading it costs two indexed
            # SELECTs; the query would cost a worker activation — and, once the command
            # ended the run, a replay of its whole history in a fresh sandbox.
            persisted = await store.get_request(self._pool, number)
            if (
                persisted is not None
                and persisted.timeline[-1:]
                and (persisted.timeline[-1].seq >= result.seq)
            ):
                return persisted
        view: RequestView = await self._client.get_workflow_handle(number).query(
            "get_state", result_type=RequestView
        )
        return view

    async def _ended_view(self, number: str) -> RequestView | None:
        try:
            return await self.state(number)
        except (RequestNotFound, RequestEnded, TemporalUnavailable, RPCError):
            return None

    async def send(
        self, number: str, command: Command, arg: Model, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Run one command; the same `idempotency_key` twice runs it once (Update id)."""
        spec = BY_COMMAND[command]
        if not isinstance(arg, spec.model):
            raise TypeError(f"{command.value} takes {spec.model.__name__}")
        if self._known_keys(arg):
            problem = taxonomy.missing_cause((await self.state(number)).category)
            if problem is not None:
                raise RequestRefused(problem, Refusal.INVALID.value)
        if self._key_source() is not None and (personal_values(arg) or sealed_values(arg)):
            arg = await self._sealed(await self._customer_of(number), arg)
        handle = self._client.get_workflow_handle(number)
        try:
            return await self._guard(
                self.view_after(
                    number,
                    handle.execute_update(
                        spec.update_name, arg, id=idempotency_key, result_type=dict
                    ),
                ),
                number,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise RequestRefused(cause.message, cause.type) from err
            raise RequestRefused(str(cause or err), None) from err

    async def _sealed(self, customer_id: str, model: M) -> M:
        """`model` with its personal fields sealed with the customer's key (if this client
        has a key source); a value sealed with another key is refused."""
        keys = self._key_source()
        if keys is None:
            return model
        try:
            return await granted.seal_for(keys, customer_id, model)
        except granted.ForeignValue as err:
            raise RequestRefused(str(err), Refusal.INVALID.value) from None

    def _key_source(self) -> KeySource | None:
        """Built on first use: the pool's key table needs the key ring, read only then."""
        if self._keys is None and self._keys_default:
            self._keys_default = False
            self._keys = (
                at_rest.keys(self._pool) if self._pool is not None else GrantedKeys.from_env()
            )
        return self._keys

    async def _customer_of(self, number: str) -> str:
        """The request's customer id: from the row, else from the workflow."""
        if self._pool is not None:
            found = await self._pool.fetchval(
                "SELECT customer_id FROM requests WHERE number = $1", number
            )
            if found is not None:
                return str(found)
        return (await self.state(number)).customer_id

    async def push_calendar(self, calendar: BusinessCalendar, actor: Actor) -> CalendarPush:
        """Send a corrected calendar to every running request; each re-arms its timers.

        Requests already on this calendar version are skipped, so a re-run after an
        interruption only finishes the rest.
        """
        query = (
            f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
            f"AND TaskQueue = '{self._queue}'"
        )
        result = CalendarPush()
        async for wf in self._client.list_workflows(query):
            try:
                await self.send(
                    wf.id,
                    Command.UPDATE_CALENDAR,
                    UpdateCalendarCommand(actor=actor, calendar=calendar),
                    idempotency_key=f"calendar-{calendar.version}",
                )
            except (RequestEnded, RequestNotFound):
                continue  # finished between the listing and the update
            except RequestRefused as err:
                if err.kind == Refusal.OTHER_CALENDAR:
                    result.other_team.append(wf.id)
                else:
                    result.failed[wf.id] = err.reason
                continue
            result.updated.append(wf.id)
        return result

    async def state(self, number: str) -> RequestView:
        """The request's view: with a pool, the persisted one (the workflow's query only
        while intake is still being written); without, the workflow's `get_state` query,
        which a worker answers (also for an ended request still in retention)."""
        if self._pool is not None:
            view = await store.get_request(self._pool, number)
            if view is not None:
                return view
        handle = self._client.get_workflow_handle(number)
        return await self._guard(handle.query("get_state", result_type=RequestView), number)

    async def timeline(self, number: str) -> list[TimelineEvent]:
        """The audited events: from PostgreSQL with a pool, else from the workflow."""
        if self._pool is not None:
            events = await listing.timeline(self._pool, number)
            if events or await listing.request_exists(self._pool, number):
                return events
        return (await self.state(number)).timeline

    # ---- one typed method per command (csflow.commands.COMMANDS; a test keeps them in
    # step): a caller's type checker sees each command's model, `send` stays the one path.

    async def submit_plan(
        self, number: str, command: PlanCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Submit or revise the plan (measures, owner, ETA)."""
        return await self.send(
            number, Command.SUBMIT_PLAN, command, idempotency_key=idempotency_key
        )

    async def post_progress(
        self, number: str, command: ProgressCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """A progress note; restarts the progress cadence clock."""
        return await self.send(
            number, Command.POST_PROGRESS, command, idempotency_key=idempotency_key
        )

    async def resolve(
        self, number: str, command: ResolveCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Propose a resolution; the customer's confirmation window opens."""
        return await self.send(number, Command.RESOLVE, command, idempotency_key=idempotency_key)

    async def confirm(
        self, number: str, command: ConfirmCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """The customer's answer; not satisfied re-handles with raised priority."""
        return await self.send(number, Command.CONFIRM, command, idempotency_key=idempotency_key)

    async def close(
        self, number: str, command: CloseCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Close a resolved request (not the connections: that is `aclose`)."""
        return await self.send(number, Command.CLOSE, command, idempotency_key=idempotency_key)

    async def cancel(
        self, number: str, command: CancelCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(number, Command.CANCEL, command, idempotency_key=idempotency_key)

    async def wait_for_customer(
        self, number: str, command: WaitForCustomerCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """SLA clocks pause while the request waits on the customer (if policy says so)."""
        return await self.send(
            number, Command.WAIT_FOR_CUSTOMER, command, idempotency_key=idempotency_key
        )

    async def customer_replied(
        self, number: str, command: CustomerRepliedCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.CUSTOMER_REPLIED, command, idempotency_key=idempotency_key
        )

    async def change_priority(
        self, number: str, command: ChangePriorityCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.CHANGE_PRIORITY, command, idempotency_key=idempotency_key
        )

    async def update_calendar(
        self, number: str, command: UpdateCalendarCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """One request; `push_calendar` sends a calendar to every running request."""
        return await self.send(
            number, Command.UPDATE_CALENDAR, command, idempotency_key=idempotency_key
        )

    async def escalate(
        self, number: str, command: EscalateCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(number, Command.ESCALATE, command, idempotency_key=idempotency_key)

    async def reassign(
        self, number: str, command: ReassignCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(number, Command.REASSIGN, command, idempotency_key=idempotency_key)

    async def order_rehandling(
        self, number: str, command: OrderRehandlingCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.ORDER_REHANDLING, command, idempotency_key=idempotency_key
        )

    async def request_compensation(
        self, number: str, command: CompensationRequest, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Above the agent's limit the compensation waits for `decide_compensation`."""
        return await self.send(
            number, Command.REQUEST_COMPENSATION, command, idempotency_key=idempotency_key
        )

    async def decide_compensation(
        self, number: str, command: CompensationDecision, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.DECIDE_COMPENSATION, command, idempotency_key=idempotency_key
        )

    async def assignment_made(
        self, number: str, command: AssignmentMade, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Internal: only the `system` role may send it (the assignment queue does)."""
        return await self.send(
            number, Command.ASSIGNMENT_MADE, command, idempotency_key=idempotency_key
        )

    async def record_follow_up(
        self, number: str, command: FollowUpRecord, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.RECORD_FOLLOW_UP, command, idempotency_key=idempotency_key
        )

    async def complete_improvement(
        self, task_id: str, command: CompleteImprovement, *, idempotency_key: str | None = None
    ) -> ImprovementRow:
        """Close an improvement task (the request's child) with what changed."""
        self._known_keys(command)
        handle = self._client.get_workflow_handle(task_id)
        try:
            return await self._guard(
                handle.execute_update(
                    TaskCommand.COMPLETE_IMPROVEMENT.value,
                    command,
                    id=idempotency_key,
                    result_type=ImprovementRow,
                ),
                task_id,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise RequestRefused(cause.message, cause.type) from err
            raise RequestRefused(str(cause or err), None) from err

    async def explain_breach(
        self, number: str, command: ExplainBreachCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """The holder's reason for a breach of one clock (a configured reason key)."""
        return await self.send(
            number, Command.EXPLAIN_BREACH, command, idempotency_key=idempotency_key
        )

    async def review_breach(
        self, number: str, command: ReviewBreachCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """A supervisor accepts or rejects the latest explanation of a breach."""
        return await self.send(
            number, Command.REVIEW_BREACH, command, idempotency_key=idempotency_key
        )

    async def record_cause(
        self, number: str, command: RecordCauseCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Record or correct the root cause of the complaint or one improvement task."""
        return await self.send(
            number, Command.RECORD_CAUSE, command, idempotency_key=idempotency_key
        )

    @staticmethod
    def _known_keys(command: Model) -> bool:
        """A reason or cause must be a key of the reports config (csflow.taxonomy). True
        when the command is a resolution the config wants a cause on if it is a
        complaint (the caller then looks up the category)."""
        try:
            problem = taxonomy.problem(command)
            needs_cause = taxonomy.needs_cause(command)
        except ReportsConfigError as err:  # a deployment fault: nothing is sent, never a 500
            raise RequestRefused(
                f"the reports config cannot be used: {err}", Refusal.UNAVAILABLE.value
            ) from err
        if problem is not None:
            raise RequestRefused(problem, Refusal.INVALID.value)
        return needs_cause

    async def _known(self, number: str) -> bool:
        """Did a request with this number ever exist? The persisted row when there is a
        pool (it outlives Temporal's retention), else the workflow's own record."""
        if self._pool is not None:
            try:
                return await listing.request_exists(self._pool, number)
            except (OSError, asyncpg.PostgresError):
                return False  # the database is down too: say what Temporal said
        try:
            await self._client.get_workflow_handle(number).describe()
        except RPCError:
            return False
        return True

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
            if err.status in _BUSY:
                raise TemporalUnavailable(f"Temporal is unreachable: {err.message}") from err
            raise
        except WorkflowAlreadyStartedError as err:
            raise RequestRefused(
                f"request number {number} was already used by an earlier request; was the "
                "database reset while Temporal kept its history?",
                Refusal.ILLEGAL_STATE,
            ) from err
        except RuntimeError as err:
            # A lazily connected client reports a refused first connection this way.
            if "Failed client connect" in str(err):
                raise TemporalUnavailable("Temporal is unreachable") from err
            raise

    # Last in the class: from here on `list` in this class body names the method.
    async def list(
        self,
        filter: RequestFilter | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> RequestPage:
        """One page of requests, newest first; pass `next_cursor` back for the next.

        Reads PostgreSQL: raises `NoDatabase` on a client without a pool, and
        `InvalidCursor` (a ValueError) for a cursor this client did not hand out.
        """
        if self._pool is None:
            raise NoDatabase(
                "listing requests reads PostgreSQL: build the client with a "
                "pool (from_env(database=True) or DATABASE_URL set)"
            )
        return await listing.list_requests(
            self._pool, filter or RequestFilter(), limit=limit, cursor=cursor
        )


@asynccontextmanager
async def connect(
    settings: Settings | None = None, *, database: bool | None = None, terms: object = None
) -> AsyncIterator[CsflowClient]:
    """`async with connect() as csflow:` — a client from the environment, closed after.

    `database` as in `CsflowClient.from_env`; `terms` is ignored."""
    client = await CsflowClient.from_env(settings, database=database, terms=terms)
    try:
        yield client
    finally:
        await client.aclose()
