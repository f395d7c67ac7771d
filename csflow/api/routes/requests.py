"""/requests: create, read, and one POST per lifecycle command (from csflow.commands).

No `from __future__ import annotations` here: the command routes are built in a loop and
FastAPI must see each body's real model class, which lazy annotations would hide.

Each command's body is its workflow model with `actor` optional: a person's token fills
it in (and refuses another name), a service token must give it (csflow.api.auth).
"""

from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Response, status
from pydantic import BaseModel, create_model

from csflow.api import auth
from csflow.api.deps import Csflow, Pool
from csflow.commands import COMMANDS, CommandSpec
from csflow.contracts import Actor, Model, RequestIntake, RequestView
from csflow.domain.codes import Role
from csflow.store import personal
from csflow.store.personal import CustomerDetails, Reader
from csflow.store.tokens import TokenInfo

router = APIRouter(prefix="/requests", tags=["requests"])

_DENIED: dict[int | str, dict[str, Any]] = {401: {"description": "No valid API token"},
           403: {"description": "The token's role may not do this; the reason is given"}}


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
        **_DENIED,
    },
)
async def create_request(
    intake: RequestIntake, csflow: Csflow, response: Response,
    who: Annotated[TokenInfo, Depends(auth.require(auth.CREATORS, "creating a request"))],
) -> CreatedBody:
    if who.role is not Role.SERVICE or intake.recorded_by is not None:
        intake.recorded_by = auth.bind_actor(who, intake.recorded_by)
    created = await csflow.create(intake)
    if created.existing:
        response.status_code = status.HTTP_200_OK
    elif created.view is None:
        response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/requests/{created.number}"
    return CreatedBody(number=created.number, existing=created.existing, request=created.view)


@router.get("/{number}", response_model=RequestView,
            responses={404: {"description": "Unknown"}, **_DENIED},
            dependencies=[Depends(auth.require(auth.READERS, "reading a request"))])
async def get_request(number: str, csflow: Csflow) -> RequestView:
    return await csflow.state(number)


@router.get("/{number}/customer", response_model=CustomerDetails,
            responses={404: {"description": "Unknown"}, **_DENIED})
async def get_customer(
    number: str, pool: Pool,
    who: Annotated[TokenInfo, Depends(auth.require(auth.PERSONAL_READERS,
                                                   "reading a customer's details"))],
    purpose: Annotated[str | None, Query(max_length=200,
                                         description="Why; kept with the read")] = None,
) -> CustomerDetails:
    """The customer's name, contact and words; every call is logged with its reader."""
    reader = Reader(token_id=who.id, subject=who.subject, role=who.role.value,
                    purpose=purpose)
    found = await personal.read_customer(pool, number, reader)
    if found is None:
        raise HTTPException(404, f"no request {number}")
    return found


def body_model(spec: CommandSpec) -> type[Model]:
    """The command's model with `actor` optional: the API's view of the same contract."""
    model = create_model(
        f"{spec.model.__name__}Body", __base__=spec.model,
        __doc__=spec.model.__doc__ or spec.summary,
        actor=(Actor | None, None))
    return cast(type[Model], model)


def _command_route(spec: CommandSpec) -> None:
    model: Any = body_model(spec)
    gate = auth.require(auth.command_roles(spec.command), spec.command.value)

    async def run(
        number: str,
        csflow: Csflow,
        body: Annotated[model, Body()],
        who: Annotated[TokenInfo, Depends(gate)],
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> RequestView:
        actor = auth.bind_actor(who, body.actor)
        fields = {name: getattr(body, name) for name in spec.model.model_fields}
        command = spec.model(**{**fields, "actor": actor})
        return await csflow.send(number, spec.command, command,
                                 idempotency_key=idempotency_key)

    run.__name__ = f"{spec.command.value}_request"
    router.add_api_route(
        f"/{{number}}/{spec.path}",
        run,
        methods=["POST"],
        response_model=RequestView,
        summary=spec.summary,
        description=f"Workflow Update `{spec.update_name}`. {_who_may(spec)}",
        responses={
            404: {"description": "No request with this number"},
            409: {"description": "Illegal in the request's current state; the reason is given"},
            422: {"description": "Invalid body; the fields are named"},
            503: {"description": "Temporal unreachable; nothing was changed"},
            **_DENIED,
        },
    )


def _who_may(spec: CommandSpec) -> str:
    roles = sorted(r.value for r in auth.command_roles(spec.command))
    if not roles:
        return "Internal to csflow: no API token may send it."
    return f"Token roles: {', '.join(roles)}; the workflow then checks the actor's role."


for _spec in COMMANDS:
    _command_route(_spec)
