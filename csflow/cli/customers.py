"""`csflow customer …`: who read a customer's details, erasure on request
(docs/requirements.md §6), and sealing what rows from before migration 0016 keep in the
clear (docs/security.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from csflow.cli import exits
from csflow.cli.connect import with_pool

customer_app = typer.Typer(
    help="A customer's personal data: reads, erasure, sealing rows from before 0016.",
    no_args_is_help=True,
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


@customer_app.command("seal-existing")
def customer_seal_existing(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be sealed; write nothing")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="rows per transaction")] = 500,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum",
            help="afterwards run VACUUM FULL on the four tables, so the old clear row "
            "versions leave the table files (locks each table while it is rewritten)",
        ),
    ] = False,
) -> None:
    """Seal the personal data that rows written before migration 0016 keep in the clear
    (name, contact, description, the customer's words on timelines, improvement problems,
    kept messages) with each customer's data key, write the phone/e-mail blind indexes and
    blank the clear columns; rows of erased customers are only blanked. Batches of
    `--batch` rows, one transaction each: an interrupted run leaves no half-sealed row,
    and running it again finishes the job (a finished run makes a re-run a no-op). The old
    row versions keep the clear values in PostgreSQL's files until `VACUUM FULL` of the
    four tables (`--vacuum` runs it); docs/security.md, "Upgrading from before sealing"."""
    from csflow.store import personal

    verb = ("would seal", "would blank") if dry_run else ("sealed", "blanked")
    shown: dict[str, tuple[int, int]] = {}

    def progress(table: str, done: personal.TableTally) -> None:
        """A line on standard error per batch that moved the count (long runs show life)."""
        now = (done.sealed, done.blanked)
        if now != shown.get(table, (0, 0)):
            shown[table] = now
            typer.echo(f"  {table}: {now[0]} {verb[0]}, {now[1]} {verb[1]} …", err=True)

    async def run(pool: Any) -> personal.SealTally:
        tally = await personal.seal_existing(pool, batch=batch, dry_run=dry_run, progress=progress)
        if vacuum and not dry_run:
            typer.echo(f"VACUUM FULL {', '.join(personal.SEALED_TABLES)} …", err=True)
            await personal.vacuum_sealed(pool)
        return tally

    try:
        tally = with_pool(run, size=3)
    except KeyboardInterrupt:
        exits.fail(
            "interrupted: every row is either sealed or as it was; run again to finish",
            exits.INTERRUPTED,
        )
    typer.echo("dry run: nothing was written" if dry_run else "rows written before sealing:")
    for table, t in tally.tables.items():
        typer.echo(f"  {table}: {t.sealed} {verb[0]}, {t.blanked} {verb[1]}")
    typer.echo(
        f"  customers: {len(tally.customers)} "
        f"{'to seal' if dry_run else 'sealed'} with their own key "
        f"({tally.keys_created} data key(s) {'to create' if dry_run else 'created'}), "
        f"{len(tally.erased_customers)} erased ({'to blank' if dry_run else 'blanked'} only)"
    )
    if dry_run:
        return
    if vacuum:
        typer.echo(f"VACUUM FULL done on {', '.join(personal.SEALED_TABLES)}")
    elif tally.changed:
        typer.echo(
            "the old row versions with the clear values stay in PostgreSQL's files until "
            f"vacuumed: run `VACUUM FULL {', '.join(personal.SEALED_TABLES)};` in a quiet "
            "hour (or this command with --vacuum); WAL and backups taken before keep them "
            "until their retention ends (docs/security.md, upgrading)"
        )
