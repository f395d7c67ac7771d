"""A channel that is down: retried with backoff, delivered once when it returns, failed
with an ops alert only at the end of the window, and re-sent on purpose by
`csflow notify retry` — counted at a real SMTP server."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from csflow.channels.base import ChannelError, Committing, Message
from csflow.channels.email import EmailChannel
from csflow.notify.config import NotifyConfig, Retry, Smtp
from csflow.notify.templates import Templates
from csflow.store import outbox
from tests.helpers import free_port, run_cli
from tests.notify.servers import Inbox, smtp_server
from tests.notify.test_send import DAY, note

WINDOW = Retry(
    within=timedelta(hours=24), first_delay=timedelta(seconds=1), max_delay=timedelta(minutes=5)
)


def mailer(pool: Any, port: int, ops_email: str | None = None) -> NotifyActivities:
    config = NotifyConfig(
        smtp=Smtp(host="127.0.0.1", port=port), retry=WINDOW, ops={"email": ops_email}
    )
    return NotifyActivities(
        pool,
        {"email": EmailChannel(config.smtp or Smtp(host=""))},
        Templates(),
        config,
        clock=lambda: DAY,
    )


def attempt(number: int, scheduled_ago: timedelta) -> ActivityEnvironment:
    """The activity as Temporal runs its `number`th attempt, first scheduled that long ago."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number, scheduled_time=DAY - scheduled_ago)
    return env


async def status_of(pool: Any, key: str) -> str:
    return str(await pool.fetchval("SELECT status FROM outbox WHERE key = $1", key))


async def test_smtp_down_is_retried_with_backoff_then_delivered_once(pool: Any) -> None:
    port, inbox = free_port(), Inbox()
    mail = note("down-then-up", channels=["email"])
    a = mailer(pool, port)
    delays = []
    for n in (1, 2, 3, 12):
        with pytest.raises(ApplicationError) as caught:
            await attempt(n, timedelta(minutes=n)).run(a.send, mail)
        assert caught.value.next_retry_delay is not None
        delays.append(caught.value.next_retry_delay.total_seconds())
        assert await status_of(pool, mail.key) == "retrying"
    assert delays == [1, 2, 4, 300], "doubling from 1 s, capped at 5 min"

    with smtp_server(port, inbox):
        sent = await attempt(13, timedelta(hours=1)).run(a.send, mail)
        again = await attempt(14, timedelta(hours=1)).run(a.send, mail)
    assert (sent.status, sent.channel) == ("sent", "email")
    assert again.status == "duplicate"
    assert len(inbox.messages) == 1, "delivered exactly once when SMTP came back"
    row = await pool.fetchrow("SELECT status, payload FROM outbox WHERE key = $1", mail.key)
    assert row["status"] == "sent" and row["payload"] is None, "contact details not kept"


async def test_the_last_attempt_falls_at_the_window_end(pool: Any) -> None:
    a = mailer(pool, free_port())
    with pytest.raises(ApplicationError) as caught:
        await attempt(30, timedelta(hours=24) - timedelta(seconds=20)).run(
            a.send, note("nearly-over", channels=["email"])
        )
    assert caught.value.next_retry_delay == timedelta(seconds=20)


class CustomersServerDown(EmailChannel):
    """The customers' mail route is down; the ops mailbox is reached another way and up."""

    async def send(self, message: Message, committing: Committing | None = None) -> None:
        if message.to != "ops@example.com":
            raise ChannelError("smtp: connection refused")
        await super().send(message, committing)


async def test_failed_only_at_the_window_end_with_an_ops_alert(pool: Any) -> None:
    with smtp_server() as (ops_port, ops_inbox):
        config = NotifyConfig(retry=WINDOW, ops={"email": "ops@example.com"})
        email = CustomersServerDown(Smtp(host="127.0.0.1", port=ops_port))
        a = NotifyActivities(pool, {"email": email}, Templates(), config, clock=lambda: DAY)
        with capture_logs() as logs:
            result = await attempt(40, timedelta(hours=24, seconds=1)).run(
                a.send, note("gave-up", channels=["email"])
            )
    assert result.status == "failed"
    assert await status_of(pool, "gave-up") == "failed"
    [alert] = [e for e in logs if e["event"] == "notify.ops_alert"]
    assert alert["log_level"] == "error" and alert["key"] == "gave-up"
    assert "connection refused" in alert["problem"]
    assert [m.rcpt_tos for m in ops_inbox.messages] == [["ops@example.com"]]
    assert b"gave-up" in ops_inbox.messages[0].content


