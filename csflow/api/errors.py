"""Domain errors → HTTP answers a caller can act on."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from starter.client import RequestEnded, RequestNotFound, RequestRefused, TemporalUnavailable


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
        return JSONResponse(status_code=404, content={"detail": str(err)})

    @app.exception_handler(RequestEnded)
    async def _ended(_: Request, err: RequestEnded) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(err)})

    @app.exception_handler(RequestRefused)
    async def _refused(_: Request, err: RequestRefused) -> JSONResponse:
        status = {"IllegalTransition": 409, "Forbidden": 403, "Compliance": 422}.get(
            err.kind or "", 422)
        return JSONResponse(status_code=status, content={"detail": err.reason, "type": err.kind})

    @app.exception_handler(TemporalUnavailable)
    async def _unavailable(_: Request, err: TemporalUnavailable) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "5"},
            content={"detail": f"{err}; nothing was changed, retry shortly"},
        )

    @app.exception_handler(OSError)
    async def _database_down(_: Request, err: OSError) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "5"},
            content={"detail": f"a backing service is unreachable ({err}); retry shortly"},
        )
