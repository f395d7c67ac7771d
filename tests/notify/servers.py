"""Real receivers for notification tests: an SMTP server and an HTTP gateway on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers import free_port


@dataclass
class Inbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@contextmanager
def smtp_server(port: int | None = None, inbox: Inbox | None = None) -> Iterator[tuple[int, Inbox]]:
    """An SMTP receiver; give `port` (and `inbox`) to bring a "down" server back up."""
    inbox = inbox if inbox is not None else Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@dataclass
class Gateway:
    secret: bytes
    fail_with: int | None = None
    received: list[dict[str, Any]] = field(default_factory=list)  # every request
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key
    bad_signatures: int = 0
    # Hold the answer to the first request whose key contains `hold_key` until `release`
    # is set, after delivering it: the sender sees the send but not its outcome.
    hold_key: str | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_gateway(secret: bytes) -> Iterator[tuple[str, Gateway]]:
    gw = Gateway(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            ts, sig = self.headers["X-Csflow-Timestamp"], self.headers["X-Csflow-Signature"]
            good = hmac.new(gw.secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(good, sig):
                gw.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            data = json.loads(body) | {"path": self.path}
            gw.received.append(data)
            if gw.fail_with:
                self.send_response(gw.fail_with)
            else:
                key = self.headers["Idempotency-Key"]
                gw.delivered.setdefault(key, data)  # dedupe
                if gw.hold_key and gw.hold_key in key and not gw.holding.is_set():
                    gw.holding.set()
                    gw.release.wait(120)
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gw
    finally:
        server.shutdown()