async def test_notify_retry_resends_a_failed_message_once(
    pool: Any, db: str, tmp_path: Path
) -> None:
    down = free_port()
    mail = note("operator-retry", channels=["email"])
    result = await attempt(50, timedelta(days=2)).run(mailer(pool, down).send, mail)
    assert result.status == "failed"
    config = tmp_path / "notify.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {down}\n')
    env = {"DATABASE_URL": db, "CSFLOW_NOTIFY_CONFIG": str(config)}

    refused = await run_cli(env, "notify", "retry")
    assert refused.exit_code == 2 and "--key, --number or --all" in refused.output
    still_down = await run_cli(env, "notify", "retry", "--key", mail.key)
    assert still_down.exit_code == 1, still_down.output
    assert await status_of(pool, mail.key) == "failed"
    listed = await run_cli(env, "notify", "list")
    listed_lines = listed.output.splitlines()
    assert mail.key in listed_lines, "the key alone on its line, to copy"
    detail = listed_lines[listed_lines.index(mail.key) + 1]
    assert detail.startswith("  failed") and "UTC" in detail, detail

    with smtp_server(down) as (_, inbox):
        done = await run_cli(env, "notify", "retry", "--number", mail.number)
        twice = await run_cli(env, "notify", "retry", "--key", mail.key)
        late = await ActivityEnvironment().run(mailer(pool, down).send, mail)
    assert done.exit_code == 0 and f"sent    {mail.key}" in done.output, done.output
    assert twice.exit_code == 2, "a sent message is not selected again"
    assert late.status == "duplicate", "the workflow's own retry finds it sent"
    assert len(inbox.messages) == 1
    assert await status_of(pool, mail.key) == "sent"

    shown = await run_cli(env, "notify", "show", mail.number)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == mail.key, "the key alone on its line, to copy"
    for cell in (mail.template, "to customer", "sent by email", "send activity", "UTC"):
        assert cell in lines[1], (cell, lines[1])
    assert "@" not in shown.output, "never an address"
    nothing = await run_cli(env, "notify", "show", "CS20990101-TEL-9999")
    assert nothing.exit_code == 2 and "no messages for CS20990101-TEL-9999" in nothing.output
    refused = await run_cli(env, "notify", "show", "CS\x01" + "9" * 80)
    assert refused.exit_code == 2 and "refused" in refused.output
    assert "9" * 80 not in refused.output, "the refusal does not echo the input"


async def test_a_retried_operator_claim_is_taken_once(pool: Any) -> None:
    mail = note("claimed-once", channels=["email"])
    await outbox.claim(pool, mail)
    await outbox.mark(pool, mail.key, "failed", None, "no channel delivered")
    first = await outbox.take_for_retry(pool, keys=[mail.key])
    second = await outbox.take_for_retry(pool, keys=[mail.key])
    assert [n.key for n in first] == [mail.key] and second == []
    assert first[0] == mail, "the stored payload is the message itself"


async def test_an_erased_customer_leaves_no_contact_details_in_the_outbox(pool: Any) -> None:
    mail = note("erase-me", channels=["email"])
    await outbox.claim(pool, mail)
    assert await outbox.forget_customer(pool, "C-1") == 1
    assert await pool.fetchval("SELECT payload FROM outbox WHERE key = 'erase-me'") is None
    assert await outbox.take_for_retry(pool, keys=["erase-me"], statuses=("pending",)) == []


def test_retry_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"retry\.within"):
        Retry(within=timedelta(days=30))
    with pytest.raises(ValueError, match="first_delay"):
        Retry(first_delay=timedelta(minutes=10), max_delay=timedelta(minutes=5))
    assert NotifyConfig.model_validate(
        {"retry": {"within": "PT2H", "max_delay": 60}}
    ).retry.within == timedelta(hours=2)


async def test_an_unreachable_server_never_leaves_a_message_sending(
    pool: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`sending` is recorded only once the SMTP server has taken the connection: a worker
    killed while the server is down leaves a message that is plainly unsent (retried),
    not one of unknown fate (`uncertain`, never re-sent)."""
    real = outbox.mark
    port, inbox = free_port(), Inbox()
    marks: list[tuple[str, int]] = []  # (status, messages the server had at that moment)

    async def recording(pool_: Any, key: str, status: str, *rest: Any) -> None:
        marks.append((status, len(inbox.messages)))
        await real(pool_, key, status, *rest)

    monkeypatch.setattr(outbox, "mark", recording)
    mail = note("commit-point", channels=["email"])
    with pytest.raises(ApplicationError):
        await attempt(1, timedelta(0)).run(mailer(pool, port).send, mail)
    assert [status for status, _ in marks] == ["retrying"]
    marks.clear()
    with smtp_server(port, inbox):
        await attempt(2, timedelta(seconds=1)).run(mailer(pool, port).send, mail)
    assert marks == [("sending", 0), ("sent", 1)]


async def test_a_customer_message_waits_for_its_request_row(pool: Any) -> None:
    """The acknowledgement is planned as intake is written; on a saturated stack the row
    can take longer than the activity's short wait. The customer's address comes from that
    row, so the message is retried ("not yet"), never failed as unreachable at once — only
    at the end of the window, like an outage."""
    unwritten = note("CS-NOROW/1/customer:C-1/acknowledgement", channels=["email"])
    unwritten = unwritten.model_copy(
        update={
            "number": "CS-NOROW",
            "recipient": unwritten.recipient.model_copy(update={"email": None, "phone": None}),
        }
    )
    a = mailer(pool, free_port())
    with pytest.raises(ApplicationError) as caught:
        await attempt(1, timedelta(seconds=5)).run(a.send, unwritten)
    assert caught.value.type == "RequestNotWritten"
    assert caught.value.next_retry_delay == timedelta(seconds=1)
    with capture_logs() as logs:
        result = await attempt(60, timedelta(hours=24, seconds=1)).run(a.send, unwritten)
    assert result.status == "failed" and result.attempts == ["row never written"]
    assert [e["key"] for e in logs if e["event"] == "notify.ops_alert"] == [unwritten.key]
