"""The console's frame: its front door, its own stylesheet and script, the language
switch, and the version token the pages poll to refresh themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from csflow.api.routes.console.access import Reader_
from csflow.api.routes.console.pages import PAGES_DIR
from csflow.console import queue
from csflow.console.texts import COOKIE, LANGS

STATIC = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}

router = APIRouter()


@router.get("")
async def console_home() -> RedirectResponse:
    return RedirectResponse("/console/queue/mine", status_code=303)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    """Served from the package, never from elsewhere (the pages' CSP allows only 'self')."""
    if name not in STATIC:
        raise HTTPException(404, "no such file")
    return Response(
        (PAGES_DIR / name).read_bytes(),
        media_type=STATIC[name],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/lang")
async def switch_lang(
    to: Annotated[str, Query(max_length=8)],
    next: Annotated[str, Query(max_length=500)] = "/console",
) -> RedirectResponse:
    """Only ever back into the console: `next` is never an open redirect."""
    target = next if next.startswith("/console") and not next.startswith("//") else "/console"
    response = RedirectResponse(target, status_code=303)
    if to in LANGS:
        response.set_cookie(COOKIE, to, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/version")
async def live_version(
    request: Request, who: Reader_, number: Annotated[str | None, Query(max_length=64)] = None
) -> JSONResponse:
    """What the pages poll: a token that changes when what they show changes."""
    found = await queue.version(request.app.state.pool, number)
    return JSONResponse({"version": found}, headers={"Cache-Control": "no-store"})
