"""`csflow staff …`: the staff directory — people, skills, capacity, duty (issue 4).

A change that frees capacity drains the waiting queue at once, through the same
`csflow.services.assignment.drain_and_notify` the staff API and the worker use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from csflow.cli import connect, exits

staff_app = typer.Typer(
    help="The staff directory: people, skills, capacity, duty.", no_args_is_help=True
)


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
    email: Annotated[
        str | None, typer.Option(help="where their notifications go; kept if omitted")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="for SMS and calls; kept if omitted")] = None,
) -> None:
    """Add or update a staff member; the waiting queue drains to them at once. An update
    keeps the stored email and phone unless new ones are given."""
    from pydantic import ValidationError

    from csflow.store import staff as store
    from csflow.store.staff import StaffMember

    try:
        member = StaffMember(
            id=staff_id,
            name=name,
            role=role,
            department=department,
            skills=skill or [],
            seniority=seniority,
            capacity=capacity,
            on_duty=not off_duty,
            email=email,
            phone=phone,
        )
    except ValidationError as err:
        exits.fail(f"refused: {err}", exits.BAD_INPUT)

    async def upsert(pool: Any) -> None:
        await store.upsert_staff(pool, member, keep_contact=True)

    _staff_change(upsert)


@staff_app.command("duty")
def staff_duty(staff_id: str, on: Annotated[bool, typer.Option("--on/--off")] = True) -> None:
    """Put someone on or off duty; coming on duty drains the waiting queue."""
    from csflow.store import staff as store

    async def change(pool: Any) -> None:
        if not await store.set_on_duty(pool, staff_id, on):
            exits.fail(f"no staff member {staff_id}", exits.REFUSED)

    _staff_change(change)


@staff_app.command("list")
def staff_list() -> None:
    """Everyone with their skills, capacity and current load."""
    from rich.console import Console
    from rich.table import Table

    from csflow.store import staff as store

    table = Table("id", "name", "role", "department", "skills", "seniority", "load", "duty")
    for m in connect.with_pool(store.list_staff, size=1):
        table.add_row(
            m.id,
            m.name,
            m.role,
            m.department,
            ", ".join(m.skills),
            str(m.seniority),
            f"{m.load}/{m.capacity}",
            "on" if m.on_duty else "off",
        )
    Console().print(table)


def _staff_change(change: Callable[[Any], Awaitable[None]]) -> None:
    """Apply a directory change, then drain the queue and tell the assigned requests."""
    from csflow.services.assignment import drain_and_notify

    found = connect.settings()
    org = connect.terms().policy.organisation  # names a new holder's team (`[ownership]`)

    async def run() -> list[str]:
        async with connect.database(found) as pool:
            await change(pool)
            return await drain_and_notify(pool, await connect.temporal(found), org)

    try:
        assigned = asyncio.run(run())
    except connect.Unavailable as err:
        exits.fail(f"unavailable: {err}", exits.UNAVAILABLE)
    typer.echo(f"saved; assigned from the queue: {', '.join(assigned) or 'none'}")
