"""What every channel takes and promises.

`dedupes` says whether the receiver honours the idempotency key: re-sending to such a
channel after a crash cannot produce a second delivery; to one that does not (SMTP), the
outbox does not re-send blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    key: str  # idempotency key: the same key is the same message
    to: str  # an address, a phone number, or a staff id for chat
    subject: str
    body: str


class ChannelError(Exception):
    """This channel could not deliver; the next one in the preference list is tried."""


class Channel(Protocol):
    name: str
    dedupes: bool

    def address(self, email: str | None, phone: str | None, ident: str) -> str | None:
        """Where this channel reaches the recipient, or None if it cannot."""
        ...

    async def send(self, message: Message) -> None: ...
