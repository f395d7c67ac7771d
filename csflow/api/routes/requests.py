"""/requests: create, read, and one POST per lifecycle command (from csflow.commands).

No `from __future__ import annotations` here: the command routes are built in a loop and
FastAPI must see each body's real model class, which lazy annotations would hide.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response, status
from pydantic import BaseModel

from csflow.api.deps import Csflow
from csflow.commands import COMMANDS, CommandSpec
from csflow.contracts import RequestIntake, RequestView

router = APIRouter(prefix="/requests", tags=["requests"])


class CreatedBody(BaseModel):
    number: str
    existing: bool
    request: RequestView | None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedBody,
    responses={
        200: {"description": "The external id was seen before: the same request"},
        202: {"description": "Started; intake is still being written — poll GET"},
        422: {"description": "Invalid intake; the fields are named"},
        503: {"description": "Temporal or PostgreSQL unreachable; nothing was started"},
    },
)
async def create_request(intake: RequestIntake, csflow: Csflow, response: Response) -> CreatedBody:
    created = await csflow.create(intake)
    if created.existing:
        response.status_code = status.HTTP_200_OK
    elif created.view is None:
        response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/requests/{created.number}"
    return CreatedBody(number=created.number, existing=created.existing, request=created.view)


@router.get("/{number}", response_model=RequestView, responses={404: {"description": "Unknown"}})
async def get_request(number: str, csflow: Csflow) -> RequestView:
    return await csflow.state(number)


def _command_route(spec: CommandSpec) -> None:
    model: Any = spec.model

    async def run(
        number: str,
        csflow: Csflow,
        body: Annotated[model, Body()],
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> RequestView:
        return await csflow.send(number, spec.command, body, idempotency_key=idempotency_key)

    run.__name__ = f"{spec.command.value}_request"
    router.add_api_route(
        f"/{{number}}/{spec.path}",
        run,
        methods=["POST"],
        response_model=RequestView,
        summary=spec.summary,
        description=f"Workflow Update `{spec.update_name}`.",
        responses={
            404: {"description": "No request with this number"},
            409: {"description": "Illegal in the request's current state; the reason is given"},
            422: {"description": "Invalid body; the fields are named"},
            503: {"description": "Temporal unreachable; nothing was changed"},
        },
    )


for _spec in COMMANDS:
    _command_route(_spec)
