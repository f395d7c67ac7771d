"""SMS and phone calls through an HTTP gateway, and chat through a webhook.

Requests are signed (HMAC-SHA256 over timestamp and body, secret from the environment) so
the gateway can reject forgeries, and carry an `Idempotency-Key` the gateway dedupes on —
which is what makes re-sending after a crash safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from csflow.channels.base import ChannelError, Committing, Message


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpChannel:
    dedupes = True

    def __init__(self, name: str, url: str, secret: bytes, *, field: str) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._field = field  # which contact detail the channel uses: "phone" or "id"

    def address(self, email: str | None, phone: str | None, ident: str) -> str | None:
        return phone if self._field == "phone" else ident

    async def send(self, message: Message, committing: Committing | None = None) -> None:
        if committing is not None:  # the receiver dedupes: a re-send is harmless anyway
            await committing()
        body = json.dumps(
            {
                "to": message.to,
                "subject": message.subject,
                "text": message.body,
                "key": message.key,
            },
            ensure_ascii=False,
        ).encode()
        ts = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "Idempotency-Key": message.key,
            "X-Csflow-Timestamp": ts,
            "X-Csflow-Signature": sign(self._secret, ts, body),
        }
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                r = await http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as err:
            raise ChannelError(f"{self.name} gateway unreachable: {err}") from err
        if r.status_code >= 300:
            raise ChannelError(f"{self.name} gateway answered {r.status_code}")


def sms(base_url: str, secret: bytes) -> HttpChannel:
    return HttpChannel("sms", f"{base_url.rstrip('/')}/sms", secret, field="phone")


def phone(base_url: str, secret: bytes) -> HttpChannel:
    return HttpChannel("phone", f"{base_url.rstrip('/')}/call", secret, field="phone")


def chat(url: str, secret: bytes) -> HttpChannel:
    return HttpChannel("chat", url, secret, field="id")
