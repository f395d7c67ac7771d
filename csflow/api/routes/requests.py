"""/requests: create, read, and one POST per lifecycle command (from csflow.commands).

No `from __future__ import annotations` here: the command routes are built in a loop and
FastAPI must see each body's real model class, which lazy annotations would hide.

Each command's body is its workflow model with `actor` optional: a person's token fills
it in (and refuses another name), a service token must give it (csflow.api.auth).
"""

import asyncio
import hashlib
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, cast

import asyncpg
from fastapi import (
    APIRouter,
    Body,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, create_model
from temporalio.client import Client
from temporalio.service import RPCError

from csflow.api import admission, auth
from csflow.api.deps import Csflow, Pool
from csflow.commands import COMMANDS, CommandSpec
from csflow.contracts import (
    Actor,
    Model,
    ReceiptQuery,
    RequestIntake,
    RequestView,
    read_update_result,
    window_problems,
)
from csflow.domain.codes import Role
from csflow.domain.taxonomy import Taxonomy
from csflow.store import personal
from csflow.store.personal import CustomerDetails, Reader
from csflow.store.tokens import TokenInfo
from starter.client import TemporalUnavailable

T = TypeVar("T")


def only_query(*allowed: str) -> Any:
    """A dependency refusing (422) any query parameter but `allowed`, and any given twice.

    FastAPI ignores unknown parameters and keeps the last of repeated ones; for these
    routes, which change things or log a read, a typo or a smuggled value must be an
    error, never silently dropped.
    """

    def check(request: Request) -> None:
        names = [name for name, _ in request.query_params.multi_items()]
        bad = [n for n in names if n not in allowed or names.count(n) > 1]
        if bad:
            raise RequestValidationError(
                [
                    {
                        "type": "extra_forbidden" if n not in allowed else "repeated",
                        "loc": ["query", n[:40]],
                        "msg": "unknown query parameter" if n not in allowed else "given twice",
                    }
                    for n in dict.fromkeys(bad)
                ]
            )

    return Depends(check)


router = APIRouter(prefix="/requests", tags=["requests"], dependencies=[only_query()])
# The personal-data read takes one parameter, `purpose`; its own router, same prefix.
customer_router = APIRouter(prefix="/requests", tags=["requests"])

_DENIED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API token"},
    403: {"description": "The token's role may not do this; the reason is given"},
}


class CreatedBody(BaseModel):
    number: str
    existing: bool
    request: RequestView | None


RECEIPT_WAIT = 10.0  # seconds a POST waits for intake to be written before answering 202
START_WAIT = 10.0  # seconds it waits for the start itself before answering 503
Number = Annotated[
    str,
    Path(
        pattern=r"^CS[0-9]{8}-[A-Z]{3}-[0-9]{4,12}$",
        max_length=32,
        description="The request number, e.g. CS20261123-WEB-0001; a malformed one is a 422.",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="The same key twice (same token subject) acts once: a retried POST "
        "returns the request the first one created.",
    ),
]


def refuse_out_of_window(model: BaseModel, *, loc: tuple[str, ...] = ("body",)) -> None:
    """422, in FastAPI's shape, when a timestamp breaks a bound relative to now
    (csflow.contracts.bounds): checked here, at the edge, because a workflow replaying
    later must not judge the same value against another day's clock."""
    problems = window_problems(model, datetime.now(UTC))
    if problems:
        raise RequestValidationError(
            [
                {"type": "out_of_window", "loc": [*loc, name], "msg": reason}
                for name, reason in problems
            ]
        )


def _canonical_sub_type(intake: RequestIntake, taxonomy: Taxonomy) -> RequestIntake:
    """The policy's `[taxonomy]` at the edge: a sub-type it does not name (or a missing
    one it requires) is refused with the allowed names before anything is numbered, and
    the configured spelling is what gets stored, so reports group cleanly."""
    problem = taxonomy.problem(intake.category, intake.sub_type)
    if problem is not None:
        raise RequestValidationError(
            [{"type": "taxonomy", "loc": ["body", "sub_type"], "msg": problem}]
        )
    name = taxonomy.canonical(intake.category, intake.sub_type)
    return intake if name == intake.sub_type else intake.model_copy(update={"sub_type": name})


def key_for(who: TokenInfo, idempotency_key: str) -> str:
    """The external id an Idempotency-Key stands for: scoped to the token's subject (two
    services may pick the same key), hashed to fit an external id and hide the key."""
    digest = hashlib.sha256(f"{who.subject}\n{idempotency_key}".encode()).hexdigest()
    return f"idempotency:{digest[:40]}"


