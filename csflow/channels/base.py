"""What every channel takes and promises.

`dedupes` says whether the receiver honours the idempotency key: re-sending to such a
channel after a crash cannot produce a second delivery; to one that does not (SMTP), the
outbox does not re-send blindly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

# Called by a channel right before the step that may deliver the message (SMTP's DATA,
# the gateway's POST): the outbox records `sending` there, so a failure before it — the
# server down, refusing the connection — is a known non-delivery, safe to retry.
Committing = Callable[[], Awaitable[None]]


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

    async def send(self, message: Message, committing: Committing | None = None) -> None:
        """Deliver, or raise ChannelError; call `committing` just before delivery can
        happen."""
        ...
