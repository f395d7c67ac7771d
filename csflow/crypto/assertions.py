"""Signed actor assertions: who sends a command, vouched for by whoever authenticated them.

A command's actor (``{"id", "role"}``) is data anyone can type, so on its own it proves
nothing — ``temporal workflow update execute`` with ``{"role": "supervisor"}`` reaches the
workflow as easily as the API does. The API and the CLI authenticate the caller first and
then sign a short statement: this actor, with this role, may send this Update to this
request until this instant. The workflow verifies that statement before any role check,
so authority holds at the Temporal port too.

Format: ``<base64url(json claims)>.<base64url(HMAC-SHA256(key, json claims))>`` — HMAC
from the standard library, because signer and verifier are csflow's own processes sharing
one secret (CSFLOW_ACTOR_KEY or the data dir's ``actor-key``); no third party verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from csflow import secret_file

ENV_KEY = "CSFLOW_ACTOR_KEY"
LIFETIME_S = 300
_MAX_TOKEN = 2048


class AssertionRefused(ValueError):
    """The assertion is missing, forged, expired, or for another actor, request or
    command; the message says which."""


@dataclass(frozen=True)
class Claims:
    actor: str
    role: str
    workflow_id: str  # the request number (or improvement task id); "*" for any
    update: str  # the Update name; "*" for any
    expires: int  # unix seconds

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "a": self.actor,
                "r": self.role,
                "w": self.workflow_id,
                "u": self.update,
                "e": self.expires,
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claims: Claims) -> str:
    body = claims.to_json()
    return f"{_b64(body)}.{_b64(hmac.new(key, body, hashlib.sha256).digest())}"


def verify(
    key: bytes,
    token: str | None,
    *,
    actor: str,
    role: str,
    workflow_id: str,
    update: str,
    now: float,
) -> Claims:
    """The claims, if `token` vouches for exactly this actor, request and command now."""
    if not token:
        raise AssertionRefused(
            "the command carries no signed actor assertion: send it through the csflow "
            "API or CLI, or get an assertion from POST /assertions (docs/contract.md)"
        )
    if len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise AssertionRefused("the actor assertion is malformed")
    body_part, mac_part = token.split(".")
    try:
        body, mac = _unb64(body_part), _unb64(mac_part)
    except ValueError:
        raise AssertionRefused("the actor assertion is malformed") from None
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        raise AssertionRefused(
            "the actor assertion's signature does not verify (forged, or signed with another key)"
        )
    try:
        doc = json.loads(body)
        claims = Claims(
            actor=str(doc["a"]),
            role=str(doc["r"]),
            workflow_id=str(doc["w"]),
            update=str(doc["u"]),
            expires=int(doc["e"]),
        )
    except (ValueError, KeyError, TypeError):
        raise AssertionRefused("the actor assertion is malformed") from None
    if (claims.actor, claims.role) != (actor, role):
        raise AssertionRefused(
            f"the assertion vouches for {claims.actor} ({claims.role}), "
            f"not for the named actor {actor} ({role})"
        )
    if claims.workflow_id not in ("*", workflow_id):
        raise AssertionRefused(f"the assertion is for {claims.workflow_id}, not {workflow_id}")
    if claims.update not in ("*", update):
        raise AssertionRefused(f"the assertion is for {claims.update}, not {update}")
    if claims.expires <= now:
        raise AssertionRefused("the actor assertion has expired; ask for a new one")
    return claims


def load_key(data_dir: Path) -> bytes:
    """CSFLOW_ACTOR_KEY (base64), else the data dir's ``actor-key``, created on first use
    with mode 0600 (an embedded stack's API, CLI and worker share the folder;
    csflow/secret_file.py)."""
    inline = os.environ.get(ENV_KEY)
    if inline:
        key = base64.b64decode(inline)
        if len(key) < 32:
            raise ValueError(f"{ENV_KEY} must hold at least 32 bytes, base64-encoded")
        return key
    stored = secret_file.shared(
        data_dir / "actor-key",
        lambda: base64.b64encode(secrets.token_bytes(32)),
        env_var=ENV_KEY,
        doc="docs/security.md",
    )
    return base64.b64decode(stored)
