"""`csflow scorecard …` and `csflow report monthly` (issue 16).

Scorecards are computed, not stored: the command rolls up the days the period lacks (as
the scheduled reports do) and prints the ranked table, optionally writing the CSV / JSON
the API serves. Registered in csflow/cli.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from csflow.settings import Settings

if TYPE_CHECKING:
    from csflow.reports.periods import SpanKind
    from csflow.reports.scorecards import Level

scorecard_app = typer.Typer(help="Scorecards per agent, team and department.", no_args_is_help=True)


def _zone() -> str:
    from csflow.config.policy import policy_from_env

    return policy_from_env().calendar.time_zone


def _period_label(
    day: str | None, week: str | None, month: str | None, days: str | None
) -> tuple[SpanKind, str | None]:
    options: list[tuple[SpanKind, str | None]] = [
        ("daily", day),
        ("weekly", week),
        ("monthly", month),
        ("range", days),
    ]
    given = [(k, v) for k, v in options if v]
    if len(given) > 1:
        raise typer.BadParameter("give one of --date, --week, --month, --range")
    return given[0] if given else ("weekly", None)


@scorecard_app.command("show")
def scorecard_show(
    day: Annotated[str | None, typer.Option("--date", help="a day, YYYY-MM-DD")] = None,
    week: Annotated[
        str | None, typer.Option(help="an ISO week, 2026-W47 (default: last week)")
    ] = None,
    month: Annotated[str | None, typer.Option(help="a month, 2026-11")] = None,
    days: Annotated[
        str | None, typer.Option("--range", help="days, 2026-11-01..2026-11-15")
    ] = None,
    level: Annotated[str, typer.Option(help="agent, team or department")] = "agent",
    sort: Annotated[
        str, typer.Option(help="figure to rank by, e.g. handled, sla_first_response, fcr, nps")
    ] = "handled",
    worst: Annotated[bool, typer.Option("--worst", help="worst first")] = False,
    top: Annotated[int | None, typer.Option(min=1, help="show only the first N")] = None,
    refresh: Annotated[bool, typer.Option(help="re-roll the days from the timeline")] = False,
    csv: Annotated[Path | None, typer.Option(help="also write the CSV here")] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="also write the JSON here")
    ] = None,
) -> None:
    """Print ranked scorecards with the organisation's figures first."""
    from rich.console import Console

    from csflow.reports import scorecard_console
    from csflow.reports.periods import parse, previous
    from csflow.reports.scorecards import FIGURES, LEVELS

    out = Console()
    if level not in LEVELS:
        out.print(f"[red]--level is one of {', '.join(LEVELS)}[/red]")
        raise typer.Exit(2)
    chosen: Level = LEVELS[LEVELS.index(level)]
    if sort not in FIGURES:
        out.print(f"[red]--sort is one of {', '.join(FIGURES)}[/red]")
        raise typer.Exit(2)
    kind, label = _period_label(day, week, month, days)
    tz = _zone()
    try:
        period = parse(kind, label) if label else previous("weekly", datetime.now(UTC), tz)
    except ValueError as err:
        out.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None
    report = _with_pool(lambda pool: _produce(pool, period, tz, refresh))
    scorecard_console.print_scorecards(report, chosen, sort, worst=worst, top=top, out=out)
    if csv:
        from csflow.reports import scorecard_export

        csv.write_text(scorecard_export.to_csv(report, report.level(chosen)), encoding="utf-8")
        out.print(f"CSV written to {csv}")
    if json_path:
        json_path.write_text(
            json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        out.print(f"JSON written to {json_path}")


@scorecard_app.command("team")
def scorecard_team(
    staff_id: Annotated[str, typer.Argument(help="a staff id")],
    team: Annotated[
        str | None, typer.Argument(help="the team; omit to clear (the department stands in)")
    ] = None,
) -> None:
    """Put a member of staff in a team (scorecards group agents by team)."""

    async def work(pool: Any) -> str:
        result: str = await pool.execute(
            "UPDATE staff SET team = $2, updated_at = now() WHERE id = $1", staff_id, team or None
        )
        return result

    if not _with_pool(work).endswith(" 1"):
        typer.echo(f"no staff member {staff_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{staff_id}: team {team or '(the department)'}")


def report_monthly(
    month: Annotated[str | None, typer.Option(help="YYYY-MM; last month if omitted")] = None,
    refresh: Annotated[bool, typer.Option(help="recompute from the timeline")] = False,
    csv: Annotated[Path | None, typer.Option(help="also write the CSV here")] = None,
) -> None:
    """Print a monthly report; one not produced yet is computed and stored first."""
    from csflow.reports.console import run_report

    raise typer.Exit(
        run_report(
            Settings().database_dsn, _zone(), "monthly", month, refresh=refresh, csv_path=csv
        )
    )


async def _produce(pool: Any, period: Any, tz: str, refresh: bool) -> Any:
    from csflow.reports import scorecards

    return await scorecards.produce(pool, period, tz, datetime.now(UTC), refresh=refresh)


def _with_pool(work: Any) -> Any:
    from csflow.cli import connect

    return connect.with_pool(work)