async def _within(call: Coroutine[Any, Any, T], seconds: float) -> T:
    """`call`'s result, or TimeoutError after `seconds` — without waiting for the call to
    wind down (cancelling a query on a frozen PostgreSQL can itself hang)."""
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        raise TimeoutError
    return task.result()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedBody,
    responses={
        200: {
            "description": "The external id or Idempotency-Key was seen before: the same request"
        },
        202: {
            "description": "Started, but intake was not written in time (worker or "
            "PostgreSQL slow or down): `number` and `Location` name it; "
            "poll GET"
        },
        413: {"description": "The body is larger than 1 MiB"},
        422: {"description": "Invalid intake; the fields are named"},
        429: {
            "description": "Intake held back (admission control): the worker is behind or "
            "the configured rate is reached; nothing was started — retry after `Retry-After`",
            "headers": {
                "Retry-After": {
                    "description": "Seconds after which a retry can succeed",
                    "schema": {"type": "integer"},
                }
            },
        },
        503: {"description": "Temporal or PostgreSQL unreachable; nothing was started"},
        **_DENIED,
    },
)
async def create_request(
    intake: RequestIntake,
    csflow: Csflow,
    response: Response,
    request: Request,
    who: Annotated[TokenInfo, Depends(auth.require(auth.CREATORS, "creating a request"))],
    idempotency_key: IdempotencyKey = None,
) -> CreatedBody:
    """Never a 500 once the request is started: 201 with the view, 202 with the number
    while intake is still being written, 200 for a repeat. A retry is safe with an
    `external_id` in the body or an `Idempotency-Key` header."""
    refuse_out_of_window(intake)
    intake = _canonical_sub_type(intake, request.app.state.policy.taxonomy)
    if who.role is not Role.SERVICE or intake.recorded_by is not None:
        intake.recorded_by = auth.bind_actor(who, intake.recorded_by)
    if idempotency_key is not None and intake.external_id is None:
        intake.external_id = key_for(who, idempotency_key)
    await admission.admit_or_429(request.app)
    try:
        created = await _within(
            csflow.create(intake, wait=False), getattr(request.app.state, "start_wait", START_WAIT)
        )
    except (TimeoutError, asyncpg.PostgresError, RPCError) as err:
        # Numbering or the start failed: a retry with the same external id (or
        # Idempotency-Key) finds what, if anything, was started — never a 500.
        raise TemporalUnavailable(
            "the request could not be started in time"
            if isinstance(err, TimeoutError)
            else f"the start failed ({type(err).__name__}); retry with the same key"
        ) from err
    view = await _receipt(
        request.app.state.temporal,
        created.number,
        getattr(request.app.state, "receipt_wait", RECEIPT_WAIT),
    )
    if created.existing:
        response.status_code = status.HTTP_200_OK
    elif view is None:
        response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/requests/{created.number}"
    return CreatedBody(number=created.number, existing=created.existing, request=view)


async def _receipt(temporal: Client, number: str, seconds: float) -> RequestView | None:
    """The view once intake is written, or None when it is not within `seconds`.

    The request is started by now, so nothing that goes wrong here may become an error
    answer: a slow or dead worker, a frozen PostgreSQL or a lost connection all mean
    "accepted, look it up later" (202).
    """
    handle = temporal.get_workflow_handle(number)

    async def view() -> RequestView:
        # A receipt since patch `receipts-and-row-changes`: the view is the query's, as before.
        answer = await handle.execute_update("receipt", ReceiptQuery(), result_type=dict)
        result = read_update_result(answer)
        if isinstance(result, RequestView):
            return result
        view: RequestView = await handle.query("get_state", result_type=RequestView)
        return view

    try:
        return await _within(view(), seconds)
    except Exception:  # started is started: every failure from here on is a 202
        return None


@router.get(
    "/{number}",
    response_model=RequestView,
    responses={404: {"description": "Unknown"}, **_DENIED},
    dependencies=[Depends(auth.require(auth.READERS, "reading a request"))],
)
async def get_request(number: Number, csflow: Csflow) -> RequestView:
    return await csflow.state(number)


@customer_router.get(
    "/{number}/customer",
    response_model=CustomerDetails,
    responses={404: {"description": "Unknown"}, **_DENIED},
    dependencies=[only_query("purpose")],
)
async def get_customer(
    number: Number,
    pool: Pool,
    who: Annotated[
        TokenInfo, Depends(auth.require(auth.PERSONAL_READERS, "reading a customer's details"))
    ],
    purpose: Annotated[
        str | None, Query(max_length=200, description="Why; kept with the read")
    ] = None,
) -> CustomerDetails:
    """The customer's name, contact and words; every call is logged with its reader."""
    reader = Reader(token_id=who.id, subject=who.subject, role=who.role.value, purpose=purpose)
    found = await personal.read_customer(pool, number, reader)
    if found is None:
        raise HTTPException(404, f"no request {number}")
    return found


def body_model(spec: CommandSpec) -> type[Model]:
    """The command's model with `actor` optional: the API's view of the same contract."""
    model = create_model(
        f"{spec.model.__name__}Body",
        __base__=spec.model,
        __doc__=spec.model.__doc__ or spec.summary,
        actor=(Actor | None, None),
    )
    return cast(type[Model], model)


def _command_route(spec: CommandSpec) -> None:
    model: Any = body_model(spec)
    gate = auth.require(auth.command_roles(spec.command), spec.command.value)

    async def run(
        number: Number,
        csflow: Csflow,
        body: Annotated[model, Body()],
        who: Annotated[TokenInfo, Depends(gate)],
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> RequestView:
        refuse_out_of_window(body)
        actor = auth.bind_actor(who, body.actor)
        fields = {name: getattr(body, name) for name in spec.model.model_fields}
        command = spec.model(**{**fields, "actor": actor})
        return await csflow.send(number, spec.command, command, idempotency_key=idempotency_key)

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
