"""Domain errors → HTTP answers a caller can act on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from starter.client import RequestEnded, RequestNotFound, RequestRefused, TemporalUnavailable


def install(app: FastAPI) -> None:
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
