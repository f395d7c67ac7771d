"""Who may open a console page or send a console form, and the page-maker they are
served with: the dependencies every console route declares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from csflow.api import auth
from csflow.api.routes.console.pages import ConsolePages
from csflow.console import csrf
from csflow.store import tokens
from csflow.store.tokens import TokenInfo

Reader_ = Annotated[TokenInfo, Depends(auth.require(auth.READERS, "the console"))]


async def form_principal(request: Request) -> TokenInfo:
    """The signed-in person behind a console form: cookie, same origin and CSRF field."""
    if not csrf.same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise auth.Denied("a console form must be sent from this site (Origin mismatch)")
    token = request.cookies.get(auth.COOKIE)
    if not token:
        raise auth.NotAuthenticated("sign in at /login first")
    posted = await request.form()
    given = posted.get(csrf.FIELD)
    if not csrf.valid(token, given if isinstance(given, str) else None):
        raise auth.Denied(
            "the form's CSRF field is missing or belongs to another sign-in; "
            "reload the page and send it again"
        )
    try:
        return await tokens.verify(request.app.state.pool, token, datetime.now(UTC))
    except tokens.TokenRefused as err:
        raise auth.NotAuthenticated(str(err)) from None


FormPrincipal = Annotated[TokenInfo, Depends(form_principal)]


def pages_of(request: Request) -> ConsolePages:
    """The page-maker `install` built for this app's policy."""
    pages: ConsolePages = request.app.state.console_pages
    return pages


Pages = Annotated[ConsolePages, Depends(pages_of)]


async def as_api(request: Request, err: Exception) -> tuple[int, str]:
    """The API's own answer to this error: its exception handler's status and words, so
    a refused form shows what POST /requests/... would have said."""
    handler = request.app.exception_handlers[type(err)]
    answer = await handler(request, err)
    body = json.loads(bytes(answer.body))
    return answer.status_code, str(body.get("detail", ""))


def errors_text(errors: list[tuple[str, str]]) -> str:
    return "; ".join(f"{name}: {message}" for name, message in errors)


async def posted_fields(request: Request) -> dict[str, str]:
    """A form's text fields (files, which no console form has, are left out)."""
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
