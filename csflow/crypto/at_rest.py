"""A customer's personal data as stored in PostgreSQL: sealed with that customer's data key.

What is sealed (docs/security.md, "At rest in PostgreSQL"): the request's name, contact
and description; every text in the customer's own words in the timeline (follow-up
praise, suggestion and problem; the customer's replies, confirmations, rejections and
cancellations; the description of a need opened from a follow-up; the problem an
improvement task was opened for); the problem text of improvement tasks; and every message
kept in the outbox. Codes, numbers, times and the customer id stay in the clear, so
reports, the board and listings work without any key — and stay identical after erasure.

A sealed value is self-describing: the 16 bytes of the data key's handle, then
`DataKey.seal`. Whoever holds the ring can open it without knowing whose it is; once the
customer's key is destroyed, nobody can.

Every store function reaches the keys through `keys(pool)`, one `CustomerKeys` per pool,
with the ring loaded once per process from ``CSFLOW_KEYRING`` or the key ring file — the
same ring the payload codec uses. Sealing at rest does not follow ``CSFLOW_ENCRYPTION``:
personal data is never written in the clear.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from csflow.crypto import keyring, sealed
from csflow.crypto.envelope import CustomerKeys, DataKey, Erased, blind_index

ERASED = "(erased)"
# Words the customer wrote, as event data keys.
WORD_KEYS = ("praise", "suggestion", "problem")
# Events whose `reason` is the customer's own words whoever recorded them.
WORD_REASONS = frozenset(
    {
        "customer_replied",
        "clocks_resumed",
        "customer_confirmed",
        "rehandling_started",
        "linked_request_opened",
        "improvement_opened",
    }
)

# By id(pool): asyncpg pools take no weak references. Closed pools are dropped as we go.
_registry: dict[int, CustomerKeys] = {}
_ring: keyring.KeyRing | None = None


def ring() -> keyring.KeyRing:
    """The process's key ring (loaded on first use)."""
    global _ring
    if _ring is None:
        from csflow.settings import Settings

        _ring = keyring.load(Settings().keyring_path())
    return _ring


def keys(pool: Any) -> CustomerKeys:
    """The data keys reached through `pool`, one cache per pool."""
    found = _registry.get(id(pool))
    if found is None or found.pool is not pool:
        for name, held in list(_registry.items()):
            closing = getattr(held.pool, "is_closing", None)
            if closing is not None and closing():
                del _registry[name]
        found = CustomerKeys(ring(), pool)
        _registry[id(pool)] = found
    return found


def seal(key: DataKey, value: Any) -> bytes:
    """`value` (any JSON) sealed with the customer's key, prefixed with the key's handle."""
    blob = key.seal(json.dumps(value, ensure_ascii=False, default=str).encode())
    return uuid.UUID(key.handle).bytes + blob


async def open_sealed(pool: Any, blob: bytes | None) -> Any:
    """The value `seal` wrote; raises `Erased` when the customer's key was destroyed."""
    if blob is None:
        return None
    raw = bytes(blob)
    handle = str(uuid.UUID(bytes=raw[:16]))
    key = await keys(pool).by_handle(handle)
    return json.loads(key.open(raw[16:]))


async def open_or_erased(pool: Any, blob: bytes | None) -> tuple[Any, bool]:
    """(value, False), or (None, True) when the key is gone."""
    try:
        return await open_sealed(pool, blob), False
    except Erased:
        return None, True


UNREADABLE = "(unreadable)"


async def opened(pool: Any, value: Any) -> Any:
    """A personal value as it came through Temporal, opened for storing or using: sealed
    with the customer's key (`csflow.crypto.sealed`) → the plaintext, "(erased)" once the
    key is destroyed, "(unreadable)" for a malformed or forged value (a worker never
    retries forever on one); anything else as it is (histories from before sealing)."""
    if not sealed.is_sealed(value):
        return value
    try:
        return await sealed.open_text(keys(pool), value)
    except ValueError:
        return UNREADABLE


def contact_index(kind: str, value: str | None) -> bytes | None:
    """The blind index of a phone number or e-mail address (None for none)."""
    return None if not value else blind_index(ring(), kind, value)


def event_words(
    kind: str, role: str, reason: str | None, data: dict[str, Any]
) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """Split an event into (reason to store, data to store, the customer's words to seal).

    The customer's words leave the clear columns; `data["sealed"]` names what was taken,
    so a reader of the timeline knows there is something to read through the audited
    personal-data route.
    """
    words: dict[str, Any] = {}
    if reason is not None and (role == "customer" or kind in WORD_REASONS):
        words["reason"] = reason
        reason = None
    kept = dict(data)
    for k in WORD_KEYS:
        if kept.get(k) is not None:
            words[k] = kept.pop(k)
    if words:
        kept["sealed"] = sorted(words)
    return reason, kept, words


async def seal_customer(
    pool: Any, customer_id: str, name: str, contact: dict[str, Any], description: str
) -> tuple[bytes, bytes | None, bytes | None]:
    """(sealed name/contact/description, phone index, e-mail index) for a request row.

    Values that came through Temporal sealed with the customer's key are opened first: the
    blind index needs the plaintext, and the row keeps one envelope for all three."""
    name, description = await opened(pool, name), await opened(pool, description)
    contact = {k: await opened(pool, v) for k, v in contact.items()}
    key = await keys(pool).for_customer(customer_id)
    person = seal(key, {"name": name, "contact": contact, "description": description})
    return (
        person,
        contact_index("phone", contact.get("phone")),
        contact_index("email", contact.get("email")),
    )


async def seal_timeline(
    pool: Any, customer_id: str, events: list[Any]
) -> tuple[list[str | None], list[dict[str, Any]], list[bytes | None]]:
    """Each event's (reason, data, sealed words) as stored: the customer's words sealed."""
    reasons: list[str | None] = []
    datas: list[dict[str, Any]] = []
    out: list[bytes | None] = []
    key: DataKey | None = None
    for e in events:
        reason, data, words = event_words(
            str(e.kind), str(e.actor.role.value), e.reason, dict(e.data)
        )
        words = {k: await opened(pool, v) for k, v in words.items()}
        if words and key is None:
            key = await keys(pool).for_customer(customer_id)
        reasons.append(reason)
        datas.append(data)
        out.append(seal(key, words) if words and key is not None else None)
    return reasons, datas, out


async def seal_words(pool: Any, customer_id: str, words: dict[str, Any]) -> bytes:
    """The customer's words (e.g. `{"reason": …}` or follow-up praise/problem) sealed with
    their key, as `seal_timeline` seals them: values that came through Temporal sealed are
    opened first, so one envelope holds the plaintext. Used to seal rows kept in the
    clear before migration 0016 (`csflow customer seal-existing`)."""
    opened_words = {k: await opened(pool, v) for k, v in words.items()}
    return seal(await keys(pool).for_customer(customer_id), opened_words)
