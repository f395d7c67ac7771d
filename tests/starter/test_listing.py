"""Listing requests: filters, keyset pages that neither repeat nor skip, GET /requests.

Most rows here are written straight into `requests`, as the persistence activity would,
so the test controls timestamps and ties exactly; the last test lists real workflows.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from csflow.api.app import create_app
from csflow.domain.codes import Category, Channel, Priority, SlaState
from csflow.domain.lifecycle import Status
from csflow.settings import Settings
from csflow.store.listing import (
    InvalidCursor,
    RequestFilter,
    RequestPage,
    RequestSummary,
    decode_cursor,
    encode_cursor,
    list_requests,
)
from tests.helpers import bearer, intake, token_for
from tests.starter.conftest import Stack

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
STATUSES = [Status.ASSIGNED, Status.IN_PROGRESS, Status.ESCALATED, Status.CLOSED]
PRIORITIES = list(Priority)
SLA = [SlaState.GREEN, SlaState.YELLOW, SlaState.RED]
CATEGORIES = list(Category)
CHANNELS = [Channel.WEB, Channel.PHONE, Channel.EMAIL]


def _rows(n: int) -> list[dict[str, Any]]:
    """Varied rows; every third shares its timestamp with the one before (bulk imports)."""
    rows = []
    for i in range(n):
        channel = CHANNELS[i % len(CHANNELS)]
        rows.append(
            {
                "number": f"CS20261123-{channel.code}-{1000 + i:04d}",
                "received_at": T0 + timedelta(minutes=i - (1 if i % 3 == 2 else 0)),
                "status": STATUSES[i % len(STATUSES)].value,
                "priority": PRIORITIES[i % len(PRIORITIES)].value,
                "sla_state": SLA[(i // 2) % len(SLA)].value,
                "category": CATEGORIES[i % len(CATEGORIES)].value,
                "channel": channel.value,
                "assignee": ["li.na", "wang.wei", None][i % 3],
                "next_deadline": T0 + timedelta(hours=i),
            }
        )
    return rows


async def _insert(pool: Any, rows: list[dict[str, Any]]) -> None:
    await pool.executemany(
        """INSERT INTO requests (number, customer_id, customer_name, customer_contact,
               customer_tier, channel, category, description, received_at, status,
               priority, assignee, sla_state, next_deadline, version)
           VALUES ($1, 'C-1001', 'Li Lei', $2, 'vip', $3, $4, 'broken parcel', $5, $6, $7,
                   $8, $9, $10, 1)""",
        [
            (
                r["number"],
                {"phone": "+86 138 0000 0000"},
                r["channel"],
                r["category"],
                r["received_at"],
                r["status"],
                r["priority"],
                r["assignee"],
                r["sla_state"],
                r["next_deadline"],
            )
            for r in rows
        ],
    )


def _order(rows: list[dict[str, Any]]) -> list[str]:
    return [
        r["number"]
        for r in sorted(rows, key=lambda r: (r["received_at"], r["number"]), reverse=True)
    ]


async def _walk(pool: Any, where: RequestFilter, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page = await list_requests(pool, where, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen += [r.number for r in page.items]
        if page.next_cursor is None:
            return seen
        assert len(page.items) == limit  # only a full page promises another
        cursor = page.next_cursor
    raise AssertionError("pagination never ended")


async def test_pages_cover_every_row_once_in_a_stable_order(pool: Any) -> None:
    rows = _rows(40)
    await _insert(pool, rows)
    expected = _order(rows)
    for limit in (1, 3, 7, 40, 200):
        assert await _walk(pool, RequestFilter(), limit) == expected, limit

    # Rows arriving (newer) or changing while someone pages neither repeat nor skip rows.
    first = await list_requests(pool, RequestFilter(), limit=10)
    await _insert(
        pool,
        [{**_rows(1)[0], "number": "CS20261124-WEB-0001", "received_at": T0 + timedelta(days=1)}],
    )
    await pool.execute("UPDATE requests SET status = 'closed', updated_at = now()")
    rest = await _walk_from(pool, first.next_cursor)
    assert [r.number for r in first.items] + rest == expected


async def _walk_from(pool: Any, cursor: str | None) -> list[str]:
    seen: list[str] = []
    while cursor is not None:
        page = await list_requests(pool, RequestFilter(), limit=6, cursor=cursor)
        seen += [r.number for r in page.items]
        cursor = page.next_cursor
    return seen


async def test_each_filter_and_their_combination(pool: Any) -> None:
    rows = _rows(36)
    await _insert(pool, rows)

    def expect(keep: Any) -> list[str]:
        return _order([r for r in rows if keep(r)])

    cases: list[tuple[RequestFilter, Any]] = [
        (RequestFilter(status=[Status.ESCALATED]), lambda r: r["status"] == "escalated"),
        (
            RequestFilter(status=[Status.ASSIGNED, Status.IN_PROGRESS]),
            lambda r: r["status"] in ("assigned", "in_progress"),
        ),
        (RequestFilter(priority=[Priority.P1]), lambda r: r["priority"] == "P1"),
        (
            RequestFilter(sla_state=[SlaState.RED, SlaState.YELLOW]),
            lambda r: r["sla_state"] in ("red", "yellow"),
        ),
        (RequestFilter(category=[Category.AFTER_SALES]), lambda r: r["category"] == "after_sales"),
        (RequestFilter(channel=[Channel.PHONE]), lambda r: r["channel"] == "phone"),
        (RequestFilter(assignee="li.na"), lambda r: r["assignee"] == "li.na"),
        (
            RequestFilter(
                received_from=T0 + timedelta(minutes=10), received_to=T0 + timedelta(minutes=20)
            ),
            lambda r: T0 + timedelta(minutes=10) <= r["received_at"] < T0 + timedelta(minutes=20),
        ),
        (RequestFilter(q="tel-10"), lambda r: "TEL-10" in r["number"]),
        # LIKE wildcards in q are literal: "_" matches no number instead of every one.
        (RequestFilter(q="_"), lambda r: False),
        (RequestFilter(q="%"), lambda r: False),
        (
            RequestFilter(
                status=[Status.ASSIGNED, Status.CLOSED], priority=[Priority.P1], assignee="li.na"
            ),
            lambda r: (
                r["status"] in ("assigned", "closed")
                and r["priority"] == "P1"
                and r["assignee"] == "li.na"
            ),
        ),
    ]
    for where, keep in cases:
        wanted = expect(keep)
        assert wanted or where.q, f"the sample rows leave {where} empty"
        assert await _walk(pool, where, 4) == wanted, where


async def test_summary_rows_carry_no_personal_data(pool: Any) -> None:
    await _insert(pool, _rows(3))
    page = await list_requests(pool, RequestFilter(), limit=10)
    text = page.model_dump_json()
    assert "Li Lei" not in text and "138" not in text and "C-1001" not in text
    assert not {f for f in RequestSummary.model_fields if "customer" in f or "contact" in f}
    assert page.items[0].updated_at is not None


async def test_bad_cursor_and_limit_are_refused(pool: Any) -> None:
    at = T0 + timedelta(microseconds=123)
    assert decode_cursor(encode_cursor(at, "CS1")) == (at, "CS1")
    zoneless = base64.urlsafe_b64encode(b'["2026-11-23T01:00:00","CS1"]').decode()
    for bad in (
        "zz",
        base64.urlsafe_b64encode(b"not json").decode(),
        zoneless,
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        encode_cursor(at, "CS1")[:-3] + "!!!",
    ):
        with pytest.raises(InvalidCursor):
            await list_requests(pool, RequestFilter(), cursor=bad)
    for limit in (0, 201):
        with pytest.raises(ValueError, match="limit"):
            await list_requests(pool, RequestFilter(), limit=limit)


@pytest.fixture
async def http(ts_env: Any, pool: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, authenticated with an analyst's token (every role may list)."""
    app = create_app(Settings(), client=ts_env.client, pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://csflow",
            headers=bearer(await token_for(pool, "analyst")),
        ) as client,
    ):
        yield client


