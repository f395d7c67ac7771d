"""/board: the supervisors' live red/yellow/green board (docs/requirements.md §3.8, §4 warnings).

The page is a shell that polls `/board/data` every few seconds and draws what it gets;
the JSON endpoint is the contract, so a wallboard or another tool can read the same view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from csflow.api.deps import Pool
from csflow.api.pages.analytics import PAGES
from csflow.config.horizon import horizon_warning
from csflow.domain.codes import Category, Priority
from csflow.reports import board as live

REFRESH_SECONDS = 5

router = APIRouter(tags=["board"])

Colour = Literal["red", "yellow", "green", "none"]
Text = Annotated[str | None, Query(max_length=100)]


@router.get("/board", response_class=HTMLResponse, include_in_schema=False)
async def board_page(
    colour: Colour | None = None,
    priority: Priority | None = None,
    category: Category | None = None,
    assignee: Text = None,
    q: Text = None,
) -> HTMLResponse:
    f = live.BoardFilter(
        colour=colour, priority=priority, category=category, assignee=assignee, q=q
    )
    html = PAGES.get_template("board.html").render(
        section="board",
        f=f,
        colours=live.COLOURS,
        priorities=[p.value for p in Priority],
        categories=[c.value for c in Category],
        refresh_seconds=REFRESH_SECONDS,
    )
    return HTMLResponse(html)


@router.get("/board/data", response_model=live.Board)
async def board_data(
    request: Request,
    pool: Pool,
    colour: Colour | None = None,
    priority: Priority | None = None,
    category: Category | None = None,
    assignee: Text = None,
    q: Text = None,
) -> live.Board:
    """Open requests matching the filters, red first, soonest deadline first, with counts
    by colour, priority and assignee; `seconds_left` is negative once overdue;
    `calendar_warning` when the holiday data runs out within 60 days."""
    f = live.BoardFilter(
        colour=colour, priority=priority, category=category, assignee=assignee, q=q
    )
    now = datetime.now(UTC)
    view = await live.load(pool, f, now)
    policy = request.app.state.policy
    view.calendar_warning = horizon_warning(
        policy.calendar, now.astimezone(ZoneInfo(policy.calendar.time_zone)).date()
    )
    return view
