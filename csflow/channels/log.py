"""The development channel: a structured log line instead of a message."""

from __future__ import annotations

import structlog

from csflow.channels.base import Committing, Message

log = structlog.get_logger("csflow.notify")


class LogChannel:
    name = "log"
    dedupes = True  # a log line repeated harms nobody

    def address(self, email: str | None, phone: str | None, ident: str) -> str | None:
        return email or phone or ident

    async def send(self, message: Message, committing: Committing | None = None) -> None:
        if committing is not None:
            await committing()
        log.info("notify.log", key=message.key, to_kind="redacted", subject=message.subject)