async def test_get_requests_filters_and_pages(http: httpx.AsyncClient, pool: Any) -> None:
    rows = _rows(30)
    await _insert(pool, rows)
    wanted = _order([r for r in rows if r["priority"] in ("P1", "P2") and r["status"] != "closed"])
    params = (
        ("priority", "P1"),
        ("priority", "P2"),
        ("status", "assigned"),
        ("status", "in_progress"),
        ("status", "escalated"),
        ("limit", "4"),
    )
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        r = await http.get("/requests", params=params + ((("cursor", cursor),) if cursor else ()))
        assert r.status_code == 200, r.text
        page = RequestPage.model_validate(r.json())
        seen += [i.number for i in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == wanted

    window = {
        "received_from": (T0 + timedelta(minutes=5)).isoformat(),
        "received_to": (T0 + timedelta(minutes=8)).isoformat(),
        "q": "WEB",
    }
    r = await http.get("/requests", params=window)
    assert [i["number"] for i in r.json()["items"]] == _order(
        [
            r
            for r in rows
            if "WEB" in r["number"]
            and T0 + timedelta(minutes=5) <= r["received_at"] < T0 + timedelta(minutes=8)
        ]
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=open", "status"),
        ("priority=P9", "priority"),
        ("sla_state=purple", "sla_state"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("received_from=2026-11-23T00:00:00", "received_from"),
        ("stauts=assigned", "stauts"),  # a typo is refused, not ignored
    ],
)
async def test_bad_parameters_are_422_naming_them(
    http: httpx.AsyncClient, query: str, field: str
) -> None:
    r = await http.get(f"/requests?{query}")
    assert r.status_code == 422, r.text
    assert field in {str(part) for e in r.json()["detail"] for part in e["loc"]}


async def test_real_requests_are_listed_by_what_their_workflows_did(stack: Stack) -> None:
    p1 = (await stack.csflow.create(intake(priority=Priority.P1))).number
    p3 = (
        await stack.csflow.create(intake(priority=Priority.P3, category=Category.CONSULTATION))
    ).number
    page = await stack.csflow.list()
    assert [r.number for r in page.items] == [p3, p1]  # newest first
    assert all(
        r.status is Status.ASSIGNED
        and r.sla_state is SlaState.GREEN
        and r.next_deadline is not None
        for r in page.items
    )
    desk = page.items[1].assignee
    assert desk is not None
    only = await stack.csflow.list(RequestFilter(assignee=desk, priority=[Priority.P1]))
    assert [r.number for r in only.items] == [p1]
    assert (
        await stack.csflow.list(RequestFilter(category=[Category.COMPLAINT]), limit=1)
    ).next_cursor is None
