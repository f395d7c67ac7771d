"""API tokens: issued once, stored hashed, checked on every API call.

A token reads `csf_<id>_<secret>`: the id finds the row without a scan, the secret is
compared by hash in constant time. The plain token exists only in the issuer's output.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from csflow.domain.codes import Role

PREFIX = "csf_"
# People and services hold tokens; `customer` and `system` never do (the survey link and
# the worker speak for those).
TOKEN_ROLES = frozenset(
    {
        Role.AGENT,
        Role.ENGINEER,
        Role.SUPERVISOR,
        Role.FOLLOW_UP,
        Role.ANALYST,
        Role.ADMIN,
        Role.SERVICE,
    }
)
# Seen-at is refreshed at most this often, so reads do not turn into writes on every call.
_TOUCH_EVERY = timedelta(minutes=1)


class TokenInfo(BaseModel):
    id: str
    name: str
    role: Role
    subject: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenRefused(Exception):
    """The token is malformed, unknown, revoked or expired; the message says which."""


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split(token: str) -> tuple[str, str]:
    if not token.startswith(PREFIX):
        raise TokenRefused("not a csflow token (expected csf_…)")
    token_id, sep, secret = token.removeprefix(PREFIX).partition("_")
    if not sep or not token_id or not secret:
        raise TokenRefused("malformed token")
    return token_id, secret


async def issue(
    pool: Any, *, name: str, role: Role, subject: str, expires_at: datetime | None = None
) -> tuple[str, TokenInfo]:
    """Create a token; returns the plain token (shown once) and its stored record."""
    if role not in TOKEN_ROLES:
        allowed = ", ".join(sorted(r.value for r in TOKEN_ROLES))
        raise ValueError(f"tokens are issued for the roles {allowed}; not {role.value}")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")  # "_" separates id and secret
    row = await pool.fetchrow(
        """INSERT INTO api_tokens (id, name, role, subject, secret_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        token_id,
        name,
        role.value,
        subject,
        _hash(secret),
        expires_at,
    )
    return f"{PREFIX}{token_id}_{secret}", _info(row)


async def verify(pool: Any, token: str, now: datetime) -> TokenInfo:
    token_id, secret = split(token)
    row = await pool.fetchrow("SELECT * FROM api_tokens WHERE id = $1", token_id)
    # Compare even when the row is missing, so timing does not tell which ids exist.
    expected = row["secret_hash"] if row is not None else _hash(secrets.token_hex(8))
    if not hmac.compare_digest(bytes(expected), _hash(secret)) or row is None:
        raise TokenRefused("unknown token")
    if row["revoked_at"] is not None:
        raise TokenRefused(f"token {token_id} was revoked")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise TokenRefused(f"token {token_id} expired at {row['expires_at'].isoformat()}")
    last = row["last_used_at"]
    if last is None or now - last >= _TOUCH_EVERY:
        await pool.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", token_id, now)
    return _info(row)


async def revoke(pool: Any, token_id: str, now: datetime) -> bool:
    """Revoke; False when no such token. Revoking twice keeps the first time."""
    status: str = await pool.execute(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1", token_id, now
    )
    return status.endswith(" 1")


async def list_tokens(pool: Any) -> list[TokenInfo]:
    rows = await pool.fetch("SELECT * FROM api_tokens ORDER BY created_at, id")
    return [_info(r) for r in rows]


def _info(row: Any) -> TokenInfo:
    return TokenInfo(**{k: row[k] for k in TokenInfo.model_fields})
