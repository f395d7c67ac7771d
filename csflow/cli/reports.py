"""`csflow report …`: daily and weekly reports, and the demand forecast (issue 8)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from csflow.cli import connect

if TYPE_CHECKING:
    from csflow.reports.periods import PeriodKind

report_app = typer.Typer(
    help="Daily and weekly reports, and the demand forecast.", no_args_is_help=True
)


# The options the daily and the weekly report share.
Refresh = Annotated[bool, typer.Option(help="recompute from the timeline")]
CsvPath = Annotated[Path | None, typer.Option(help="also write the CSV here")]


def _report_zone() -> str:
    return connect.terms().policy.calendar.time_zone


def _report(kind: PeriodKind, period: str | None, refresh: bool, csv: Path | None) -> None:
    """Print one report (stored first if not produced yet); exit with its status."""
    from csflow.reports.console import run_report

    found = connect.settings()
    raise typer.Exit(
        run_report(found.database_dsn, _report_zone(), kind, period, refresh=refresh, csv_path=csv)
    )


@report_app.command("weekly")
def report_weekly(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47; last week if omitted")
    ] = None,
    refresh: Refresh = False,
    csv: CsvPath = None,
) -> None:
    """Print a weekly report; one not produced yet is computed and stored first."""
    _report("weekly", week, refresh, csv)


@report_app.command("daily")
def report_daily(
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD; yesterday if omitted")
    ] = None,
    refresh: Refresh = False,
    csv: CsvPath = None,
) -> None:
    """Print a daily report; one not produced yet is computed and stored first."""
    _report("daily", day, refresh, csv)


@report_app.command("forecast")
def report_forecast(
    as_of: Annotated[str | None, typer.Option(help="first forecast day; today if omitted")] = None,
    horizon: Annotated[int, typer.Option(min=1, max=60, help="days ahead")] = 14,
) -> None:
    """Forecast demand per category and channel, with back-tested error and staffing."""
    from csflow.reports.console import run_forecast

    found = connect.settings()
    raise typer.Exit(run_forecast(found.database_dsn, _report_zone(), as_of, horizon))
