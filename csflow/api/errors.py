"""Domain errors → HTTP answers a caller can act on, through the one refusal table
(csflow.refusals): the same refusal is the same status here and the same exit code in the
CLI."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from csflow.api.admission import Saturated
from csflow.refusals import ANSWERS, Refusal, answer
from starter.client import RequestEnded, RequestNotFound, RequestRefused, TemporalUnavailable

_RETRY = {"Retry-After": "5"}

ECHO_CHARS = 40  # how much of a bad value a 422 repeats back


def _short(value: Any) -> Any:
    """A bad value as a 422 may echo it: scalars as they are, text cut to a short prefix
    and made encodable, containers as a cut-down JSON text.

    Pydantic puts the whole offending input in each error — for a missing field that is
    the whole body — so echoing it would return a 10 MB body as a 10 MB answer; and a lone
    surrogate in it cannot be encoded as UTF-8, which would turn the 422 into a 500. JSON
    has no Infinity/NaN either, though Python's parser accepts them in a body.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = type(value).__name__
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


def _errors(err: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in err.errors():
        item = {k: v for k, v in e.items() if k not in ("input", "ctx")}
        item["loc"] = [_short(p) for p in e.get("loc", ())]
        if "input" in e:
            item["input"] = _short(e["input"])
        ctx = e.get("ctx")
        if ctx:
            item["ctx"] = {
                k: _short(v) if isinstance(v, str | int | float | bool | None) else _short(str(v))
                for k, v in ctx.items()
            }
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _errors(err)})

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

    @app.exception_handler(Saturated)
    async def _saturated(_: Request, err: Saturated) -> JSONResponse:
        held = refusal(Refusal.SATURATED, err.reason)
        held.headers["Retry-After"] = str(err.retry_after)
        return held

    @app.exception_handler(OSError)
    async def _database_down(_: Request, err: OSError) -> JSONResponse:
        return refusal(
            Refusal.UNAVAILABLE, f"a backing service is unreachable ({err}); retry shortly"
        )


def refusal(kind: str | None, detail: str) -> JSONResponse:
    """The answer for a refusal of wire type `kind`: its status from the table, the type
    named in the body, and Retry-After when trying again later can succeed."""
    status = answer(kind).http
    content: dict[str, Any] = {"detail": detail}
    if kind is not None:
        content["type"] = kind
    return JSONResponse(
        status_code=status,
        content=content,
        headers=_RETRY if status == ANSWERS[Refusal.UNAVAILABLE].http else None,
    )
