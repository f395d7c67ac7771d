"""The codec server: Temporal's remote-codec protocol for the UI and the `temporal` CLI.

``POST /decode`` and ``POST /encode`` take and return ``{"payloads": [...]}`` in
protobuf JSON. Decoding hands personal data to whoever asks, so it is gated exactly like
the API's reads of a customer's details: a csflow token (``Authorization: Bearer`` — what
``temporal --codec-auth`` sends — or the API's sign-in cookie, which a browser sends when
the UI is set to pass credentials) whose role may read personal data, and every decode
that opened a sealed payload is recorded (who, role, namespace, how many payloads, which
requests) in ``codec_reads``. The personal fields inside a decoded payload, sealed again
with the customer's data key, are opened for that reader too — "(erased)" once the key is
destroyed. Encoding needs any token that may start requests, so the CLI can start a
request with sealed input. ``POST /customer-keys/{id}`` hands a customer's data key to a
service or admin token (a client with no database that seals personal fields), recorded
in ``customer_key_grants``. Without this server the UI shows ciphertext.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload, Payloads

from csflow.api.auth import COOKIE, CREATORS, PERSONAL_READERS
from csflow.crypto import sealed as sealed_values
from csflow.crypto.codec import EncryptionCodec, is_sealed
from csflow.crypto.envelope import CACHE_SECONDS, CustomerKeys
from csflow.crypto.issue import AssertionAsk, NotYours, issue
from csflow.crypto.keyring import KeyRing, KeyRingError
from csflow.domain.codes import Role
from csflow.store import tokens
from csflow.store.tokens import TOKEN_ROLES, TokenInfo, TokenRefused

MAX_BODY = 4 * 1024 * 1024
# Who may see a customer's words and contacts in decoded payloads: exactly who may read
# them through the API (analysts get ciphertext); who may seal: who may create requests.
DECODERS = PERSONAL_READERS
ENCODERS = CREATORS
# Who may hold a customer's data key: backends that start requests without a database
# (service tokens) and admins; never a person's everyday token.
KEY_HOLDERS = frozenset({Role.SERVICE, Role.ADMIN})


def create_app(
    ring: KeyRing,
    ui_origins: list[str],
    *,
    pool: Any = None,
    dsn: str | None = None,
    actor_key: bytes | None = None,
) -> FastAPI:
    """The app, on a given pool (tests, an embedding process) or one it opens on `dsn`.

    With `actor_key` it also issues actor assertions (``POST /assertions``), so a caller
    outside Python needs only Temporal and this server.
    """
    codec = EncryptionCodec(ring)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if pool is not None:
            app.state.pool = pool
            yield
            return
        from csflow.store.pool import create_pool

        app.state.pool = await create_pool(dsn or "", max_size=4)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="csflow codec server",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=ui_origins,
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["content-type", "x-namespace", "authorization"],
    )

    async def caller(request: Request, roles: frozenset[Role], what: str) -> TokenInfo:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else request.cookies.get(COOKIE)
        if not token:
            raise HTTPException(
                401,
                "a csflow token is required (Authorization: Bearer "
                "csf_…, or sign in to the csflow API first)",
            )
        try:
            who = await tokens.verify(request.app.state.pool, token, datetime.now(UTC))
        except TokenRefused as err:
            raise HTTPException(401, str(err)) from None
        if who.role not in roles:
            raise HTTPException(
                403,
                f"{what} needs one of the roles "
                f"{', '.join(sorted(r.value for r in roles))}; this "
                f"token's role is {who.role.value}",
            )
        return who

    async def payloads_of(request: Request) -> list[Payload]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"at most {MAX_BODY} bytes of payloads per call")
        try:
            parsed = json_format.Parse(body, Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            raise HTTPException(400, 'expected {"payloads": [...]} in protobuf JSON') from None
        return list(parsed.payloads)

    def answer(payloads: list[Payload]) -> Response:
        return Response(
            json_format.MessageToJson(Payloads(payloads=payloads)), media_type="application/json"
        )

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        who = await caller(request, DECODERS, "decoding payloads")
        sealed = await payloads_of(request)
        try:
            opened = await codec.decode(sealed)
        except KeyRingError as err:
            raise HTTPException(422, str(err)) from None
        count = sum(1 for p in sealed if is_sealed(p))
        # Personal fields inside are sealed again with the customer's key: opened for
        # this reader, "(erased)" once the key is destroyed. Keys are looked up afresh for
        # each call (no cache), so an erasure shows at once.
        opened = await _open_personal(CustomerKeys(ring, request.app.state.pool), opened)
        if count:
            await request.app.state.pool.execute(
                """INSERT INTO codec_reads (token_id, subject, role, namespace, payloads,
                                            numbers)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                who.id,
                who.subject,
                who.role.value,
                request.headers.get("x-namespace", "")[:200],
                count,
                _numbers(opened),
            )
        return answer(opened)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        await caller(request, ENCODERS, "encoding payloads")
        return answer(await codec.encode(await payloads_of(request)))

    @app.post("/customer-keys/{customer_id}")
    async def customer_key(
        request: Request,
        customer_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")],
    ) -> JSONResponse:
        """The customer's data key, for a client with no database that seals personal
        fields before they enter Temporal; created on first use; every grant audited."""
        who = await caller(request, KEY_HOLDERS, "a customer's data key")
        pool = request.app.state.pool
        key = await CustomerKeys(ring, pool).for_customer(customer_id)
        await pool.execute(
            """INSERT INTO customer_key_grants (customer_id, handle, token_id, subject, role)
               VALUES ($1, $2, $3, $4, $5)""",
            customer_id,
            uuid.UUID(key.handle),
            who.id,
            who.subject,
            who.role.value,
        )
        return JSONResponse(
            {
                "customer_id": customer_id,
                "handle": key.handle,
                "key_id": key.key_id,
                "key": base64.b64encode(key.key).decode("ascii"),
                "cache_seconds": CACHE_SECONDS,
            },
            headers={"Cache-Control": "no-store"},
        )

    if actor_key is not None:
        key = actor_key

        @app.post("/assertions")
        async def assertions(request: Request) -> Response:
            who = await caller(request, frozenset(TOKEN_ROLES), "an actor assertion")
            try:
                ask = AssertionAsk.model_validate_json(await request.body())
                issued = issue(key, who, ask)
            except ValidationError as err:
                raise HTTPException(
                    422, err.errors(include_input=False, include_url=False)
                ) from None
            except NotYours as err:
                raise HTTPException(403, str(err)) from None
            if request.query_params.get("format") == "header":
                # What `temporal ... --headers` takes, for a shell without a JSON tool.
                return Response(f'{issued.header}="{issued.value}"', media_type="text/plain")
            return JSONResponse(issued.model_dump(mode="json"))

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        try:
            await asyncio.wait_for(request.app.state.pool.fetchval("SELECT 1"), 1)
        except Exception as err:  # a dependency report, whatever the driver raised
            return JSONResponse({"postgres": f"down: {type(err).__name__}"}, 503)
        return JSONResponse({"postgres": "up", "key": ring.current})

    return app


