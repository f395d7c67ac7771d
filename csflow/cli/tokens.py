"""`csflow token …`: issue, list and revoke API tokens (stored hashed, shown once).

Token management is deliberately CLI-only: whoever can issue tokens can act as anyone,
so it needs database access, not just another token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from csflow.cli import exits
from csflow.cli.connect import with_pool

token_app = typer.Typer(help="API tokens bound to roles (stored hashed).", no_args_is_help=True)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="what the token is for, e.g. 'crm-backend'")],
    role: Annotated[
        str, typer.Option(help="agent, engineer, supervisor, follow_up, analyst, admin or service")
    ],
    subject: Annotated[
        str | None,
        typer.Option("--as", help="the actor id it acts as (a staff id); the name if omitted"),
    ] = None,
    expires_days: Annotated[int | None, typer.Option(min=1, help="expire after N days")] = None,
) -> None:
    """Issue a token and print it once; only its hash is kept."""
    from pydantic import TypeAdapter, ValidationError

    from csflow.contracts import Identifier
    from csflow.domain.codes import Role
    from csflow.store import tokens

    try:
        role_value = Role(role)
        actor_id = TypeAdapter(Identifier).validate_python(subject or name)
    except (ValueError, ValidationError) as err:
        exits.fail(f"refused: {err}", exits.BAD_INPUT)
    expires = (datetime.now(UTC) + timedelta(days=expires_days)) if expires_days else None

    async def issue(pool: Any) -> tuple[str, Any]:
        return await tokens.issue(
            pool, name=name, role=role_value, subject=actor_id, expires_at=expires
        )

    try:
        plain, info = with_pool(issue)
    except ValueError as err:
        exits.fail(f"refused: {err}", exits.BAD_INPUT)
    typer.echo(
        f"token {info.id} ({info.role.value}, acts as {info.subject}) — shown once:", err=True
    )
    typer.echo(plain)


@token_app.command("list")
def token_list() -> None:
    """Every token with its role, subject and last use; never the secret."""
    from rich.console import Console
    from rich.table import Table

    from csflow.store import tokens

    table = Table("id", "name", "role", "acts as", "created", "last used", "state")
    table.columns[0].no_wrap = True  # ids are copied into `token revoke`
    now = datetime.now(UTC)
    for t in with_pool(tokens.list_tokens):
        state = (
            "revoked"
            if t.revoked_at
            else "expired"
            if t.expires_at and t.expires_at <= now
            else "active"
        )
        table.add_row(
            t.id,
            t.name,
            t.role.value,
            t.subject,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            state,
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="the id from `token list`")]) -> None:
    """Revoke a token at once; calls with it get 401 from now on."""
    from csflow.store import tokens

    async def revoke(pool: Any) -> bool:
        return await tokens.revoke(pool, token_id, datetime.now(UTC))

    if not with_pool(revoke):
        exits.fail(f"no token {token_id}", exits.REFUSED)
    typer.echo(f"revoked {token_id}")
