"""Who is calling: API tokens bound to roles, and the role each route needs.

A person's token acts as that person: the actor recorded in the timeline is the token's
subject and role, and a body naming someone else is refused — a timeline that anyone can
sign with any name audits nothing. A `service` token is a trusted backend relaying its
own users' actions, so it names the actor (never `system`, which only csflow's worker is).

The route check here is the first gate; the workflow's validators check the actor's role
again, so a command is refused the same way whether it came through the API, the CLI or
the `temporal` CLI.

Browsers cannot send a bearer header to a page they navigate to, so `/login` turns a token
into an HttpOnly cookie; the cookie opens pages and reads (GET) only, never commands, so
a forged cross-site form cannot act with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from html import escape
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from csflow.contracts import Actor
from csflow.crypto.issue import NotYours, actor_for
from csflow.domain.codes import Role
from csflow.domain.lifecycle import REQUIRED_ROLES, AnyCommand
from csflow.refusals import Refusal
from csflow.store import tokens
from csflow.store.tokens import TOKEN_ROLES, TokenInfo, TokenRefused

COOKIE = "csflow_token"

# Route groups; the command routes (improvements' `complete` too) take theirs from
# csflow.domain.lifecycle.REQUIRED_ROLES through `command_roles`.
READERS = TOKEN_ROLES
CREATORS = frozenset(
    {Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.FOLLOW_UP, Role.ADMIN, Role.SERVICE}
)
# Services too: an HR system keeps the directory and the duty roster in sync.
STAFF_ADMINS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.SERVICE})
# A customer's name and contact: those who serve them, never analysts (docs/requirements.md §6).
PERSONAL_READERS = frozenset(
    {Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.FOLLOW_UP, Role.ADMIN, Role.SERVICE}
)
BOARD = frozenset({Role.SUPERVISOR, Role.ANALYST, Role.ADMIN})
REPORTS = frozenset({Role.SUPERVISOR, Role.ANALYST, Role.ADMIN})


class NotAuthenticated(Exception):
    """No usable token; answered 401 (or a redirect to /login for a page)."""


class Denied(Exception):
    """Authenticated, but the role (or the named actor) is not allowed; answered 403."""


def command_roles(command: AnyCommand) -> frozenset[Role]:
    """Token roles that may send `command`: those the workflow accepts, and services,
    which relay an actor the workflow then checks. System-only commands get none."""
    allowed = REQUIRED_ROLES[command] & TOKEN_ROLES
    return allowed | {Role.SERVICE} if allowed - {Role.SERVICE} else frozenset()


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("use the header `Authorization: Bearer csf_…`")
        return value.strip()
    if request.method in ("GET", "HEAD"):
        return request.cookies.get(COOKIE)
    return None


async def principal(request: Request) -> TokenInfo:
    token = _token_from(request)
    if token is None:
        raise NotAuthenticated("an API token is required (`csflow token create`)")
    try:
        return await tokens.verify(request.app.state.pool, token, datetime.now(UTC))
    except TokenRefused as err:
        raise NotAuthenticated(str(err)) from None


Principal = Annotated[TokenInfo, Depends(principal)]


def _names(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles)) or "none (internal to csflow)"


def require(roles: frozenset[Role], what: str) -> Callable[..., Awaitable[TokenInfo]]:
    """A dependency admitting only tokens whose role is in `roles`."""

    async def check(who: Principal) -> TokenInfo:
        if who.role not in roles:
            raise Denied(
                f"{what} needs one of the roles: {_names(roles)} "
                f"(this token's role is {who.role.value})"
            )
        return who

    return check


def bind_actor(who: TokenInfo, given: Actor | None) -> Actor:
    """The actor to record for this call; refuses a person's token speaking for another."""
    if who.role is Role.SERVICE and given is None:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", "actor"],
                    "type": "missing",
                    "msg": "a service token must name the actor it acts for",
                }
            ],
        )
    try:
        return actor_for(who, given)
    except NotYours as err:
        raise Denied(str(err)) from None


def install(app: FastAPI) -> None:
    """Error answers, and the small login page that turns a token into a cookie."""

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, err: NotAuthenticated) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return JSONResponse(
            status_code=401,
            content={"detail": str(err)},
            headers={"WWW-Authenticate": 'Bearer realm="csflow"'},
        )

    @app.exception_handler(Denied)
    async def _denied(_: Request, err: Denied) -> JSONResponse:
        return JSONResponse(
            status_code=403, content={"detail": str(err), "type": Refusal.FORBIDDEN_ROLE}
        )

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(next: str = "/board", error: str | None = None) -> HTMLResponse:
        return HTMLResponse(
            _LOGIN.format(next=escape(_safe_next(next)), error=escape(error) if error else "")
        )

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        token: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=500)] = "/board",
    ) -> Response:
        target = _safe_next(next)
        try:
            await tokens.verify(request.app.state.pool, token.strip(), datetime.now(UTC))
        except TokenRefused as err:
            return RedirectResponse(
                f"/login?next={quote(target)}&error={quote(str(err))}", status_code=303
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            token.strip(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def _safe_next(target: str) -> str:
    # Only a path on this site: an open redirect would hand the login to anyone's page.
    return target if target.startswith("/") and not target.startswith("//") else "/board"


_LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>csflow · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;font:inherit}}button{{margin-top:1rem;padding:.5rem 1rem}}
.error{{color:#b00020}}</style></head>
<body><h1>csflow</h1><p>Paste an API token (<code>csflow token create</code>).</p>
<p class="error">{error}</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>Token <input name="token" type="password" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></body></html>
"""
