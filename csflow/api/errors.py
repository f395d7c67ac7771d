"""Domain errors → HTTP answers a caller can act on, through the one refusal table
(csflow.refusals): the same refusal is the same status here and the same exit code in the
CLI."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from csflow.refusals import ANSWERS, Refusal, answer
from starter.client import RequestEnded, RequestNotFound, RequestRefused, TemporalUnavailable

_RETRY = {"Retry-After": "5"}


def _finite(value: Any) -> Any:
    """JSON has no Infinity/NaN, but Python's parser accepts them in a body, and the 422
    echoes the input back: spelled out as text, or the error answer itself would be a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422,
                            content={"detail": _finite(jsonable_encoder(err.errors()))})

    @app.exception_handler(RequestNotFound)
    async def _not_found(_: Request, err: RequestNotFound) -> JSONResponse:
        return refusal(Refusal.UNKNOWN, str(err))

    @app.exception_handler(RequestEnded)
    async def _ended(_: Request, err: RequestEnded) -> JSONResponse:
        return refusal(Refusal.ILLEGAL_STATE, str(err))

    @app.exception_handler(RequestRefused)
    async def _refused(_: Request, err: RequestRefused) -> JSONResponse:
        return refusal(err.kind, err.reason)

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(_: Request, err: TemporalUnavailable) -> JSONResponse:
        return refusal(Refusal.UNAVAILABLE, f"{err}; nothing was changed, retry shortly")

    @app.exception_handler(OSError)
    async def _database_down(_: Request, err: OSError) -> JSONResponse:
        return refusal(Refusal.UNAVAILABLE,
                       f"a backing service is unreachable ({err}); retry shortly")


def refusal(kind: str | None, detail: str) -> JSONResponse:
    """The answer for a refusal of wire type `kind`: its status from the table, the type
    named in the body, and Retry-After when trying again later can succeed."""
    status = answer(kind).http
    content: dict[str, Any] = {"detail": detail}
    if kind is not None:
        content["type"] = kind
    return JSONResponse(status_code=status, content=content,
                        headers=_RETRY if status == ANSWERS[Refusal.UNAVAILABLE].http else None)
