"""Email over SMTP. SMTP has no idempotency: the Message-ID is deterministic (so a mail
client can collapse a duplicate), but the outbox never re-sends an email whose fate is
unknown — it marks it `uncertain` and alerts ops instead."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from csflow.channels.base import ChannelError, Message
from csflow.notify.config import Smtp


class EmailChannel:
    name = "email"
    dedupes = False

    def __init__(self, smtp: Smtp, password: str | None = None) -> None:
        self._smtp = smtp
        self._password = password

    def address(self, email: str | None, phone: str | None, ident: str) -> str | None:
        return email

    async def send(self, message: Message) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self._smtp.sender, message.to, message.subject
        msg["Message-ID"] = f"<{message.key.replace('/', '.')}@csflow>"
        msg.set_content(message.body)
        try:
            await asyncio.to_thread(self._deliver, msg)
        except (OSError, smtplib.SMTPException) as err:
            raise ChannelError(f"smtp {self._smtp.host}:{self._smtp.port}: {err}") from err

    def _deliver(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self._smtp.host, self._smtp.port, timeout=10) as s:
            if self._smtp.starttls:
                s.starttls()
            if self._smtp.user and self._password:
                s.login(self._smtp.user, self._password)
            s.send_message(msg)
