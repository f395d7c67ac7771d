"""`csflow up | worker | api | migrate`: the process entry points.

This is the CLI's one composition root that starts worker code: `csflow worker` (and
the worker child of `csflow up`) must import `worker.run_worker`. Every other CLI module
is a client of the running system and never imports activities, workflows or the worker
(tests/test_import_direction.py holds both rules).
"""

from __future__ import annotations

import asyncio

import typer

from csflow.cli import connect, exits


def up() -> None:
    """Run everything: Temporal dev server, PostgreSQL, migrations, worker and API.

    Embedded by default (data in CSFLOW_DATA_DIR); set DATABASE_URL or TEMPORAL_ADDRESS
    to use servers you already run instead.
    """
    from csflow.stack import run_up

    raise typer.Exit(run_up(connect.settings()))


def worker() -> None:
    """Run a Temporal worker on the `service-requests` task queue."""
    from worker import run_worker

    asyncio.run(run_worker(connect.settings()))


def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from csflow.api.app import create_app

    found = connect.settings()
    try:
        app = create_app(found)
    except ValueError as err:  # a secret missing (CSFLOW_SECRETS=env): refuse to start
        exits.fail(str(err), exits.BAD_INPUT)
    uvicorn.run(app, host=found.api_host, port=found.api_port, log_config=None)


def migrate() -> None:
    """Apply the versioned SQL migrations to DATABASE_URL."""
    from csflow.store.migrations import apply_migrations

    found = connect.settings()
    if not found.database_url:
        exits.fail("DATABASE_URL is not set", exits.BAD_INPUT)
    applied = asyncio.run(apply_migrations(found.database_url))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
