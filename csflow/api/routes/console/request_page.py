"""/console/requests/{number}: one request, the reveal of its customer's details, and
the command forms, each sent the way POST /requests/{number}/{command} sends it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from csflow.api import auth
from csflow.api.routes.console.access import (
    FormPrincipal,
    Pages,
    Reader_,
    as_api,
    errors_text,
    posted_fields,
)
from csflow.api.routes.requests import body_model
from csflow.commands import CommandSpec
from csflow.console import forms
from csflow.contracts import Model
from csflow.store import personal
from csflow.store.personal import Reader
from csflow.store.tokens import TokenInfo
from starter.client import RequestEnded, RequestNotFound, RequestRefused, TemporalUnavailable

router = APIRouter()


@router.get("/requests/{number}")
async def request_get(
    request: Request, number: str, who: Reader_, pages: Pages, fragment: bool = False
) -> HTMLResponse:
    return await pages.request_page(request, who, number, fragment=fragment)


@router.get("/requests/{number}/{path:path}")
async def after_post(number: str) -> RedirectResponse:
    """Reloading the answer to a form (its address is the form's action) shows the
    request page again; nothing is sent twice."""
    return RedirectResponse(f"/console/requests/{quote(number)}", status_code=303)


@router.post("/requests/{number}/reveal")
async def reveal(request: Request, number: str, who: FormPrincipal, pages: Pages) -> HTMLResponse:
    """The customer's details, for roles that may read them; every reveal is logged."""
    await auth.require(auth.PERSONAL_READERS, "reading a customer's details")(who)
    purpose = (await request.form()).get("purpose")
    reader = Reader(
        token_id=who.id,
        subject=who.subject,
        role=who.role.value,
        purpose=(purpose.strip()[:200] or None) if isinstance(purpose, str) else None,
    )
    found = await personal.read_customer(request.app.state.pool, number, reader)
    if found is None:
        return pages.missing(request, who, number)
    return await pages.request_page(request, who, number, revealed=found)


@router.post("/requests/{number}/{path:path}")
async def send_command(
    request: Request, number: str, path: str, who: FormPrincipal, pages: Pages
) -> Response:
    """The API's role gate and actor binding, then the starter client's `send`; a refusal
    shows the page again with the form filled in and the API's own words."""
    spec = forms.by_path(path)
    if spec is None or spec.command not in forms.FIELDS:
        raise HTTPException(404, f"no console form {path!r}")
    posted = await posted_fields(request)
    key = posted.get("idempotency_key") or None
    try:
        # The API's gate first (its 403 words), then the console's own rule that a
        # service token relays others and has no forms.
        await auth.require(auth.command_roles(spec.command), spec.command.value)(who)
        if not forms.console_may(who.role, spec.command):
            raise auth.Denied(
                f"{spec.command.value}: the console acts for people; a "
                f"{who.role.value} token uses the API"
            )
        command = _command(spec, who, posted, pages.policy.calendar.time_zone)
        await request.app.state.csflow.send(number, spec.command, command, idempotency_key=key)
    except forms.Invalid as err:
        error = errors_text(err.errors)
        return await pages.request_page(
            request,
            who,
            number,
            status=422,
            failed=spec.command.value,
            posted=posted,
            error=error,
        )
    except (
        auth.Denied,
        RequestRefused,
        RequestEnded,
        RequestNotFound,
        TemporalUnavailable,
    ) as err:
        status, detail = await as_api(request, err)
        if status == 404:
            return pages.missing(request, who, number)
        return await pages.request_page(
            request,
            who,
            number,
            status=status,
            failed=spec.command.value,
            posted=posted,
            error=detail,
        )
    query = urlencode({"done": spec.command.value})
    return RedirectResponse(f"/console/requests/{quote(number)}?{query}", status_code=303)


def _command(spec: CommandSpec, who: TokenInfo, posted: dict[str, str], tz: str) -> Model:
    """Form → the API's body model → the command, with the actor bound like the API does."""
    data = forms.to_input(spec.command, posted, tz)
    try:
        body: Any = body_model(spec).model_validate(data)
    except ValidationError as err:
        raise forms.Invalid(
            [
                (
                    ".".join(str(p) for p in e["loc"]) or "form",
                    e["msg"].removeprefix("Value error, "),
                )
                for e in err.errors()
            ]
        ) from None
    actor = auth.bind_actor(who, None)
    fields = {name: getattr(body, name) for name in spec.model.model_fields}
    return spec.model(**{**fields, "actor": actor})
