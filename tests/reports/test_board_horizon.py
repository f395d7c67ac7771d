"""The board warns when the business calendar's holiday data runs out (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from csflow.config.horizon import horizon_warning
from csflow.domain.policy import DEFAULT_POLICY


async def test_the_board_carries_the_calendar_warning(web: httpx.AsyncClient) -> None:
    board = (await web.get("/board/data")).json()
    cal = DEFAULT_POLICY.calendar
    today = datetime.now(UTC).astimezone(ZoneInfo(cal.time_zone)).date()
    assert board["calendar_warning"] == horizon_warning(cal, today)
    page = (await web.get("/board")).text
    assert 'id="calendar-warning"' in page
