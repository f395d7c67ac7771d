"""Delivery: exactly once per key (retries and crashes included), fallback, quiet hours —
counted at a real SMTP server and a real HTTP gateway."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from csflow.channels.email import EmailChannel
from csflow.channels.gateway import chat, phone, sms
from csflow.channels.log import LogChannel
from csflow.notify.config import NotifyConfig, Smtp
from csflow.notify.models import Notification, Recipient
from csflow.notify.templates import Templates
from csflow.store import outbox
from tests.helpers import free_port
from tests.notify.servers import http_gateway, smtp_server

SECRET = b"gateway-secret"
DAY = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
NIGHT = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 00:00 in Shanghai


def note(
    key: str = "CS1/3/customer:C-1/progress_update",
    *,
    channels: list[str] | None = None,
    priority: str = "P3",
) -> Notification:
    return Notification(
        key=key,
        number="CS1",
        template="progress_update",
        priority=priority,
        recipient=Recipient(
            kind="customer",
            id="C-1",
            email="li@example.com",
            phone="+8613800000000",
            channels=channels or ["sms", "email"],
            language="en",
        ),
        variables={"number": "CS1", "note": "engineer on the way"},
    )


def acts(pool: Any, smtp_port: int, gateway: str, now: datetime = DAY) -> NotifyActivities:
    channels: dict[str, Any] = {
        "email": EmailChannel(Smtp(host="127.0.0.1", port=smtp_port)),
        "sms": sms(gateway, SECRET),
        "phone": phone(gateway, SECRET),
        "chat": chat(f"{gateway}/chat", SECRET),
        "log": LogChannel(),
    }
    return NotifyActivities(pool, channels, Templates(), NotifyConfig(), clock=lambda: now)


async def test_a_retried_activity_delivers_once(pool: Any) -> None:
    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        a = acts(pool, port, url)
        first = await ActivityEnvironment().run(a.send, note())
        again = await ActivityEnvironment().run(a.send, note())
    assert (first.status, first.channel) == ("sent", "sms")
    assert again.status == "duplicate"
    assert len(gw.received) == 1 and gw.bad_signatures == 0
    assert gw.received[0]["text"] == "News on your request CS1: engineer on the way"
    assert inbox.messages == []


async def test_a_crash_between_send_and_record_does_not_deliver_twice(
    pool: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = outbox.mark
    crashed: list[str] = []

    async def crash_after_send(pool_: Any, key: str, status: str, *rest: Any) -> None:
        if status == "sent" and key not in crashed:
            crashed.append(key)
            raise ConnectionError("worker killed before the outbox update")
        await real(pool_, key, status, *rest)

    monkeypatch.setattr(outbox, "mark", crash_after_send)
    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        a = acts(pool, port, url)
        for n in (note("k-sms"), note("k-mail", channels=["email"])):
            with pytest.raises(ConnectionError):
                await ActivityEnvironment().run(a.send, n)
            retried = await ActivityEnvironment().run(a.send, n)
            assert retried.status == ("sent" if n.key == "k-sms" else "uncertain")
    assert len(gw.delivered) == 1, "the gateway dedupes the re-send on its key"
    assert len(gw.received) == 2
    assert len(inbox.messages) == 1, "an email of unknown fate is not sent again"
    row = await pool.fetchrow("SELECT status, attempts FROM outbox WHERE key = 'k-mail'")
    assert row["status"] == "uncertain"


async def test_a_failing_channel_falls_back_and_never_raises(pool: Any) -> None:
    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        gw.fail_with = 500
        result = await ActivityEnvironment().run(acts(pool, port, url).send, note())
    assert (result.status, result.channel) == ("sent", "email")
    assert "sms gateway answered 500" in result.attempts[0]
    assert len(inbox.messages) == 1
    assert inbox.messages[0].rcpt_tos == ["li@example.com"]
    rows = await outbox.for_request(pool, "CS1")
    assert rows[0]["status"] == "sent" and rows[0]["channel"] == "email"

    with smtp_server() as (port, _), http_gateway(SECRET) as (url, gw):
        gw.fail_with = 503
        dead = acts(pool, free_port(), url)  # nothing listens there: SMTP fails too
        first_try = ActivityEnvironment()  # within the retry window: retried, not final
        first_try.info = dataclasses.replace(first_try.info, scheduled_time=DAY)
        with pytest.raises(ApplicationError) as caught:
            await first_try.run(dead.send, note("all-down"))
    assert caught.value.type == "ChannelsDown" and caught.value.non_retryable is False
    assert "sms gateway answered 503" in str(caught.value)
    row = await pool.fetchrow("SELECT status FROM outbox WHERE key = 'all-down'")
    assert row["status"] == "retrying"


async def test_quiet_hours_spare_the_customer_at_night_except_for_p1(pool: Any) -> None:
    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        night = acts(pool, port, url, now=NIGHT)
        p3 = await ActivityEnvironment().run(night.send, note("night-p3"))
        p1 = await ActivityEnvironment().run(night.send, note("night-p1", priority="P1"))
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(night.send, note("sms-only", channels=["sms"]))
    assert (p3.status, p3.channel) == ("sent", "email"), "no SMS at night for a P3"
    assert (p1.status, p1.channel) == ("sent", "sms"), "a P1 may wake people"
    assert caught.value.next_retry_delay is not None
    assert caught.value.next_retry_delay.total_seconds() == 8 * 3600, "retried at 08:00"
    assert len(gw.delivered) == 1 and len(inbox.messages) == 1


async def test_without_configured_channels_messages_go_to_the_log(pool: Any) -> None:
    a = NotifyActivities(pool, {"log": LogChannel()}, Templates(), NotifyConfig())
    result = await ActivityEnvironment().run(a.send, note("dev"))
    assert (result.status, result.channel) == ("sent", "log")


async def test_a_customers_own_quiet_hours_win(pool: Any) -> None:
    owl = note("owl")
    owl.recipient.quiet_hours = ["02:00", "06:00"]  # midnight is fine for this customer
    early = note("early-bird", channels=["sms", "email"])
    early.recipient.quiet_hours = ["10:00", "12:00"]  # 11:00 is not
    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        at_night = await ActivityEnvironment().run(acts(pool, port, url, now=NIGHT).send, owl)
        by_day = await ActivityEnvironment().run(acts(pool, port, url, now=DAY).send, early)
    assert (at_night.status, at_night.channel) == ("sent", "sms")
    assert (by_day.status, by_day.channel) == ("sent", "email")
    assert len(gw.delivered) == 1 and len(inbox.messages) == 1


async def test_the_message_id_reaches_the_server_whole(pool: Any) -> None:
    """Derived from the key, so a mail client can collapse a duplicate — only if it is a
    valid msg-id: the `:` and `/` of a key are encoded, never cut off."""
    import email

    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, _):
        key = "CS1/3/customer:C-1/progress_update"
        await ActivityEnvironment().run(acts(pool, port, url).send, note(key, channels=["email"]))
    header = email.message_from_bytes(inbox.messages[0].content)["Message-ID"]
    assert "".join(str(header).split()) == "<CS1.3.customer=3AC-1.progress_update@csflow>"
