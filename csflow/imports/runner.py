"""Creating the good rows of a parsed file, a bounded number at a time.

Exactly-once comes from two keys that survive a crash: `request_keys` binds each
external id to one number (the numbering workflow writes it) before the workflow is
started, and the workflow id is that number (started with USE_EXISTING). A re-run
therefore never allocates a second number for a row; what this module adds is telling the
three cases of a re-run apart, so the summary is honest and nothing is left half-done:

- the key exists and the request row (or its workflow) exists → already present;
- the key exists but no workflow was ever started (the previous run died between the
  claim and the start) → started now and counted as imported;
- no key → created.

Asking before creating also matters for requests imported earlier and closed since: once
retention has removed a closed workflow, `CsflowClient.create` would start a second
lifecycle under the old number, whereas here the persisted row answers "already present".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from csflow.contracts import ReceiptQuery
from csflow.imports.parse import Duplicate, Format, ImportRow, ParsedFile, RowProblem
from csflow.refusals import run_has_ended
from starter.client import RequestEnded, RequestRefused, TemporalUnavailable

if TYPE_CHECKING:
    from starter.client import CsflowClient

_TRANSIENT_RPC = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
    }
)
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TemporalUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InsufficientResourcesError,  # too many connections
    asyncpg.OperatorInterventionError,  # server restarting, statement cancelled
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock
    OSError,
    TimeoutError,
)


def is_transient(err: BaseException) -> bool:
    """Worth another try: the service may be back in a moment, and every step is keyed."""
    if isinstance(err, RPCError):
        return err.status in _TRANSIENT_RPC
    return isinstance(err, _TRANSIENT_ERRORS)


@dataclass(frozen=True)
class Imported:
    line: int
    external_id: str
    number: str


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    imported: int
    present: int
    failed: int


@dataclass
class ImportReport:
    source: str
    format: Format
    total: int
    imported: list[Imported] = field(default_factory=list)
    present: list[Imported] = field(default_factory=list)
    bad: list[RowProblem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    failed: list[RowProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every row of the file now exists as a request (duplicates are not rows to add)."""
        return not self.bad and not self.failed

    def problems(self) -> list[tuple[int, str | None, str, str]]:
        """(line, external id, kind, reason) in file order, for people and the errors file."""
        rows: list[tuple[int, str | None, str, str]] = [
            *((p.line, p.external_id, "bad", p.reason) for p in self.bad),
            *((d.line, d.external_id, "duplicate", d.reason) for d in self.duplicates),
            *((p.line, p.external_id, "failed", p.reason) for p in self.failed),
        ]
        return sorted(rows, key=lambda r: r[0])


@dataclass
class _Attempts:
    """What earlier attempts at one row learnt, so a retry neither re-asks nor miscounts."""

    checked: bool = False
    key_existed: bool = False
    create_tried: bool = False


