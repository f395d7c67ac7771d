"""`csflow` — the command line: run the stack or one of its parts, manage the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from csflow import logs
from csflow.settings import Settings

app = typer.Typer(
    name="csflow",
    help="Customer-service requests as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    return settings


@app.command()
def up() -> None:
    """Run everything: Temporal dev server, PostgreSQL, migrations, worker and API.

    Embedded by default (data in CSFLOW_DATA_DIR); set DATABASE_URL or TEMPORAL_ADDRESS
    to use servers you already run instead.
    """
    from csflow.stack import run_up

    raise typer.Exit(run_up(_settings()))


@app.command()
def worker() -> None:
    """Run a Temporal worker on the `service-requests` task queue."""
    from worker import run_worker

    asyncio.run(run_worker(_settings()))


@app.command()
def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from csflow.api.app import create_app

    settings = _settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port,
                log_config=None)


policy_app = typer.Typer(help="The SLA policy file (CSFLOW_POLICY).", no_args_is_help=True)
calendar_app = typer.Typer(help="The business calendar of running requests.",
                           no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(calendar_app, name="calendar")


@policy_app.command("check")
def policy_check(
    path: Annotated[Path | None, typer.Argument(help="policy file; CSFLOW_POLICY if omitted")]
    = None,
) -> None:
    """Validate a policy file; every bad key is named. Exit 2 when it is refused."""
    from csflow.policy_file import PolicyError, load_policy, policy_from_env

    try:
        policy = load_policy(path) if path else policy_from_env()
    except PolicyError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"policy OK: version {policy.effective_version}")


@calendar_app.command("push")
def calendar_push(
    actor: Annotated[str, typer.Option(help="who pushes it (recorded on every request)")]
    = "ops",
) -> None:
    """Rebuild the calendar from the policy and push it to every running request."""
    from datetime import UTC, datetime

    from csflow.contracts import Actor
    from csflow.domain.codes import Role
    from csflow.policy_file import policy_from_env
    from csflow.sla_terms import TermsProvider

    settings = _settings()
    terms = TermsProvider(policy_from_env())
    calendar = terms.calendar(datetime.now(UTC).date())

    async def push() -> None:
        from starter.client import connect

        async with connect(settings, terms=terms) as csflow:
            result = await csflow.push_calendar(calendar, Actor(id=actor, role=Role.ADMIN))
        typer.echo(f"calendar {calendar.version}: {len(result.updated)} request(s) updated")
        for number, reason in result.failed.items():
            typer.echo(f"  {number}: {reason}", err=True)
        if result.failed:
            raise typer.Exit(1)

    asyncio.run(push())


@app.command()
def migrate() -> None:
    """Apply the versioned SQL migrations to DATABASE_URL."""
    from csflow.store.migrations import apply_migrations

    settings = _settings()
    if not settings.database_url:
        typer.echo("DATABASE_URL is not set", err=True)
        raise typer.Exit(2)
    applied = asyncio.run(apply_migrations(settings.database_url))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


# ---- staff directory (issue 4) ----

staff_app = typer.Typer(help="The staff directory: people, skills, capacity, duty.",
                        no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def staff_add(
    staff_id: Annotated[str, typer.Argument(help="staff id, e.g. li.na")],
    name: Annotated[str, typer.Option(help="display name")],
    role: Annotated[str, typer.Option(help="agent, engineer, supervisor, follow_up, ...")],
    department: Annotated[str, typer.Option()],
    skill: Annotated[list[str] | None, typer.Option(help="repeat for each skill tag")] = None,
    seniority: Annotated[int, typer.Option(min=1, max=3)] = 1,
    capacity: Annotated[int, typer.Option(min=0)] = 5,
    off_duty: Annotated[bool, typer.Option("--off-duty")] = False,
) -> None:
    """Add or update a staff member; the waiting queue drains to them at once."""
    from pydantic import ValidationError

    from csflow.store.staff import StaffMember

    try:
        member = StaffMember(id=staff_id, name=name, role=role, department=department,
                             skills=skill or [], seniority=seniority, capacity=capacity,
                             on_duty=not off_duty)
    except ValidationError as err:
        typer.echo(f"refused: {err}", err=True)
        raise typer.Exit(2) from None
    _staff_change(lambda pool: _upsert(pool, member))


@staff_app.command("duty")
def staff_duty(staff_id: str, on: Annotated[bool, typer.Option("--on/--off")] = True) -> None:
    """Put someone on or off duty; coming on duty drains the waiting queue."""
    from csflow.store import staff as store

    async def change(pool: Any) -> None:
        if not await store.set_on_duty(pool, staff_id, on):
            typer.echo(f"no staff member {staff_id}", err=True)
            raise typer.Exit(1)

    _staff_change(change)


@staff_app.command("list")
def staff_list() -> None:
    """Everyone with their skills, capacity and current load."""
    from rich.console import Console
    from rich.table import Table

    from csflow.store import staff as store
    from csflow.store.pool import create_pool

    settings = _settings()

    async def fetch() -> list[Any]:
        pool = await create_pool(settings.database_dsn, min_size=1, max_size=1)
        try:
            return await store.list_staff(pool)
        finally:
            await pool.close()

    table = Table("id", "name", "role", "department", "skills", "seniority", "load", "duty")
    for m in asyncio.run(fetch()):
        table.add_row(m.id, m.name, m.role, m.department, ", ".join(m.skills),
                      str(m.seniority), f"{m.load}/{m.capacity}", "on" if m.on_duty else "off")
    Console().print(table)


async def _upsert(pool: Any, member: Any) -> None:
    from csflow.store import staff as store

    await store.upsert_staff(pool, member)


def _staff_change(change: Any) -> None:
    """Apply a directory change, then drain the queue and tell the assigned requests."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from activities.assignment import drain_and_notify
    from csflow.store.pool import create_pool

    settings = _settings()

    async def run() -> list[str]:
        pool = await create_pool(settings.database_dsn, min_size=1, max_size=2)
        try:
            await change(pool)
            client = await Client.connect(settings.temporal_target,
                                          namespace=settings.temporal_namespace,
                                          data_converter=pydantic_data_converter)
            return await drain_and_notify(pool, client)
        finally:
            await pool.close()

    assigned = asyncio.run(run())
    typer.echo(f"saved; assigned from the queue: {', '.join(assigned) or 'none'}")


