"""Personal values sealed with the customer's data key, as they travel through Temporal.

Every Temporal payload is sealed with the master key ring (`codec.py`), but Temporal keeps
each payload until the namespace's retention ends, and the ring outlives any one customer.
So the personal fields inside a payload — the intake's name, phone, e-mail and
description, and the customer's own words in commands — travel sealed a second time, with
that customer's data key (`envelope.DataKey`). Erasure destroys the data key, and with it
every copy in every history, however long Temporal keeps it.

The wire form is one string, so it fits every contract field that holds text::

    sealed:c:<handle>:<base64>

- ``c:<handle>`` is the data key's id (`envelope.HANDLE_PREFIX` + the key's UUID handle,
  never the customer id);
- ``<base64>`` (standard alphabet, padded) is ``0x01 | nonce (12 bytes) | AES-256-GCM
  ciphertext and tag`` of the UTF-8 text, with the handle's text as associated data —
  exactly `DataKey.seal`, the construction the database uses at rest.

Whoever holds the master ring (the worker, the API, the codec server) finds the data key
by its handle in ``customer_keys``; once it is destroyed the value opens as "(erased)".
A text that is not in this form is plaintext and passes through as it is (histories
written before sealing, a raw `temporal workflow start`).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any, Protocol

from csflow.crypto.envelope import HANDLE_PREFIX, DataKey, Erased

PREFIX = "sealed:"
ERASED = "(erased)"
_HANDLE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
FORM = re.compile(rf"^sealed:{HANDLE_PREFIX}({_HANDLE}):([A-Za-z0-9+/]+={{0,2}})$")
_OVERHEAD = 1 + 12 + 16  # version byte, nonce, GCM tag


class KeysByHandle(Protocol):
    """What opens sealed values: `envelope.CustomerKeys` (or a cache of granted keys)."""

    async def by_handle(self, handle: str) -> DataKey: ...


def is_sealed(value: object) -> bool:
    """Whether `value` claims to be a sealed value (well-formed or not): it begins with
    ``sealed:c:``; any other text, "sealed: the box was torn" included, is plaintext."""
    return isinstance(value, str) and value.startswith(PREFIX + HANDLE_PREFIX)


def parse(value: str) -> tuple[str, bytes]:
    """(handle, sealed bytes) of a well-formed value; ValueError says what is wrong."""
    found = FORM.match(value)
    if found is None:
        raise ValueError(
            f"a sealed value is `sealed:{HANDLE_PREFIX}<uuid handle>:<base64>` "
            "(docs/contract.md, Personal fields)"
        )
    try:
        blob = base64.b64decode(found.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a sealed value's ciphertext is not valid base64") from None
    if len(blob) < _OVERHEAD or blob[:1] != b"\x01":
        raise ValueError("a sealed value's ciphertext is too short or of an unknown version")
    return found.group(1), blob


def max_length(plain_chars: int) -> int:
    """The longest sealed form of a text of at most `plain_chars` characters (UTF-8 takes
    at most 4 bytes a character), so a contract can bound sealed values it cannot open."""
    body = 4 * math.ceil((4 * plain_chars + _OVERHEAD) / 3)
    return len(PREFIX) + len(HANDLE_PREFIX) + 36 + 1 + body


def min_length(plain_chars: int) -> int:
    """The shortest sealed form of a text of at least `plain_chars` characters."""
    body = 4 * math.ceil((plain_chars + _OVERHEAD) / 3)
    return len(PREFIX) + len(HANDLE_PREFIX) + 36 + 1 + body


def seal_text(key: DataKey, text: str) -> str:
    """`text` sealed with the customer's key; a value already sealed is kept as it is."""
    if is_sealed(text):
        return text
    blob = key.seal(text.encode())
    return f"{PREFIX}{key.key_id}:{base64.b64encode(blob).decode('ascii')}"


def open_with_key(key: DataKey, value: str) -> str:
    handle, blob = parse(value)
    if handle != key.handle:
        raise ValueError(f"sealed with key {HANDLE_PREFIX}{handle}, not {key.key_id}")
    return key.open(blob).decode()


async def open_text(keys: KeysByHandle, value: str) -> str:
    """The plaintext of a sealed value, "(erased)" once the key is destroyed; a plaintext
    value as it is. A malformed or forged value raises ValueError."""
    if not is_sealed(value):
        return value
    handle, blob = parse(value)
    try:
        key = await keys.by_handle(handle)
    except Erased:
        return ERASED
    return key.open(blob).decode()


async def open_optional(keys: KeysByHandle, value: str | None) -> str | None:
    return None if value is None else await open_text(keys, value)


async def open_tree(keys: KeysByHandle, doc: Any, *, depth: int = 0) -> Any:
    """`doc` (decoded JSON) with every sealed string opened; what cannot be opened (a
    malformed value) is left as it is. For readers that show whole payloads: the codec
    server's /decode and the notification sender's template variables."""
    if depth > 32:
        return doc
    if isinstance(doc, str):
        if not is_sealed(doc):
            return doc
        try:
            return await open_text(keys, doc)
        except ValueError:
            return doc
    if isinstance(doc, list):
        return [await open_tree(keys, item, depth=depth + 1) for item in doc]
    if isinstance(doc, dict):
        return {k: await open_tree(keys, v, depth=depth + 1) for k, v in doc.items()}
    return doc


def contains_sealed(doc: Any, *, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if isinstance(doc, str):
        return is_sealed(doc)
    if isinstance(doc, list):
        return any(contains_sealed(i, depth=depth + 1) for i in doc)
    if isinstance(doc, dict):
        return any(contains_sealed(v, depth=depth + 1) for v in doc.values())
    return False
