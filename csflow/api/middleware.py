"""The API's outer edge: what no route should ever see.

One ASGI middleware, before routing, refuses
- a path over `MAX_PATH_CHARS` or a query string over `MAX_QUERY_BYTES` with 414;
- a body over `MAX_BODY_BYTES` with 413, without reading past the limit, so a 10 MB body
  costs the server 1 MiB at most and never comes back as a 10 MB 422;
- text PostgreSQL cannot store — NUL (U+0000) or a lone UTF-16 surrogate — in the path,
  the query string, a header, or a JSON or form body, with 422 naming where it was.

Routes validate the rest (types, lengths, bounds) with their pydantic models; doing this
part here means no route, present or future, can hand such text to asyncpg, whose error
would otherwise be a 500. The 422 has FastAPI's usual shape (`detail` as a list of
`{type, loc, msg}`) and never echoes the bad value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csflow.contracts import unstorable

MAX_BODY_BYTES = 1024 * 1024
# The customer questionnaire answers a browser with its own page, and drops control
# characters from what a customer typed rather than refusing the answer: its form bodies
# are left to it (csflow/api/routes/survey.py). Its path and query are still checked.
OWN_FORM_HANDLING = ("/survey/",)
# Longer request lines are no route's business; capping them also caps what a 404 that
# names the missing id (`no staff member …`) can echo back.
MAX_PATH_CHARS = 1024
MAX_QUERY_BYTES = 8 * 1024

Loc = tuple[str | int, ...]


class BodyTooLarge(Exception):
    pass


class EdgeGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (
            len(scope.get("path", "")) > MAX_PATH_CHARS
            or len(scope.get("query_string", b"")) > MAX_QUERY_BYTES
        ):
            await _answer(
                send,
                414,
                {
                    "detail": f"the path is over {MAX_PATH_CHARS} "
                    f"characters or the query over "
                    f"{MAX_QUERY_BYTES} bytes"
                },
            )
            return
        problem = _in_request_line(scope)
        if problem:
            await _answer(send, 422, _detail(*problem))
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _answer(send, 413, self._too_large())
            return
        try:
            body = await _read(receive, self.max_body_bytes)
        except BodyTooLarge:
            await _answer(send, 413, self._too_large())
            return
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind == b"application/x-www-form-urlencoded" and scope.get("path", "").startswith(
            OWN_FORM_HANDLING
        ):
            kind = b""
        problem = _in_body(body, kind)
        if problem:
            await _answer(send, 422, _detail(*problem))
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> dict[str, Any]:
        return {
            "detail": f"the body is larger than {self.max_body_bytes} bytes; "
            "nothing was read or changed"
        }


def _in_request_line(scope: Scope) -> tuple[Loc, str] | None:
    path = scope.get("path", "")
    problem = unstorable(path)
    if problem:
        return ("path",), problem
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        problem = unstorable(name) or unstorable(value)
        if problem:
            return ("query", _printable(name)), problem
    for raw_name, raw_value in scope.get("headers") or []:
        if b"\x00" in raw_name or b"\x00" in raw_value:
            return ("header", _printable(raw_name.decode("latin-1"))), unstorable("\x00") or ""
    return None


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app sees an empty body and answers no one
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as Starlette does

    return replay


def _in_body(body: bytes, kind: bytes) -> tuple[Loc, str] | None:
    if not body:
        return None
    if kind == b"application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            problem = unstorable(name) or unstorable(value)
            if problem:
                return ("body", _printable(name)), problem
        return None
    if kind != b"application/json" and not kind.endswith(b"+json"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None  # not JSON: the route's own parsing answers 422 for it
    for loc, text in _texts(data, ("body",)):
        problem = unstorable(text)
        if problem:
            return loc, problem
    return None


def _texts(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _texts(item, (*loc, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            where = (*loc, _printable(key))
            yield where, key
            yield from _texts(item, where)


def _printable(text: str, limit: int = 40) -> str:
    """A name fit to echo: no NUL, no surrogate, no longer than `limit`."""
    clean = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return clean if len(clean) <= limit else clean[:limit] + "…"


def _detail(loc: Loc, msg: str) -> dict[str, Any]:
    return {"detail": [{"type": "unstorable_text", "loc": list(loc), "msg": msg}]}


async def _answer(send: Send, status: int, content: dict[str, Any]) -> None:
    body = json.dumps(content, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
