"""/console/new: a request taken by phone or at the counter, recorded as POST /requests
records one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from csflow.api import auth
from csflow.api.routes.console.access import (
    FormPrincipal,
    Pages,
    Reader_,
    as_api,
    errors_text,
    posted_fields,
)
from csflow.console import forms, intake
from starter.client import CsflowClient, RequestRefused, TemporalUnavailable

router = APIRouter()


@router.get("/new")
async def new_request_page(request: Request, who: Reader_, pages: Pages) -> HTMLResponse:
    await auth.require(auth.CREATORS, "creating a request")(who)
    return pages.new_form(request, who)


@router.post("/new")
async def new_request(request: Request, who: FormPrincipal, pages: Pages) -> Response:
    """A refused form comes back filled in, with the API's status and words."""
    await auth.require(auth.CREATORS, "creating a request")(who)
    posted = await posted_fields(request)
    try:
        made = intake.to_intake(posted)
    except forms.Invalid as err:
        return pages.new_form(request, who, 422, posted, errors_text(err.errors))
    made.recorded_by = auth.bind_actor(who, None)
    client: CsflowClient = request.app.state.csflow
    try:
        created = await client.create(made)
    except (RequestRefused, TemporalUnavailable) as err:
        status, detail = await as_api(request, err)
        return pages.new_form(request, who, status, posted, detail)
    return RedirectResponse(
        f"/console/requests/{quote(created.number)}?done=created", status_code=303
    )
