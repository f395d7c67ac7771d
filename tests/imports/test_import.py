"""Importing into a real Temporal and PostgreSQL: each row once, whatever happens."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from csflow.config.terms import TermsProvider
from csflow.domain.policy import DEFAULT_POLICY
from csflow.imports import Importer, ParsedFile, Progress, parse_text, read_import_file
from starter.client import CsflowClient
from tests.helpers import eventually
from tests.imports import samples
from tests.imports.conftest import Stack


def generated(count: int, prefix: str = "GEN") -> ParsedFile:
    rows = [samples.good_row(i, prefix=prefix) for i in range(count)]
    return parse_text(samples.csv_of(rows), "csv", "generated.csv")


class FlakyTemporal:
    """The real Temporal client, except that `start_workflow` first asks `before_start`.

    CsflowClient starts the workflow only after the external id is claimed, so whatever
    `before_start` does — raise, hang, cancel the import — happens between the claim and
    the start, the narrowest window a crash can hit.
    """

    def __init__(self, real: Client, before_start: Callable[[str, int], Awaitable[None]]):
        self._real = real
        self._before_start = before_start
        self.starts: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def start_workflow(self, *args: Any, **kwargs: Any) -> Any:
        number = kwargs["id"]
        self.starts[number] += 1
        await self._before_start(number, sum(self.starts.values()))
        return await self._real.start_workflow(*args, **kwargs)


def flaky_client(
    stack: Stack, before_start: Callable[[str, int], Awaitable[None]]
) -> tuple[CsflowClient, FlakyTemporal]:
    flaky = FlakyTemporal(stack.client, before_start)
    return CsflowClient(
        cast(Client, flaky), stack.pool, TermsProvider(DEFAULT_POLICY), task_queue=stack.queue
    ), flaky


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_good_rows_are_imported_once_and_a_rerun_adds_nothing(
    stack: Stack,
    tmp_path: Path,
    fmt: str,
) -> None:
    path = tmp_path / f"outage.{fmt}"
    path.write_text(samples.csv_text() if fmt == "csv" else samples.jsonl_text(), encoding="utf-8")
    good = samples.CSV_GOOD if fmt == "csv" else samples.JSONL_GOOD
    bad = samples.CSV_BAD if fmt == "csv" else samples.JSONL_BAD
    duplicates = samples.CSV_DUPLICATES if fmt == "csv" else samples.JSONL_DUPLICATES
    seen: list[Progress] = []
    importer = Importer(
        stack.csflow, stack.client, stack.pool, concurrency=4, on_progress=seen.append
    )

    first = await importer.run(read_import_file(path))
    assert {i.line: i.external_id for i in first.imported} == good
    assert first.present == [] and first.failed == []
    assert {b.line: (b.external_id, b.reason) for b in first.bad} == bad
    assert {d.line: (d.external_id, d.reason) for d in first.duplicates} == duplicates
    assert not first.ok  # bad rows: the caller is told
    assert [p.line for p in sorted(first.bad + first.failed, key=lambda p: p.line)] == [
        line for line, _, kind, _ in first.problems() if kind != "duplicate"
    ]
    assert seen[0] == Progress(0, len(good), 0, 0, 0)
    assert seen[-1] == Progress(len(good), len(good), len(good), 0, 0)
    keys = await stack.exactly_once(set(good.values()))
    # Numbered on the day the request was received, from its channel.
    received = {
        "OUT-001": "CS20261120-TEL-",
        "OUT-006": "CS20261121-APP-",
        "J-001": "CS20261120-TEL-",
        "J-005": "CS20261120-WEB-",
    }
    for external_id, prefix in received.items():
        if external_id in keys:
            assert keys[external_id].startswith(prefix)
    handle = stack.client.get_workflow_handle(keys[good[min(good)]])
    described = await handle.describe()
    assert described.task_queue == stack.queue

    again = await importer.run(read_import_file(path))
    assert again.imported == [] and again.failed == []
    assert {i.line: (i.external_id, i.number) for i in again.present} == {
        i.line: (i.external_id, i.number) for i in first.imported
    }
    assert await stack.exactly_once(set(good.values())) == keys


async def test_a_crash_between_claim_and_start_is_finished_by_the_rerun(stack: Stack) -> None:
    parsed = generated(60)
    crashed: list[str] = []

    async def crash_on_25th(number: str, nth: int) -> None:
        if nth == 25:
            crashed.append(number)
            task.cancel()  # the process dies here: number claimed, workflow not started
            await asyncio.Event().wait()

    csflow, flaky = flaky_client(stack, crash_on_25th)
    task = asyncio.create_task(
        Importer(csflow, stack.client, stack.pool, concurrency=8).run(parsed)
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    (lost,) = crashed
    keys = await stack.keys()
    assert lost in keys.values()  # claimed …
    with pytest.raises(RPCError) as missing:  # … but never started
        await stack.client.get_workflow_handle(lost).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    claimed_before = set(keys.values())

    rerun = await Importer(stack.csflow, stack.client, stack.pool, concurrency=8).run(parsed)
    assert rerun.failed == [] and len(rerun.imported) + len(rerun.present) == 60
    assert lost in {i.number for i in rerun.imported}  # started now, and counted as new
    after = await stack.exactly_once({r.external_id for r in parsed.rows})
    assert claimed_before <= set(after.values())  # no claimed number was replaced
    assert flaky.starts[lost] == 1


async def test_an_import_cancelled_midway_then_rerun_creates_each_row_once(
    stack: Stack,
) -> None:
    parsed = generated(120, prefix="CAN")

    def stop_after_40(p: Progress) -> None:
        if p.done >= 40:
            task.cancel()

    task = asyncio.create_task(
        Importer(
            stack.csflow, stack.client, stack.pool, concurrency=16, on_progress=stop_after_40
        ).run(parsed)
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    partial = await stack.keys()
    assert 40 <= len(partial) < 120

    rerun = await Importer(stack.csflow, stack.client, stack.pool, concurrency=16).run(parsed)
    assert rerun.failed == []
    assert len(rerun.imported) + len(rerun.present) == 120
    assert len(rerun.present) >= 40
    keys = await stack.exactly_once({r.external_id for r in parsed.rows})
    assert {k: v for k, v in keys.items() if k in partial} == partial


async def test_transient_errors_are_retried_and_a_lost_row_is_reported_not_fatal(
    stack: Stack,
) -> None:
    parsed = generated(30, prefix="FLK")
    keys_by_line = {r.line: r.external_id for r in parsed.rows}

    async def unavailable(number: str, nth: int) -> None:
        del nth
        row = await stack.pool.fetchval(
            "SELECT external_id FROM request_keys WHERE number = $1", number
        )
        if row == keys_by_line[5]:  # down for good
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if row in (keys_by_line[2], keys_by_line[3]) and flaky.starts[number] <= 2:
            raise RPCError("try again", RPCStatusCode.UNAVAILABLE, b"")

    csflow, flaky = flaky_client(stack, unavailable)
    report = await Importer(
        csflow, stack.client, stack.pool, concurrency=4, attempts=3, backoff=0.01
    ).run(parsed)
    assert len(report.imported) == 29 and report.present == []
    assert [(p.line, p.external_id) for p in report.failed] == [(5, keys_by_line[5])]
    assert report.failed[0].reason == (
        "gave up after 3 attempts: TemporalUnavailable: Temporal is unreachable: connection refused"
    )
    numbers = await stack.keys()
    assert flaky.starts[numbers[keys_by_line[2]]] == 3  # two refusals, then started

    rerun = await Importer(stack.csflow, stack.client, stack.pool).run(parsed)
    assert [i.line for i in rerun.imported] == [5] and len(rerun.present) == 29
    assert await stack.exactly_once(set(keys_by_line.values())) == numbers


async def test_a_request_closed_since_the_first_import_is_already_present(
    stack: Stack,
) -> None:
    parsed = generated(3, prefix="CLO")
    first = await Importer(stack.csflow, stack.client, stack.pool).run(parsed)
    closed = first.imported[0]
    await stack.client.get_workflow_handle(closed.number).terminate("closed for the test")
    # The bare client answers with the ended request: its external id has that number,
    # and a closed workflow id is never started again …
    again = await stack.csflow.create(parsed.rows[0].intake, wait=False)
    assert (again.number, again.existing) == (closed.number, True)
    runs = [w.run_id async for w in stack.client.list_workflows(f"WorkflowId = '{closed.number}'")]
    assert len(runs) == 1
    # … and the importer, which looks first, counts the row as present on a re-run.
    rerun = await Importer(stack.csflow, stack.client, stack.pool).run(parsed)
    assert rerun.failed == [] and rerun.imported == []
    assert closed in rerun.present


async def test_an_imported_request_counts_its_sla_from_the_original_receipt(
    stack: Stack,
    tmp_path: Path,
) -> None:
    received = (datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0)
    row = samples.good_row(7, prefix="SLA") | {
        "received_at": received.isoformat(),
        "priority": "P3",
        "channel": "phone",
    }
    path = tmp_path / "one.csv"
    path.write_text(samples.csv_of([row]), encoding="utf-8")
    # The stack's worker runs the intake.
    report = await Importer(stack.csflow, stack.client, stack.pool).run(read_import_file(path))
    (imported,) = report.imported

    async def persisted() -> Any:
        view = await stack.csflow.state(imported.number)
        assert view.timeline and view.timeline[0].kind == "received"
        assert (
            await stack.pool.fetchval(
                "SELECT count(*) FROM requests WHERE number = $1", imported.number
            )
            == 1
        )
        return view

    view = await eventually(persisted, timeout=30)
    assert view.received_at == received
    assert view.deadlines["first_response"] == received + timedelta(hours=2)
    assert view.deadlines["plan"] == received + timedelta(hours=2)
    assert view.deadlines["resolution"] == received + timedelta(hours=24)
    stored = await stack.pool.fetchval(
        "SELECT received_at FROM requests WHERE number = $1", imported.number
    )
    assert stored == received
