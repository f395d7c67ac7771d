"""The master key ring: named AES-256 keys, one of them current.

Payloads are sealed with the current key and carry its id, so rotating the ring (a new
current key) never strands an old history: every key that ever sealed a payload stays in
the ring until the histories it sealed are past Temporal's retention.

The ring is a small JSON document,
``{"current": "<id>", "keys": {"<id>": "<base64>"}, "index": "<base64>"}``, read from
``CSFLOW_KEYRING`` (the document itself, as a secret manager or a KMS-decrypting init
step injects it) or from the file named by ``CSFLOW_KEYRING_FILE``. Nothing is
hand-rolled: keys are 32 random bytes from the OS, ciphers come from ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEY_BYTES = 32  # AES-256
ENV_RING = "CSFLOW_KEYRING"
ENV_FILE = "CSFLOW_KEYRING_FILE"
_MAX_ID = 64


class KeyRingError(ValueError):
    """The key ring is missing, malformed, or lacks a key a payload names."""


@dataclass(frozen=True)
class KeyRing:
    current: str
    keys: dict[str, bytes] = field(repr=False)
    # Keys the blind index (lookups by phone or e-mail without decrypting). It never
    # rotates with the ring — a rotation would orphan every stored index — so a ring
    # without one derives it from its oldest key, which is never removed.
    index: bytes | None = field(default=None, repr=False)

    @property
    def index_key(self) -> bytes:
        if self.index is not None:
            return self.index
        oldest = self.keys[min(self.keys)]
        return hmac.new(oldest, b"csflow blind index v1", hashlib.sha256).digest()

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyRingError(f"the current key {self.current!r} is not in the ring")
        for key_id, key in self.keys.items():
            if not key_id or len(key_id) > _MAX_ID or not key_id.isascii():
                raise KeyRingError(f"key id {key_id!r}: 1–{_MAX_ID} ASCII characters")
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"key {key_id!r} has {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                )

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyRingError(
                f"payload sealed with key {key_id!r}, which is not in the "
                f"key ring (ids: {', '.join(sorted(self.keys))})"
            ) from None

    def rotated(self, now: datetime | None = None) -> KeyRing:
        """A ring with a new current key; every old key kept for old histories."""
        key_id = new_key_id(now)
        while key_id in self.keys:  # two rotations in one second
            key_id = new_key_id(now)
        return KeyRing(
            current=key_id,
            keys={**self.keys, key_id: secrets.token_bytes(KEY_BYTES)},
            index=self.index,
        )

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "current": self.current,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        if self.index is not None:
            doc["index"] = base64.b64encode(self.index).decode()
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "key ring") -> KeyRing:
        try:
            doc: Any = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
            index = base64.b64decode(doc["index"], validate=True) if doc.get("index") else None
            return cls(current=str(doc["current"]), keys=keys, index=index)
        except KeyRingError as err:
            raise KeyRingError(f"{where}: {err}") from None
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
            raise KeyRingError(
                f'{where}: expected {{"current": id, "keys": {{id: '
                f"base64}}}} ({type(err).__name__})"
            ) from None

    @classmethod
    def generate(cls, now: datetime | None = None) -> KeyRing:
        key_id = new_key_id(now)
        return cls(
            current=key_id,
            keys={key_id: secrets.token_bytes(KEY_BYTES)},
            index=secrets.token_bytes(KEY_BYTES),
        )


def new_key_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"k{stamp}-{secrets.token_hex(3)}"


def load(file: Path | None = None) -> KeyRing:
    """The ring from the environment (``CSFLOW_KEYRING``), else from a file."""
    inline = os.environ.get(ENV_RING)
    if inline:
        return KeyRing.from_json(inline, ENV_RING)
    path = Path(os.environ[ENV_FILE]) if os.environ.get(ENV_FILE) else file
    if path is None:
        raise KeyRingError(
            f"no key ring: set {ENV_RING} or {ENV_FILE} (`csflow up` creates a development ring)"
        )
    try:
        return KeyRing.from_json(path.read_text(), str(path))
    except FileNotFoundError:
        raise KeyRingError(f"key ring file {path} does not exist") from None


def write(path: Path, ring: KeyRing) -> None:
    """Write atomically with mode 0600: the ring is the one secret that opens everything."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(ring.to_json())
    os.replace(tmp, path)
    path.chmod(0o600)


def ensure_dev_ring(path: Path) -> tuple[KeyRing, bool]:
    """The development ring at `path`, created on first use; True when it was created."""
    if path.exists():
        return KeyRing.from_json(path.read_text(), str(path)), False
    ring = KeyRing.generate()
    write(path, ring)
    return ring, True


def rotate(path: Path) -> KeyRing:
    ring = KeyRing.from_json(path.read_text(), str(path)).rotated()
    write(path, ring)
    return ring
