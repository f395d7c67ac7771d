"""/console/queue/mine and /console/queue/team: the open requests a person works, with
their clocks, filtered as GET /requests filters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from csflow.api.routes.console.access import Pages, Reader_
from csflow.console import queue
from csflow.domain.codes import Category, Channel, Priority

router = APIRouter()


@router.get("/queue/{which}")
async def queue_page(
    request: Request, which: str, who: Reader_, pages: Pages, fragment: bool = False
) -> HTMLResponse:
    if which not in ("mine", "team"):
        raise HTTPException(404, "the queues are /console/queue/mine and /team")
    try:
        f = queue.QueueFilter.model_validate(_multi(request, exclude={"fragment"}))
    except ValidationError as err:
        raise HTTPException(
            422, [{"loc": e["loc"], "msg": e["msg"]} for e in err.errors()]
        ) from None
    pool = request.app.state.pool
    version = await queue.version(pool)
    found = await queue.load_queue(pool, f, assignee=who.subject if which == "mine" else None)
    return pages.render(
        "queue_live.html" if fragment else "queue.html",
        request,
        who,
        which=which,
        f=f,
        q=found,
        version=version,
        choices={
            "status": [s.value for s in queue.OPEN],
            "priority": [p.value for p in Priority],
            "category": [c.value for c in Category],
            "channel": [c.value for c in Channel],
            "flag": list(queue.FLAGS),
        },
    )


def _multi(request: Request, exclude: set[str]) -> dict[str, Any]:
    """The query string as the filter's input: blank values are "any"."""
    out: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in exclude or not value:
            continue
        if key == "q":
            out[key] = value
        else:
            out.setdefault(key, []).append(value)
    return out