async def _open_personal(keys: CustomerKeys, payloads: list[Payload]) -> list[Payload]:
    out: list[Payload] = []
    for payload in payloads:
        if (
            payload.metadata.get("encoding") != b"json/plain"
            or b'"sealed:c:' not in payload.data
            or len(payload.data) > MAX_BODY
        ):
            out.append(payload)
            continue
        try:
            doc = json.loads(payload.data)
        except ValueError:
            out.append(payload)
            continue
        opened = await sealed_values.open_tree(keys, doc)
        out.append(
            Payload(
                metadata=dict(payload.metadata),
                data=json.dumps(opened, ensure_ascii=False, separators=(",", ":")).encode(),
            )
        )
    return out


def _numbers(payloads: list[Payload]) -> list[str]:
    """Which requests a decode showed: request numbers found in the decoded JSON, so the
    audit says whose data was read without storing any of it."""
    found: set[str] = set()
    for payload in payloads:
        if payload.metadata.get("encoding") != b"json/plain" or len(payload.data) > 1 << 20:
            continue
        try:
            doc = json.loads(payload.data)
        except ValueError:
            continue
        _collect(doc, found, depth=0)
    return sorted(found)[:100]


def _collect(doc: Any, found: set[str], depth: int) -> None:
    if depth > 4:
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("number", "request_number") and isinstance(value, str):
                found.add(value[:64])
            else:
                _collect(value, found, depth + 1)
    elif isinstance(doc, list):
        for item in doc[:50]:
            _collect(item, found, depth + 1)