# ---- improvement tasks (issue 6) ----

improvement_app = typer.Typer(help="Improvement tasks from negative feedback.",
                              no_args_is_help=True)
app.add_typer(improvement_app, name="improvement")


@improvement_app.command("list")
def improvement_list(
    status: Annotated[str | None, typer.Option(help="open (incl. overdue), overdue, closed")]
    = "open",
    department: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Improvement tasks with their deadlines."""
    from rich.console import Console
    from rich.table import Table

    from csflow.store import improvements
    from csflow.store.pool import create_pool

    settings = _settings()

    async def fetch() -> list[Any]:
        pool = await create_pool(settings.database_dsn, min_size=1, max_size=1)
        try:
            return await improvements.list_tasks(pool, status, department)
        finally:
            await pool.close()

    table = Table("task", "request", "department", "score", "status", "due", "problem")
    for t in asyncio.run(fetch()):
        table.add_row(t.task_id, t.number, t.department, str(t.score), t.status,
                      t.due_at.isoformat(timespec="minutes"), t.problem[:60])
    Console().print(table)


@improvement_app.command("complete")
def improvement_complete(
    task_id: str,
    what_changed: Annotated[str, typer.Option(help="told to the customer")],
    actor: Annotated[str, typer.Option(help="who closes it")],
    role: Annotated[str, typer.Option(help="their role")] = "supervisor",
) -> None:
    """Close an improvement task; the customer is told what changed."""
    from temporalio.client import Client, WorkflowUpdateFailedError
    from temporalio.contrib.pydantic import pydantic_data_converter

    from csflow.contracts import Actor, CompleteImprovement, ImprovementRow

    settings = _settings()

    async def run() -> ImprovementRow:
        client = await Client.connect(settings.temporal_target,
                                      namespace=settings.temporal_namespace,
                                      data_converter=pydantic_data_converter)
        row: ImprovementRow = await client.get_workflow_handle(task_id).execute_update(
            "complete_improvement",
            CompleteImprovement(actor=Actor(id=actor, role=role), what_changed=what_changed),
            result_type=ImprovementRow)
        return row

    try:
        row = asyncio.run(run())
    except WorkflowUpdateFailedError as err:
        typer.echo(f"refused: {err.cause}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{row.task_id}: {row.status}")


# ---- reports (issue 8) ----

report_app = typer.Typer(help="Daily and weekly reports, and the demand forecast.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")


def _report_zone() -> str:
    from csflow.policy_file import policy_from_env

    return policy_from_env().calendar.time_zone


@report_app.command("weekly")
def report_weekly(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47; last week if "
                                                  "omitted")] = None,
    refresh: Annotated[bool, typer.Option(help="recompute from the timeline")] = False,
    csv: Annotated[Path | None, typer.Option(help="also write the CSV here")] = None,
) -> None:
    """Print a weekly report; one not produced yet is computed and stored first."""
    from csflow.reports.console import run_report

    settings = _settings()
    raise typer.Exit(run_report(settings.database_dsn, _report_zone(), "weekly", week,
                                refresh=refresh, csv_path=csv))


@report_app.command("daily")
def report_daily(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD; yesterday if "
                                                           "omitted")] = None,
    refresh: Annotated[bool, typer.Option(help="recompute from the timeline")] = False,
    csv: Annotated[Path | None, typer.Option(help="also write the CSV here")] = None,
) -> None:
    """Print a daily report; one not produced yet is computed and stored first."""
    from csflow.reports.console import run_report

    settings = _settings()
    raise typer.Exit(run_report(settings.database_dsn, _report_zone(), "daily", day,
                                refresh=refresh, csv_path=csv))


@report_app.command("forecast")
def report_forecast(
    as_of: Annotated[str | None, typer.Option(help="first forecast day; today if omitted")]
    = None,
    horizon: Annotated[int, typer.Option(min=1, max=60, help="days ahead")] = 14,
) -> None:
    """Forecast demand per category and channel, with back-tested error and staffing."""
    from csflow.reports.console import run_forecast

    settings = _settings()
    raise typer.Exit(run_forecast(settings.database_dsn, _report_zone(), as_of, horizon))

from csflow.cli_tokens import token_app  # noqa: E402

app.add_typer(token_app, name="token")

from csflow.cli_import import import_command  # noqa: E402

app.command("import")(import_command)

from csflow.cli_requests import request_app  # noqa: E402

app.add_typer(request_app, name="request")

from csflow.cli_customers import customer_app  # noqa: E402

app.add_typer(customer_app, name="customer")

from csflow.cli_notify import notify_app  # noqa: E402

app.add_typer(notify_app, name="notify")
