"""Request rows and timeline events: idempotent writes, forward-only rows, atomic serials."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from csflow.activity_io import RecordEvents
from csflow.contracts import SYSTEM, RequestState, TimelineEvent
from csflow.crypto import at_rest
from csflow.domain.codes import Channel
from csflow.domain.lifecycle import Status
from csflow.store import persist
from csflow.store import requests as store
from tests.helpers import AGENT, intake

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _state(status: Status, **kw: Any) -> RequestState:
    return RequestState(
        number="CS20261123-WEB-0001",
        status=status,
        priority="P2",
        category="complaint",
        channel="web",
        tier="regular",
        customer_id="C-1001",
        received_at=T0,
        **kw,
    )


def _event(seq: int, kind: str, to: Status) -> TimelineEvent:
    return TimelineEvent(
        seq=seq,
        at=T0 + timedelta(minutes=seq),
        kind=kind,
        actor=SYSTEM,
        status_to=to,
        data={"n": seq},
    )


async def test_a_repeated_batch_writes_nothing_twice(pool: Any) -> None:
    batch = RecordEvents(
        state=_state(Status.ASSIGNED, assignee="desk"),
        events=[_event(1, "received", Status.RECEIVED), _event(2, "assigned", Status.ASSIGNED)],
        intake=intake(),
    )
    assert await persist.record_events(pool, batch) == 2
    assert await persist.record_events(pool, batch) == 0
    assert await pool.fetchval("SELECT count(*) FROM requests") == 1
    assert await pool.fetchval("SELECT count(*) FROM request_events") == 2
    view = await store.get_request(pool, "CS20261123-WEB-0001")
    assert view is not None
    assert view.status is Status.ASSIGNED and view.assignee == "desk"
    assert [e.kind for e in view.timeline] == ["received", "assigned"]
    assert view.timeline[1].data == {"n": 2}
    row = await pool.fetchrow("SELECT * FROM requests")
    # Sealed with the customer's key (docs/security.md): nothing in the clear columns.
    assert (row["customer_name"], row["customer_contact"], row["description"]) == (None, None, None)
    person = await at_rest.open_sealed(pool, row["customer_sealed"])
    assert person["contact"] == {"phone": "+86 138 0000 0000", "email": "li.lei@example.com"}
    assert person["description"] == intake().description


async def test_a_late_retry_never_rolls_the_row_back(pool: Any) -> None:
    first = RecordEvents(
        state=_state(Status.ASSIGNED),
        events=[_event(1, "received", Status.RECEIVED), _event(2, "assigned", Status.ASSIGNED)],
        intake=intake(),
    )
    second = RecordEvents(
        state=_state(Status.IN_PROGRESS),
        events=[
            TimelineEvent(
                seq=3, at=T0, kind="progress_posted", actor=AGENT, status_to=Status.IN_PROGRESS
            )
        ],
    )
    await persist.record_events(pool, first)
    await persist.record_events(pool, second)
    await persist.record_events(pool, first)  # a retry delivered after the later batch
    view = await store.get_request(pool, "CS20261123-WEB-0001")
    assert view is not None and view.status is Status.IN_PROGRESS
    assert [e.seq for e in view.timeline] == [1, 2, 3]


async def test_serials_are_unique_under_concurrency(pool: Any) -> None:
    day = date(2026, 11, 23)
    serials = await asyncio.gather(
        *(store.allocate_serial(pool, day, Channel.WEB) for _ in range(50))
    )
    assert sorted(serials) == list(range(1, 51))
    assert await store.allocate_serial(pool, day, Channel.PHONE) == 1, "one counter per channel"
    assert await store.allocate_serial(pool, date(2026, 11, 24), Channel.WEB) == 1


async def test_an_external_id_binds_to_the_first_number_only(pool: Any) -> None:
    results = await asyncio.gather(
        *(store.claim_external_id(pool, "shop-9", f"N{i}") for i in range(10))
    )
    assert len(set(results)) == 1
    assert await store.number_for_external_id(pool, "shop-9") == results[0]
    assert await store.number_for_external_id(pool, "shop-10") is None


async def test_unknown_number_reads_as_none(pool: Any) -> None:
    assert await store.get_request(pool, "CS20990101-WEB-0001") is None