class Importer:
    def __init__(
        self,
        csflow: CsflowClient,
        temporal: Client,
        pool: asyncpg.Pool[Any],
        *,
        concurrency: int = 16,
        attempts: int = 4,
        backoff: float = 0.5,
        on_progress: Callable[[Progress], None] | None = None,
        intake_wait: float = 120.0,
    ) -> None:
        if concurrency < 1 or attempts < 1:
            raise ValueError("concurrency and attempts must be at least 1")
        self._csflow = csflow
        self._temporal = temporal
        self._pool = pool
        self._concurrency = concurrency
        self._attempts = attempts
        self._backoff = backoff
        self._on_progress = on_progress
        self._intake_wait = intake_wait  # a row with events waits for its intake this long

    async def run(self, parsed: ParsedFile) -> ImportReport:
        """Import every good row; a row's failure is reported, never fatal to the others.

        Cancelling this (Ctrl-C, a crash) leaves each row either fully created, claimed
        but not started, or untouched — all three are finished correctly by a re-run.
        """
        began = time.perf_counter()
        report = ImportReport(
            source=parsed.source,
            format=parsed.format,
            total=parsed.total,
            bad=list(parsed.bad),
            duplicates=list(parsed.duplicates),
        )
        # Oldest first: within a day and channel, serials then follow the time of receipt.
        queue = iter(sorted(parsed.rows, key=lambda r: (r.intake.received_at, r.line)))
        total = len(parsed.rows)

        def tell() -> None:
            if self._on_progress is not None:
                done = len(report.imported) + len(report.present) + len(report.failed)
                self._on_progress(
                    Progress(
                        done, total, len(report.imported), len(report.present), len(report.failed)
                    )
                )

        async def work() -> None:
            for row in queue:  # one shared iterator: each row goes to exactly one worker
                outcome = await self._row(row)
                if isinstance(outcome, RowProblem):
                    report.failed.append(outcome)
                elif outcome[1]:
                    report.present.append(outcome[0])
                else:
                    report.imported.append(outcome[0])
                tell()

        tell()
        async with asyncio.TaskGroup() as group:
            for _ in range(min(self._concurrency, total)):
                group.create_task(work())
        report.seconds = time.perf_counter() - began
        for outcomes in (report.imported, report.present):
            outcomes.sort(key=lambda i: i.line)
        report.failed.sort(key=lambda p: p.line)
        return report

    async def _row(self, row: ImportRow) -> tuple[Imported, bool] | RowProblem:
        """(outcome, already present) or the problem, after retrying transient errors."""
        state = _Attempts()
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._import(row, state)
            except RequestRefused as err:
                return RowProblem(row.line, row.external_id, f"refused: {err.reason}")
            except Exception as err:
                if not is_transient(err):
                    return RowProblem(row.line, row.external_id, f"{type(err).__name__}: {err}")
                if attempt == self._attempts:
                    return RowProblem(
                        row.line,
                        row.external_id,
                        f"gave up after {attempt} attempts: {type(err).__name__}: {err}",
                    )
                delay = self._backoff * 2 ** (attempt - 1)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # no thundering herd
        raise AssertionError("unreachable: the last attempt returns")

    async def _import(self, row: ImportRow, state: _Attempts) -> tuple[Imported, bool]:
        if not state.checked:
            found = await self._existing(row.external_id)
            state.checked = True
            if found is not None:
                number, complete = found
                if complete:
                    await self._replay(row, number)
                    return Imported(row.line, row.external_id, number), True
                state.key_existed = True  # claimed by a run that died before the start
        first_try = not state.create_tried
        state.create_tried = True
        created = await self._csflow.create(row.intake, wait=False, imported_events=len(row.events))
        # The key appearing between our look and our claim means someone else (the API,
        # another import of this file) created the request; a retry of our own claim or a
        # recovery of a dead run's claim is ours.
        raced = created.existing and first_try and not state.key_existed
        await self._replay(row, created.number)
        return Imported(row.line, row.external_id, created.number), raced

    async def _replay(self, row: ImportRow, number: str) -> None:
        """Send the row's recorded events, in order, each as its command dated `at`.

        Each is sent under an Update id made of the external id and its place in the row,
        so a re-run (or a retry after a lost reply) runs each event once: Temporal answers
        a repeated id with the first outcome. A request that has ended since took every
        event before it did. A refusal stops the row; it is reported with the event.
        """
        if not row.events:
            return
        handle = self._temporal.get_workflow_handle(number)
        try:
            # The events need the intake done (its validators judge the state after it);
            # no worker within the wait is a transient failure, retried like the others.
            async with asyncio.timeout(self._intake_wait):
                await handle.execute_update("receipt", ReceiptQuery())
            for event in row.events:
                try:
                    await self._csflow.send(
                        number,
                        event.command,
                        event.arg,
                        idempotency_key=f"import:{row.external_id}:{event.index}",
                    )
                except RequestRefused as err:
                    raise RequestRefused(
                        f"events[{event.index}] ({event.kind} at {event.at.isoformat()}): "
                        f"{err.reason}",
                        err.kind,
                    ) from err
        except RequestEnded:
            return
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND and run_has_ended(err.message):
                return  # ended while the receipt was asked for: its events were all in
            raise

    async def _existing(self, external_id: str) -> tuple[str, bool] | None:
        """(number, request exists) when the external id has a number already."""
        record = await self._pool.fetchrow(
            """SELECT k.number, r.number IS NOT NULL AS persisted
               FROM request_keys k LEFT JOIN requests r ON r.number = k.number
               WHERE k.external_id = $1""",
            external_id,
        )
        if record is None:
            return None
        number: str = record["number"]
        if record["persisted"]:
            return number, True
        # No row yet: either the workflow has not run its intake (no worker so far) or it
        # was never started. Only Temporal can tell.
        try:
            await self._temporal.get_workflow_handle(number).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return number, False
            raise
        return number, True
