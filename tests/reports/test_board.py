"""The board's JSON: open requests only, red first, counts that follow the filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest


async def add(
    pool: Any,
    number: str,
    priority: str,
    colour: str,
    assignee: str | None,
    minutes_left: float | None,
    *,
    closed: bool = False,
    category: str = "complaint",
    sub_type: str | None = None,
) -> None:
    now = datetime.now(UTC)  # per row: the module may load minutes before the test runs
    deadline = None if minutes_left is None else now + timedelta(minutes=minutes_left)
    await pool.execute(
        """INSERT INTO requests (number, customer_id, customer_name, customer_contact,
               customer_tier, channel, category, sub_type, description, received_at, status,
               priority, assignee, sla_state, next_deadline, closed_at, version)
           VALUES ($1, 'C-9', 'Name', '{}', 'vip', 'phone', $2, $3, 'x', $4, 'in_progress',
                   $5, $6, $7, $8, $9, 1)""",
        number,
        category,
        sub_type,
        now - timedelta(hours=1),
        priority,
        assignee,
        colour,
        deadline,
        now if closed else None,
    )


@pytest.fixture
async def requests(pool: Any) -> None:
    await add(pool, "N-P1-RED", "P1", "red", "li.na", -12)
    await add(pool, "N-P2-RED", "P2", "red", "wang.fang", -3)
    await add(pool, "N-P1-YEL", "P1", "yellow", "li.na", 4)
    await add(pool, "N-P3-GRN", "P3", "green", None, 90, category="after_sales", sub_type="repair")
    await add(pool, "N-P2-NONE", "P2", "none", "wang.fang", None)
    await add(pool, "N-CLOSED", "P1", "red", "li.na", -60, closed=True)


@pytest.mark.usefixtures("requests")
async def test_open_requests_red_first_with_time_left(web: httpx.AsyncClient) -> None:
    board = (await web.get("/board/data")).json()
    assert [i["number"] for i in board["items"]] == [
        "N-P1-RED",
        "N-P2-RED",
        "N-P1-YEL",
        "N-P3-GRN",
        "N-P2-NONE",
    ]  # closed one absent
    assert board["total"] == 5
    assert {k: board["colours"][k] for k in ("red", "yellow", "green", "none")} == {
        "red": 2,
        "yellow": 1,
        "green": 1,
        "none": 1,
    }
    first = board["items"][0]
    assert first["seconds_left"] == pytest.approx(-12 * 60, abs=30)  # overdue
    assert {
        p["key"]: (p["red"], p["yellow"], p["green"], p["none"]) for p in board["by_priority"]
    } == {"P1": (1, 1, 0, 0), "P2": (1, 0, 0, 1), "P3": (0, 0, 1, 0)}
    assert [(a["key"], a["red"], a["yellow"]) for a in board["by_assignee"]] == [
        ("li.na", 1, 1),
        ("wang.fang", 1, 0),
        ("(unassigned)", 0, 0),
    ]
    assert 'data-colour="red"' in board["chart_svg"]


@pytest.mark.usefixtures("requests")
async def test_filters_and_search_narrow_the_list_and_the_counts(
    web: httpx.AsyncClient,
) -> None:
    async def numbers(**params: str) -> list[str]:
        res = await web.get("/board/data", params=params)
        assert res.status_code == 200, res.text
        return [i["number"] for i in res.json()["items"]]

    assert await numbers(colour="red") == ["N-P1-RED", "N-P2-RED"]
    assert await numbers(priority="P1") == ["N-P1-RED", "N-P1-YEL"]
    assert await numbers(assignee="wang.fang") == ["N-P2-RED", "N-P2-NONE"]
    assert await numbers(assignee="(unassigned)") == ["N-P3-GRN"]
    assert await numbers(category="after_sales") == ["N-P3-GRN"]
    assert await numbers(q="repair") == ["N-P3-GRN"]
    assert await numbers(q="p1-") == ["N-P1-RED", "N-P1-YEL"]  # case-insensitive number
    assert await numbers(q="%") == []  # a wildcard typed in search is a character
    red_p1 = (await web.get("/board/data", params={"priority": "P1"})).json()
    assert (red_p1["total"], red_p1["colours"]["red"]) == (2, 1)
    assert (await web.get("/board/data", params={"colour": "purple"})).status_code == 422


async def test_the_page_is_a_shell_that_polls_the_data(web: httpx.AsyncClient) -> None:
    page = await web.get("/board", params={"priority": "P1", "q": "<script>"})
    assert page.status_code == 200
    assert 'fetch("/board/data"' in page.text
    assert '<option value="P1" selected>' in page.text
    assert "&lt;script&gt;" in page.text and '<script>"' not in page.text
