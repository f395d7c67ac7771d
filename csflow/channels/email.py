"""Email over SMTP. SMTP has no idempotency: the Message-ID is deterministic (so a mail
client can collapse a duplicate), but the outbox never re-sends an email whose fate is
unknown — it marks it `uncertain` and alerts ops instead.

To keep that unknown window small, the connection, greeting, STARTTLS and login happen
before `committing` is called: a server that is down or refuses us leaves the message
plainly unsent (retried later), and only a crash during the transfer itself is uncertain.
"""

from __future__ import annotations

import asyncio
import smtplib
import string
from email.message import EmailMessage

from csflow.channels.base import ChannelError, Committing, Message
from csflow.notify.config import Smtp


class EmailChannel:
    name = "email"
    dedupes = False

    def __init__(self, smtp: Smtp, password: str | None = None) -> None:
        self._smtp = smtp
        self._password = password

    def address(self, email: str | None, phone: str | None, ident: str) -> str | None:
        return email

    async def send(self, message: Message, committing: Committing | None = None) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self._smtp.sender, message.to, message.subject
        msg["Message-ID"] = message_id(message.key)
        msg.set_content(message.body)
        where = f"smtp {self._smtp.host}:{self._smtp.port}"
        try:
            server = await asyncio.to_thread(self._open)
        except (OSError, smtplib.SMTPException) as err:
            raise ChannelError(f"{where}: {err}") from err
        try:
            if committing is not None:
                await committing()
            await asyncio.to_thread(server.send_message, msg)
        except (OSError, smtplib.SMTPException) as err:
            raise ChannelError(f"{where}: {err}") from err
        finally:
            await asyncio.to_thread(_quit, server)

    def _open(self) -> smtplib.SMTP:
        server = smtplib.SMTP(self._smtp.host, self._smtp.port, timeout=10)
        try:
            if self._smtp.starttls:
                server.starttls()
            if self._smtp.user and self._password:
                server.login(self._smtp.user, self._password)
        except BaseException:
            _quit(server)
            raise
        return server


def message_id(key: str) -> str:
    """The outbox key as an RFC 5322 msg-id: path segments become dot-separated atoms and
    any character an atom may not hold (the `:` of `customer:C-1`) becomes `=XX`.

    A raw `:` is not just unusual: Python's email policy cuts the header at it, which
    made every message of one request and recipient share a truncated id.
    """

    def atom(part: str) -> str:
        return "".join(c if c in _ATEXT else f"={ord(c):02X}" for c in part) or "=00"

    return f"<{'.'.join(atom(p) for p in key.split('/'))}@csflow>"


_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~") - {"/", "="}


def _quit(server: smtplib.SMTP) -> None:
    try:
        server.quit()
    except (OSError, smtplib.SMTPException):
        server.close()
