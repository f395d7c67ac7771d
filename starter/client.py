"""The typed client: create requests, send commands, read state.

This is the one place that knows how a ServiceRequest is started (a number from the
numbering workflow, id = number, id policies, summary, task queue) and how Temporal's
errors translate into what a caller can act on, so the API, the CLI, the importer and
backend services all behave the same way. It needs a Temporal connection and nothing
else: numbering, SLA terms and idempotency by external id live behind the workflows,
where the worker's database and policy are (docs/architecture.md). A PostgreSQL pool, when
given, only serves reads (the persisted view, the timeline, lists).

CsflowClient is assembled from the modules beside this one: errors.py (what it raises,
and the translation of Temporal's errors), numbering.py, sealing.py (the customer's
key), reads.py, commands.py (one typed method per command) and calendar_push.py. Every
name callers import from here stays importable from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import asyncpg
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from csflow import taxonomy
from csflow.commands import BY_COMMAND
from csflow.contracts import (
    WORKFLOW_TYPE,
    Actor,
    CompleteImprovement,
    ImprovementRow,
    Model,
    ReceiptQuery,
    RequestIntake,
    RequestView,
    ServiceRequestInput,
)
from csflow.crypto import options
from csflow.crypto.granted import KeySource
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.lifecycle import Command, TaskCommand
from csflow.domain.numbering import IssuedNumber
from csflow.refusals import Refusal
from csflow.settings import TASK_QUEUE, Settings
from starter.calendar_push import CalendarPush, push_calendar
from starter.commands import TypedCommands, known_keys
from starter.errors import (
    NoDatabase,
    NumberingUnavailable,
    RequestEnded,
    RequestNotFound,
    RequestRefused,
    TemporalUnavailable,
    refused,
)
from starter.numbering import Numbering
from starter.reads import Reads
from starter.sealing import Sealing

__all__ = [
    "CalendarPush",
    "Created",
    "CsflowClient",
    "NoDatabase",
    "NumberingUnavailable",
    "RequestEnded",
    "RequestNotFound",
    "RequestRefused",
    "TemporalUnavailable",
    "connect",
    "summary_for",
]


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


class CsflowClient(Reads, TypedCommands):
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
        self._sealing = Sealing(keys, pool)  # starter/sealing.py
        self._numbering = Numbering(client, task_queue, self._number_wait, self._known)

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
        intake = await self._sealing.sealed(intake.customer.id, intake)
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
        return await self._numbering.number(intake, received_at)

    async def send(
        self, number: str, command: Command, arg: Model, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Run one command; the same `idempotency_key` twice runs it once (Update id)."""
        spec = BY_COMMAND[command]
        if not isinstance(arg, spec.model):
            raise TypeError(f"{command.value} takes {spec.model.__name__}")
        if known_keys(arg):
            problem = taxonomy.missing_cause((await self.state(number)).category)
            if problem is not None:
                raise RequestRefused(problem, Refusal.INVALID.value)
        if self._sealing.wanted(arg):
            arg = await self._sealing.sealed(await self._customer_of(number), arg)
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
            raise refused(err) from err

    async def push_calendar(self, calendar: BusinessCalendar, actor: Actor) -> CalendarPush:
        """Send a corrected calendar to every running request; each re-arms its timers.

        Requests already on this calendar version are skipped, so a re-run after an
        interruption only finishes the rest.
        """
        return await push_calendar(self._client, self._queue, self.send, calendar, actor)

    async def complete_improvement(
        self, task_id: str, command: CompleteImprovement, *, idempotency_key: str | None = None
    ) -> ImprovementRow:
        """Close an improvement task (the request's child) with what changed."""
        known_keys(command)
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
            raise refused(err) from err


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
