"""/scorecards: agent, team and department scorecards for any period — page, CSV, JSON.

Computed on each request from the daily rollups (a month of 500 agents in well under the
3 s budget, docs/performance.md), never from the timeline, so a page cannot start a heavy
query; a period with days not rolled up yet is answered 404 with the command that rolls
them up. Periods: `daily/2026-11-23`, `weekly/2026-W47`, `monthly/2026-11`,
`range/2026-11-01..2026-11-15`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from csflow.api import auth
from csflow.api.deps import Pool
from csflow.api.pages.analytics import PAGES
from csflow.reports import causes, charts
from csflow.reports import scorecard_export as export
from csflow.reports import scorecards as sc
from csflow.reports.metrics import MissingRollup
from csflow.reports.periods import Period, parse, previous
from csflow.reports.scorecards import FIGURES, Level, ScorecardReport

# Who may read them is decided here, so app.py registers the router with one line.
router = APIRouter(
    prefix="/scorecards",
    tags=["scorecards"],
    dependencies=[Depends(auth.require(auth.REPORTS, "scorecards"))],
)
Kind = Literal["daily", "weekly", "monthly", "range"]
Order = Literal["best", "worst"]
_FLAG = {"daily": "--date", "weekly": "--week", "monthly": "--month", "range": "--range"}


def report_zone(request: Request) -> str:
    """The organisation's time zone (the policy's calendar), read once per app."""
    zone: str | None = getattr(request.app.state, "report_zone", None)
    if zone is None:
        from csflow.config.policy import policy_from_env

        zone = policy_from_env().calendar.time_zone
        request.app.state.report_zone = zone
    return zone


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str

    def json(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status)


async def _compute(
    pool: Any, request: Request, kind: Kind, period: str
) -> ScorecardReport | Refusal:
    try:
        p = parse(kind, period)
    except ValueError as err:
        return Refusal(422, str(err))
    try:
        return await sc.scorecards(pool, p, report_zone(request), datetime.now(UTC))
    except MissingRollup as err:
        return Refusal(
            404, f"{err}: run `csflow scorecard show {_FLAG[kind]} {period}` to roll the days up."
        )


@router.get("", include_in_schema=False)
async def last_week(request: Request) -> RedirectResponse:
    p = previous("weekly", datetime.now(UTC), report_zone(request))
    return RedirectResponse(f"/scorecards/weekly/{p.label}", status_code=307)


@router.get(
    "/{kind}/{period}.json",
    responses={404: {"description": "Days not rolled up"}, 422: {"description": "Bad period"}},
)
async def scorecards_json(kind: Kind, period: str, pool: Pool, request: Request) -> Response:
    """Every scorecard of the period: organisation, agents, teams, departments."""
    found = await _compute(pool, request, kind, period)
    if isinstance(found, Refusal):
        return found.json()
    return JSONResponse(found.model_dump(mode="json"))


@router.get(
    "/{kind}/{period}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, 404: {"description": "Days not rolled up"}},
)
async def scorecards_csv(
    kind: Kind, period: str, pool: Pool, request: Request, level: Level = "agent"
) -> Response:
    """One row per scorecard of `level`, the organisation's first; seconds and fractions."""
    found = await _compute(pool, request, kind, period)
    if isinstance(found, Refusal):
        return found.json()
    return Response(
        export.to_csv(found, found.level(level)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="csflow-scorecards-{level}-{kind}-'
            f'{period}.csv"'
        },
    )


@router.get("/{kind}/{period}", response_class=HTMLResponse, include_in_schema=False)
async def scorecards_page(
    kind: Kind,
    period: str,
    pool: Pool,
    request: Request,
    level: Level = "agent",
    sort: str = Query("handled"),
    order: Order = "best",
) -> Response:
    if sort not in FIGURES:
        return JSONResponse({"detail": f"sort by one of {', '.join(FIGURES)}"}, status_code=422)
    found = await _compute(pool, request, kind, period)
    if isinstance(found, Refusal):
        return HTMLResponse(
            PAGES.get_template("message.html").render(
                section="scorecards", title="Scorecards", message=found.detail
            ),
            status_code=found.status,
        )
    cards = sc.ranked(found.level(level), sort, worst_first=order == "worst")
    from csflow.api.routes.reports import reports_config

    config = reports_config(request)
    why = await causes.why(pool, parse(kind, period), report_zone(request), config)
    group_of = {
        a.key: (a.key if level == "agent" else a.team if level == "team" else a.department) or a.key
        for a in found.agents
    }
    reasons = causes.reasons_by_group(why, group_of)
    figure = FIGURES[sort]
    scale, unit = {"rate": (100.0, " %"), "seconds": (1 / 60, " min")}.get(figure.unit, (1.0, ""))
    drawn = charts.bars(
        [
            (c.name or c.key, round(v * scale, 1))
            for c in cards[:20]
            if (v := figure.value(c)) is not None
        ],
        unit=unit,
    )
    p = parse(kind, period)
    return HTMLResponse(
        PAGES.get_template("scorecards.html").render(
            section="scorecards",
            s=found,
            cards=cards,
            level=level,
            sort=sort,
            order=order,
            figure=figure,
            figures=FIGURES,
            chart=drawn,
            base=f"/scorecards/{kind}/{period}",
            reasons=reasons,
            reason_label=lambda k: config.label("breach_reasons", k),
            why_link=f"/reports/why/{kind}/{period}",
            prev=_shift(p, -1),
            next=_shift(p, 1),
        )
    )


def _shift(p: Period, step: int) -> str:
    q = p.shifted(step)
    return f"/scorecards/{q.kind}/{q.label}"
