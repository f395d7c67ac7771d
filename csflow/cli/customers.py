"""`csflow customer …`: who read a customer's details, and erasure on request
(docs/requirements.md §6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from csflow.cli import exits
from csflow.cli.connect import with_pool

customer_app = typer.Typer(
    help="A customer's personal data: reads and erasure.", no_args_is_help=True
)


@customer_app.command("reads")
def customer_reads(customer_id: Annotated[str, typer.Argument(help="the customer's id")]) -> None:
    """Every read of the customer's details through the API: who, when, why."""
    from rich.console import Console
    from rich.table import Table

    from csflow.store import personal

    async def fetch(pool: Any) -> list[personal.ReadRecord]:
        return await personal.reads_of(pool, customer_id)

    table = Table("read at", "request", "by", "role", "purpose")
    for r in with_pool(fetch):
        table.add_row(
            f"{r.read_at:%Y-%m-%d %H:%M:%S}", r.number, r.subject, r.role, r.purpose or ""
        )
    Console().print(table)


@customer_app.command("erase")
def customer_erase(
    customer_id: Annotated[str, typer.Argument(help="the customer's id")],
    yes: Annotated[bool, typer.Option("--yes", help="do it; without it nothing changes")] = False,
    actor: Annotated[str, typer.Option(help="who erases (recorded on each timeline)")] = "operator",
    reason: Annotated[
        str | None,
        typer.Option(help="why: the customer's request, a ticket (recorded on each timeline)"),
    ] = None,
) -> None:
    """Destroy the customer's data key (crypto-shredding): every sealed copy of their
    name, contact and words — rows, old row versions, backups, kept messages — becomes
    unreadable; what was kept in the clear is blanked; codes, times and scores stay, so
    reports do not change; each request's timeline records the erasure. Refused while a
    request of theirs is open."""
    from csflow.contracts import Actor
    from csflow.domain.codes import Role
    from csflow.store import personal

    if not yes:
        typer.echo(
            f"would erase the personal data of customer {customer_id}; run again with --yes",
            err=True,
        )
        raise typer.Exit(exits.BAD_INPUT)

    async def erase(pool: Any) -> list[str]:
        return await personal.erase_customer(
            pool, customer_id, datetime.now(UTC), by=Actor(id=actor, role=Role.ADMIN), reason=reason
        )

    try:
        numbers = with_pool(erase)
    except personal.OpenRequests as err:
        exits.fail(f"refused: {err}", exits.REFUSED)
    typer.echo(f"erased customer {customer_id} on {len(numbers)} request(s)")
    typer.echo(
        "their data key is destroyed: every copy sealed with it (rows, old row "
        "versions, backups, kept messages) is unreadable; Temporal histories keep "
        "their ring-sealed copy until retention ends (docs/security.md, erasure)",
        err=True,
    )
