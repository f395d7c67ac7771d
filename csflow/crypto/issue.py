"""Issuing actor assertions to callers that authenticated with a csflow token.

Services in other languages, and anyone at the `temporal` CLI, cannot sign: they ask the
API (or the codec server) with their token, and get an assertion for one Update on one
request, valid for a few minutes, to send in the ``csflow-actor`` header. Who they may
be vouched for as follows the API's own rule: a person's token only as that person, a
service's token as the actor it relays — never as csflow's own ``system``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from csflow.contracts import Actor
from csflow.crypto import assertions
from csflow.crypto.interceptors import HEADER
from csflow.domain.codes import Role
from csflow.store.tokens import TokenInfo

_ID = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9*][A-Za-z0-9_.:-]*$")]


class AssertionAsk(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    """Which Update on which request; ``"*"`` for any (then it still expires in minutes)."""

    workflow_id: _ID = Field(description="The request number (or improvement task id).")
    update: _ID = Field(description="The Update name, e.g. decide_compensation.")
    actor: Actor | None = Field(
        default=None,
        description="Only for a service token: the "
        "actor it relays. A person's token is always that person.",
    )


class IssuedAssertion(BaseModel):
    header: str = HEADER
    value: str
    actor: Actor
    expires_at: datetime
    cli: str = Field(description="The flag for `temporal workflow update execute`.")


class NotYours(Exception):
    """The token may not be vouched for as the actor asked for."""


def actor_for(who: TokenInfo, asked: Actor | None) -> Actor:
    """Who a token may act as — the one rule, used by every API route and by assertions."""
    if who.role is Role.SERVICE:
        if asked is None:
            raise NotYours("a service token must name the actor it relays")
        if asked.role is Role.SYSTEM:
            raise NotYours("the system role is csflow's own; a service cannot act as it")
        return asked
    own = Actor(id=who.subject, role=who.role)
    if asked is not None and (asked.id, asked.role) != (own.id, own.role):
        raise NotYours(
            f"this token acts as {own.id} ({own.role.value}); it cannot act as "
            f"{asked.id} ({asked.role.value})"
        )
    return own


def issue(key: bytes, who: TokenInfo, ask: AssertionAsk) -> IssuedAssertion:
    actor = actor_for(who, ask.actor)
    expires = int(time.time()) + assertions.LIFETIME_S
    value = assertions.sign(
        key,
        assertions.Claims(
            actor=actor.id,
            role=actor.role.value,
            workflow_id=ask.workflow_id,
            update=ask.update,
            expires=expires,
        ),
    )
    return IssuedAssertion(
        value=value,
        actor=actor,
        expires_at=datetime.fromtimestamp(expires, UTC),
        cli=f"--headers '{HEADER}=\"{value}\"'",
    )
