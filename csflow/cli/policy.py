"""`csflow policy check` and `csflow calendar push`: the policy file and the calendar
it produces for running requests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from csflow.cli import connect, exits

policy_app = typer.Typer(help="The SLA policy file (CSFLOW_POLICY).", no_args_is_help=True)
calendar_app = typer.Typer(help="The business calendar of running requests.", no_args_is_help=True)


@policy_app.command("check")
def policy_check(
    path: Annotated[
        Path | None, typer.Argument(help="policy file; CSFLOW_POLICY if omitted")
    ] = None,
) -> None:
    """Validate a policy file; every bad key is named. Exit 2 when it is refused."""
    from csflow.config.policy import PolicyError, load_policy, policy_from_env

    try:
        policy = load_policy(path) if path else policy_from_env()
    except PolicyError as err:
        exits.fail(str(err), exits.BAD_INPUT)
    typer.echo(f"policy OK: version {policy.effective_version}")
    org = policy.organisation
    if not org.configured:
        typer.echo(
            "organisation: none — escalations reach on-duty supervisors of the "
            "request's department and the role contacts of the notification config"
        )
        return
    for name, dept in org.departments.items():
        teams = ", ".join(f"{t} ({len(team.members)} members)" for t, team in dept.teams.items())
        typer.echo(
            f"department {name}: head {dept.head}, supervisors "
            f"{', '.join(dept.supervisors) or '-'}; teams {teams or '-'}"
        )
    typer.echo(f"directors (duty order): {', '.join(org.directors) or '-'}")


@calendar_app.command("push")
def calendar_push(
    actor: Annotated[str, typer.Option(help="who pushes it (recorded on every request)")] = "ops",
) -> None:
    """Rebuild the calendars from the policy (the organisation's and each team's) and push
    them to every running request; each request takes the one it runs on."""
    from datetime import UTC, datetime

    from csflow.contracts import Actor
    from csflow.domain.codes import Role

    found = connect.settings()
    terms = connect.terms()
    today = datetime.now(UTC).date()
    calendars = [
        terms.calendar(today),
        *(terms.calendar(today, team) for team in terms.policy.calendar.teams),
    ]

    async def push() -> None:
        failed = False
        async with connect.services(found, with_terms=terms) as conn:
            for calendar in calendars:
                result = await conn.csflow.push_calendar(calendar, Actor(id=actor, role=Role.ADMIN))
                whose = f"team {calendar.team}" if calendar.team else "organisation"
                typer.echo(
                    f"calendar {calendar.version} ({whose}): "
                    f"{len(result.updated)} request(s) updated"
                )
                for number, reason in result.failed.items():
                    typer.echo(f"  {number}: {reason}", err=True)
                failed = failed or bool(result.failed)
        if failed:
            raise typer.Exit(exits.REFUSED)

    try:
        asyncio.run(push())
    except connect.Unavailable as err:
        exits.fail(f"unavailable, nothing was changed: {err}", exits.UNAVAILABLE)
