"""/reports: stored daily, weekly and monthly reports and forecasts: pages, CSV, JSON.

Reports are produced by the Report workflow on its schedules (or `csflow report …`); the
API only reads the `reports` table, so opening a page never runs a heavy query.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from csflow.api.deps import Pool
from csflow.api.pages.analytics import PAGES
from csflow.api.routes.scorecards import report_zone
from csflow.reports import causes, charts, export, store
from csflow.reports.config import ReportsConfig, reports_config_from_env
from csflow.reports.model import Forecast, ForecastDay, Report
from csflow.reports.periods import Period, parse
from csflow.reports.store import StoredReport

router = APIRouter(prefix="/reports", tags=["reports"])
Kind = Literal["daily", "weekly", "monthly", "forecast"]


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def index(pool: Pool) -> HTMLResponse:
    return await _index(pool)


@router.get("/forecast", response_class=HTMLResponse, include_in_schema=False)
async def latest_forecast(pool: Pool) -> HTMLResponse:
    found = await store.latest(pool, "forecast")
    if found is None:
        return await _index(
            pool,
            "No forecast yet: it runs daily at 01:30, or now with `csflow report forecast`.",
            404,
        )
    return _forecast_page(found.forecast())


WhyKind = Literal["daily", "weekly", "monthly", "range"]


async def _why(
    pool: Any, request: Request, kind: WhyKind, period: str
) -> causes.WhyReport | JSONResponse:
    try:
        p = parse(kind, period)
    except ValueError as err:
        return JSONResponse({"detail": str(err)}, status_code=422)
    return await causes.why(pool, p, report_zone(request), reports_config(request))


@router.get("/why/{kind}/{period}.json", responses={422: {"description": "Bad period"}})
async def why_json(kind: WhyKind, period: str, pool: Pool, request: Request) -> JSONResponse:
    """Breaches of the period by reason and review, those awaiting review, and root causes
    of complaints and improvement tasks beside the previous period's."""
    found = await _why(pool, request, kind, period)
    if isinstance(found, JSONResponse):
        return found
    return JSONResponse(found.model_dump(mode="json"))


@router.get("/why/{kind}/{period}", response_class=HTMLResponse, include_in_schema=False)
async def why_page(kind: WhyKind, period: str, pool: Pool, request: Request) -> Response:
    found = await _why(pool, request, kind, period)
    if isinstance(found, JSONResponse):
        return found
    p = parse(kind, period)
    drawn = {
        "reasons": charts.bars([(r.label, r.breaches) for r in found.by_reason]),
        "causes": charts.bars(
            [(f"{c.label} · {c.responsible_department}", c.count) for c in found.causes if c.count][
                :15
            ]
        ),
    }
    return HTMLResponse(
        PAGES.get_template("why.html").render(
            section="reports",
            w=found,
            charts=drawn,
            base=f"/reports/why/{kind}/{period}",
            prev=f"/reports/why/{kind}/{p.shifted(-1).label}",
            next=f"/reports/why/{kind}/{p.shifted(1).label}",
        )
    )


def reports_config(request: Request) -> ReportsConfig:
    """The reports config (CSFLOW_REPORTS), read once per app."""
    config: ReportsConfig | None = getattr(request.app.state, "reports_config", None)
    if config is None:
        config = reports_config_from_env()
        request.app.state.reports_config = config
    return config


@router.get(
    "/{kind}/{period}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, 404: {"description": "Not produced"}},
)
async def report_csv(kind: Kind, period: str, pool: Pool) -> Response:
    """The report as (section, item, measure, value) rows: seconds and fractions, raw."""
    found = await store.load(pool, kind, period)
    if found is None:
        return JSONResponse({"detail": _missing(kind, period)}, status_code=404)
    rows = (
        export.forecast_rows(found.forecast())
        if kind == "forecast"
        else export.report_rows(found.report())
    )
    return Response(
        export.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="csflow-{kind}-{period}.csv"'},
    )


@router.get("/{kind}/{period}.json", responses={404: {"description": "Not produced"}})
async def report_json(kind: Kind, period: str, pool: Pool) -> JSONResponse:
    found = await store.load(pool, kind, period)
    if found is None:
        return JSONResponse({"detail": _missing(kind, period)}, status_code=404)
    return JSONResponse(found.body)


@router.get("/{kind}/{period}", response_class=HTMLResponse, include_in_schema=False)
async def report_page(kind: Kind, period: str, pool: Pool) -> HTMLResponse:
    found = await store.load(pool, kind, period)
    if found is None:
        return await _index(pool, _missing(kind, period), 404)
    if kind == "forecast":
        return _forecast_page(found.forecast())
    return _report_page(found)


def _report_page(found: StoredReport) -> HTMLResponse:
    r: Report = found.report()
    p = parse(r.kind, r.period)
    base = f"/reports/{r.kind}/{r.period}"
    drawn = {
        "category": charts.bars([(s.key, s.count) for s in r.by_category]),
        "channel": charts.bars([(s.key, s.count) for s in r.by_channel]),
        "department": charts.bars([(s.key, s.count) for s in r.by_department]),
        "issues": charts.bars([(f"{i.category} / {i.sub_type}", i.count) for i in r.top_issues]),
        "satisfaction": charts.bars([(f"score {s.key}", s.count) for s in r.satisfaction]),
    }
    html = PAGES.get_template("report.html").render(
        section="reports",
        r=r,
        charts=drawn,
        base=base,
        local_start=p.first_day.isoformat(),
        local_end=p.last_day.isoformat(),
        prev=_link(p.shifted(-1)),
        next=_link(p.shifted(1)),
    )
    return HTMLResponse(html)


def _forecast_page(f: Forecast) -> HTMLResponse:
    drawn = [charts.line(s.history, s.forecast) for s in f.series]
    history = (
        [
            sum(v)
            for v in zip(*(s.history for s in f.series if s.dimension == "category"), strict=True)
        ]
        if f.series
        else []
    )
    total = (
        charts.band(
            history,
            [d.requests for d in f.days],
            [d.lower for d in f.days],
            [d.upper for d in f.days],
            [_mark(d) for d in f.days],
        )
        if f.days
        else ""
    )
    return HTMLResponse(
        PAGES.get_template("forecast.html").render(
            section="forecast", f=f, charts=drawn, total_chart=total, mark=_mark
        )
    )


def _mark(d: ForecastDay) -> str | None:
    """The one tint a day gets: a holiday over a campaign over a make-up working day."""
    if d.holiday:
        return "holiday"
    if d.campaign:
        return "campaign"
    return "makeup" if d.makeup_workday else None


async def _index(pool: Any, message: str | None = None, status: int = 200) -> HTMLResponse:
    html = PAGES.get_template("index.html").render(
        section="reports", reports=await store.listing(pool), message=message
    )
    return HTMLResponse(html, status_code=status)


def _link(p: Period) -> str:
    return f"/reports/{p.kind}/{p.label}"


def _missing(kind: str, period: str) -> str:
    flag = {"daily": "--date", "weekly": "--week", "monthly": "--month", "forecast": "--as-of"}[
        kind
    ]
    return (
        f"No {kind} report for {period} has been produced yet: "
        f"run `csflow report {kind} {flag} {period}`."
    )
