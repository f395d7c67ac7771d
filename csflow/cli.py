"""`csflow` — the command line: run the stack or one of its parts, manage the schema."""

from __future__ import annotations

import asyncio

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
