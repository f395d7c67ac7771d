"""The outbox dispatcher (csflow/notify/dispatcher.py) against real parts: messages written
by the request's own persist into a real PostgreSQL, sent to a real SMTP server and a real
HTTP gateway, every key counted where it lands.

Rounds are driven one at a time with `drain()`, so each test says exactly which round
sends what; one test runs the loop (`running()`) to show that the persist's `wake` sends a
message at once. The sender's clock is fixed at DAY (11:00 in Shanghai: outside quiet
hours, which test_send.py covers); where the retry window matters a row's `created_at` is
set against that clock. A row falls due by moving `next_attempt_at` or `lease_until` in
the database, never by sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from csflow.activity_io import RecordEvents
from csflow.channels.base import Channel
from csflow.channels.email import EmailChannel
from csflow.channels.gateway import sms
from csflow.contracts import SYSTEM, RequestState, TimelineEvent
from csflow.crypto import at_rest
from csflow.domain.lifecycle import Status
from csflow.notify.config import Contact, NotifyConfig, Retry, Smtp
from csflow.notify.dispatcher import Dispatcher
from csflow.notify.models import CompactNotification
from csflow.notify.sender import Sender
from csflow.notify.templates import Templates
from csflow.store import outbox, persist
from csflow.store.personal.erasure import erase_customer
from tests.helpers import eventually, free_port, intake, run_cli
from tests.notify.servers import Inbox, http_gateway, smtp_server
from tests.notify.test_retry import CustomersServerDown
from tests.notify.test_send import DAY, SECRET, note

NUMBER = "CS20261123-WEB-0001"
CUSTOMER = "C-1001"  # intake()'s customer: li.lei@example.com, +86 138 0000 0000
# The first retry a minute away: a round right after a failed one surely finds nothing due.
WINDOW = Retry(
    within=timedelta(hours=24), first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=5)
)


def message(seq: int, channel: str = "email") -> CompactNotification:
    """A progress update to the request's customer as the workflow plans it: no address
    (the sender looks it up on the request row)."""
    return CompactNotification.model_validate(
        {
            "key": f"{NUMBER}/{seq}/customer:{CUSTOMER}/progress_update",
            "priority": "P3",
            "variables": {"note": f"step {seq}"},
            "channels": [channel],
            "language": "en",
        }
    )


def event(seq: int, kind: str, to: Status | None = None) -> TimelineEvent:
    return TimelineEvent(seq=seq, at=DAY, kind=kind, actor=SYSTEM, status_to=to)


async def written(pool: Any, *messages: CompactNotification) -> list[str]:
    """The request's first write (its row and `received` event) with the messages its
    workflow task planned, through the persist itself; returns their keys."""
    state = RequestState(
        number=NUMBER,
        status=Status.RECEIVED,
        priority="P2",
        category="complaint",
        channel="web",
        tier="regular",
        customer_id=CUSTOMER,
        received_at=DAY,
    )
    batch = RecordEvents(
        state=state,
        events=[event(1, "received", Status.RECEIVED)],
        intake=intake(),
        messages=list(messages),
    )
    await persist.record_events(pool, batch)
    return [m.key for m in messages]


def later_write(
    seq: int, kind: str, *messages: CompactNotification, **changes: Any
) -> RecordEvents:
    """A later write of the request: its changed columns, one event, its messages."""
    to = Status(changes["status"]) if "status" in changes else None
    return RecordEvents(
        number=NUMBER,
        customer_id=CUSTOMER,
        changes=changes,
        events=[event(seq, kind, to)],
        messages=list(messages),
    )


def sender(
    pool: Any,
    *,
    smtp: int | None = None,
    gateway: str | None = None,
    email: type[EmailChannel] = EmailChannel,
    ops: str | None = None,
) -> Sender:
    channels: dict[str, Channel] = {}
    if smtp is not None:
        channels["email"] = email(Smtp(host="127.0.0.1", port=smtp))
    if gateway is not None:
        channels["sms"] = sms(gateway, SECRET)
    config = NotifyConfig(retry=WINDOW, ops=Contact(email=ops))
    return Sender(pool, channels, Templates(), config, clock=lambda: DAY)


async def row(pool: Any, key: str) -> Any:
    """The outbox row, with `wait`: how far past its last update it is due next."""
    return await pool.fetchrow(
        "SELECT *, next_attempt_at - updated_at AS wait FROM outbox WHERE key = $1", key
    )


async def status(pool: Any, key: str) -> str:
    return str((await row(pool, key))["status"])


async def past(pool: Any, column: str) -> None:
    """Time passing, in the database: every row's `column` (a due time, a lease) is over."""
    assert column in ("next_attempt_at", "lease_until")
    await pool.execute(
        f"UPDATE outbox SET {column} = now() - interval '1 second' WHERE {column} IS NOT NULL"
    )


async def test_a_persisted_message_is_sent_once_and_forgotten(pool: Any) -> None:
    """The intake's write queues its message sealed with the customer's key, due now; one
    round sends it to the address on the request row, a second round finds nothing, and
    the sent row keeps no message and belongs to no dispatcher."""
    [key] = await written(pool, message(2))
    stored = await row(pool, key)
    assert (stored["dispatch"], stored["status"], stored["payload"]) == (True, "pending", None)
    opened = await at_rest.open_sealed(pool, stored["payload_sealed"])
    assert opened == message(2).full().model_dump(mode="json")
    with smtp_server() as (port, inbox):
        d = Dispatcher(sender(pool, smtp=port), pool)
        assert await d.drain() == 1
        assert await d.drain() == 0
    assert [m.rcpt_tos for m in inbox.messages] == [["li.lei@example.com"]]
    assert b"step 2" in inbox.messages[0].content
    sent = await row(pool, key)
    assert (sent["status"], sent["channel"], sent["tries"]) == ("sent", "email", 1)
    assert (sent["payload"], sent["payload_sealed"]) == (None, None)
    assert (sent["lease_until"], sent["next_attempt_at"]) == (None, None)


async def test_smtp_down_defers_the_row_then_delivers_it_once(pool: Any) -> None:
    """An outage is a known non-delivery: the row is `retrying`, due again after the
    backoff's first delay and not before; when SMTP is back and the row is due, one round
    delivers it, once."""
    port, inbox = free_port(), Inbox()
    [key] = await written(pool, message(2))
    d = Dispatcher(sender(pool, smtp=port), pool)
    assert await d.drain() == 1
    down = await row(pool, key)
    assert (down["status"], down["tries"], down["lease_until"]) == ("retrying", 1, None)
    assert down["wait"] == WINDOW.first_delay
    assert "connection" in down["attempts"][-1].lower()
    assert await d.drain() == 0, "not due yet"
    with smtp_server(port, inbox):
        assert await d.drain() == 0, "back up, but the row is not due for a minute"
        await past(pool, "next_attempt_at")
        assert await d.drain() == 1
        assert await d.drain() == 0
    assert len(inbox.messages) == 1
    sent = await row(pool, key)
    assert (sent["status"], sent["tries"], sent["next_attempt_at"]) == ("sent", 2, None)


async def test_at_the_window_end_the_row_fails_with_an_ops_alert(pool: Any, db: str) -> None:
    """Written longer ago than `[retry] within` and still undeliverable: `failed` for good
    (kept, so `csflow notify retry` can send it), ops told by log and by mail, and listed
    by `csflow notify list`."""
    [key] = await written(pool, message(2))
    await pool.execute(
        "UPDATE outbox SET created_at = $1", DAY - WINDOW.within - timedelta(seconds=1)
    )
    with smtp_server() as (port, ops_inbox), capture_logs() as logs:
        ops = sender(pool, smtp=port, email=CustomersServerDown, ops="ops@example.com")
        d = Dispatcher(ops, pool)
        assert await d.drain() == 1
        assert await d.drain() == 0
    failed = await row(pool, key)
    assert (failed["status"], failed["attempts"][-1]) == ("failed", "no channel delivered")
    assert (failed["next_attempt_at"], failed["lease_until"]) == (None, None)
    assert failed["failed_at"] is not None and failed["payload_sealed"] is not None
    [alert] = [e for e in logs if e["event"] == "notify.ops_alert"]
    assert alert["key"] == key and "connection refused" in alert["problem"]
    assert [m.rcpt_tos for m in ops_inbox.messages] == [["ops@example.com"]]
    listed = await run_cli({"DATABASE_URL": db}, "notify", "list")
    assert listed.exit_code == 0, listed.output
    assert key in listed.output and "failed" in listed.output


async def test_two_dispatchers_at_once_send_each_key_once(pool: Any) -> None:
    """Two workers' dispatchers drain the same outbox at the same time, a few rows a
    round, while a third worker's claim of one row is still in flight (its row locked,
    not yet leased): the claim is the update, so each row is taken by one of them, once,
    and the row mid-claim is skipped, not waited for (nor taken twice once it commits)."""
    keys = await written(pool, *(message(seq, "sms") for seq in range(2, 10)))

    async def rounds(d: Dispatcher) -> int:
        tried = 0
        while n := await d.drain():
            tried += n
        return tried

    with http_gateway(SECRET) as (url, gw):
        s = sender(pool, gateway=url)
        first, second = Dispatcher(s, pool, batch=3), Dispatcher(s, pool, batch=3)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM outbox WHERE key = $1 FOR UPDATE", keys[0])
            counts = await asyncio.wait_for(asyncio.gather(rounds(first), rounds(second)), 10)
        assert sum(counts) == len(keys) - 1
        assert await rounds(first) == 1, "free again: taken by one dispatcher"
        assert await rounds(second) == 0
    assert sorted(r["key"] for r in gw.received) == sorted(keys), "no key sent twice"
    settled = await pool.fetch("SELECT status, tries FROM outbox")
    assert {(r["status"], r["tries"]) for r in settled} == {("sent", 1)}


async def test_after_a_crash_mid_send_an_email_is_uncertain_and_an_sms_is_resent(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send whose outcome was lost between the channel and the `sent` mark (the
    database gone at that instant; a worker killed there leaves the same rows under its
    lease, test_worker_kill.py) leaves its rows `sending`, due again after the backoff.
    The next round that takes them: the gateway dedupes on the key, so the SMS goes again
    with the same key; an email cannot be taken back, so it becomes `uncertain` (ops
    told) rather than mailed twice."""
    mail, text = message(2, "email"), message(3, "sms")
    await written(pool, mail, text)
    real = outbox.mark

    async def killed_after_send(pool_: Any, key: str, status: str, *rest: Any) -> None:
        if status == "sent":
            raise ConnectionError("the database went away before the outbox update")
        await real(pool_, key, status, *rest)

    with smtp_server() as (port, inbox), http_gateway(SECRET) as (url, gw):
        d = Dispatcher(sender(pool, smtp=port, gateway=url), pool)
        monkeypatch.setattr(outbox, "mark", killed_after_send)
        assert await d.drain() == 2
        monkeypatch.setattr(outbox, "mark", real)
        left = await pool.fetch(
            "SELECT key, status, channel, lease_until, next_attempt_at > now() AS later FROM outbox"
        )
        assert {r["key"]: (r["status"], r["channel"], r["later"]) for r in left} == {
            mail.key: ("sending", "email", True),
            text.key: ("sending", "sms", True),
        }
        assert {r["lease_until"] for r in left} == {None}
        assert await d.drain() == 0, "due again only after the backoff"
        await past(pool, "next_attempt_at")
        with capture_logs() as logs:
            assert await d.drain() == 2
    assert (await status(pool, mail.key), len(inbox.messages)) == ("uncertain", 1)
    assert await status(pool, text.key) == "sent"
    assert [r["key"] for r in gw.received] == [text.key, text.key]
    assert list(gw.delivered) == [text.key], "the gateway kept one, by its key"
    assert [e["key"] for e in logs if e["event"] == "notify.ops_alert"] == [mail.key]


async def test_a_row_another_dispatcher_holds_is_left_alone(pool: Any) -> None:
    """Another worker claimed the row and is still sending it: this one does not take it
    until that lease runs out (the other worker died)."""
    [key] = await written(pool, message(2))
    held = await outbox.take_due(pool, limit=10, lease=timedelta(seconds=60))
    assert [h.key for h in held] == [key]
    with smtp_server() as (port, inbox):
        d = Dispatcher(sender(pool, smtp=port), pool)
        assert await d.drain() == 0
        assert inbox.messages == []
        await past(pool, "lease_until")
        assert await d.drain() == 1
    assert len(inbox.messages) == 1
    assert (await row(pool, key))["tries"] == 2, "each claim counts as a try"


async def test_a_message_to_a_customer_erased_before_it_went_fails_unsent(pool: Any) -> None:
    """The write that cancelled the request queued a message; the customer is erased
    before any round. The kept message went with their key: the row is `failed`
    ("erased before sending") and nothing reaches anyone."""
    await written(pool)
    last = message(2)
    cancel = later_write(2, "cancelled", last, status="cancelled", closed_at=DAY.isoformat())
    await persist.record_events(pool, cancel)
    assert await erase_customer(pool, CUSTOMER, DAY + timedelta(hours=1)) == [NUMBER]
    with smtp_server() as (port, inbox):
        assert await Dispatcher(sender(pool, smtp=port), pool).drain() == 1
    gone = await row(pool, last.key)
    assert (gone["status"], gone["attempts"][-1]) == ("failed", "erased before sending")
    assert (gone["payload"], gone["payload_sealed"]) == (None, None)
    assert (gone["lease_until"], gone["next_attempt_at"]) == (None, None)
    assert inbox.messages == []


async def test_rows_the_activity_sends_are_never_taken(pool: Any) -> None:
    """A row claimed by the `send_notification` activity (`outbox.claim`: older requests,
    ladder pages) is that activity's to send; even with a due time it is not taken."""
    [queued] = await written(pool, message(2))
    theirs = note("CS1/3/customer:C-1/progress_update", channels=["email"])
    await outbox.claim(pool, theirs)
    await pool.execute(
        "UPDATE outbox SET next_attempt_at = now() - interval '1 minute' WHERE key = $1",
        theirs.key,
    )
    with smtp_server() as (port, inbox):
        d = Dispatcher(sender(pool, smtp=port), pool)
        assert await d.drain() == 1
        assert await d.drain() == 0
    assert [m.rcpt_tos for m in inbox.messages] == [["li.lei@example.com"]]
    assert await status(pool, queued) == "sent"
    untouched = await row(pool, theirs.key)
    assert (untouched["dispatch"], untouched["status"], untouched["tries"]) == (False, "pending", 0)


async def test_the_persist_wakes_the_running_loop(pool: Any) -> None:
    """In the worker the persist activity wakes the dispatcher after a write that queued
    messages: sent at once, not at the next poll (a minute away here)."""

    async def is_sent(key: str) -> None:
        assert await status(pool, key) == "sent"

    [first] = await written(pool, message(2))
    loop = asyncio.get_running_loop()
    with smtp_server() as (port, inbox):
        d = Dispatcher(sender(pool, smtp=port), pool, poll=60)
        store = StoreActivities(pool, wrote_messages=d.wake)
        async with d.running():
            await eventually(lambda: is_sent(first))  # its first round; now it waits
            started = loop.time()
            progress = later_write(3, "progress_posted", message(3))
            await ActivityEnvironment().run(store.record_events, progress)
            await eventually(lambda: is_sent(message(3).key), timeout=10)
            assert loop.time() - started < 10, "well before the poll"
    assert len(inbox.messages) == 2


async def test_an_unreadable_row_fails_alone(pool: Any) -> None:
    """A row whose kept message no longer reads as one (written by a future version, or
    damaged) is `failed` with the reason; the rows claimed with it are sent as usual."""
    [good] = await written(pool, message(2))
    await pool.execute(
        """INSERT INTO outbox (key, number, template, recipient_kind, recipient_id, status,
                               payload, dispatch, next_attempt_at)
           VALUES ('bad', $1, 'progress_update', 'customer', $2, 'pending',
                   '{"not": "a message"}', true, now())""",
        NUMBER,
        CUSTOMER,
    )
    with smtp_server() as (port, inbox):
        assert await Dispatcher(sender(pool, smtp=port), pool).drain() == 2
    bad = await row(pool, "bad")
    assert (bad["status"], bad["attempts"][-1]) == ("failed", "unreadable: ValidationError")
    assert (bad["lease_until"], bad["next_attempt_at"]) == (None, None)
    assert await status(pool, good) == "sent" and len(inbox.messages) == 1


async def test_an_unexpected_error_is_retried_in_the_window_then_fails(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send that raises what no channel should (a bug, a channel removed from the
    config) is not retried for ever: due again after the backoff while the window lasts,
    then `failed` with an ops alert."""
    [key] = await written(pool, message(2))

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(Sender, "attempt", broken)
    d = Dispatcher(sender(pool), pool)
    assert await d.drain() == 1
    waiting = await row(pool, key)
    assert (waiting["attempts"][-1], waiting["wait"]) == ("error: boom", WINDOW.first_delay)
    assert await d.drain() == 0, "not due yet"
    await pool.execute(
        "UPDATE outbox SET created_at = $1", DAY - WINDOW.within - timedelta(seconds=1)
    )
    await past(pool, "next_attempt_at")
    with capture_logs() as logs:
        assert await d.drain() == 1
    failed = await row(pool, key)
    assert (failed["status"], failed["attempts"][-1]) == ("failed", "could not be sent: boom")
    assert failed["next_attempt_at"] is None
    assert [e["key"] for e in logs if e["event"] == "notify.ops_alert"] == [key]


async def test_a_stopping_worker_lets_the_send_in_progress_finish(pool: Any) -> None:
    """Leaving `running()` (the worker stopping: a deploy) waits for the round in
    progress: a send cut off after its `sending` mark would be an `uncertain` email."""
    [key] = await written(pool, message(2, "sms"))
    loop = asyncio.get_running_loop()
    with http_gateway(SECRET) as (url, gw):
        gw.hold_key = "progress_update"
        d = Dispatcher(sender(pool, gateway=url), pool)
        async with d.running():
            assert await asyncio.to_thread(gw.holding.wait, 10)
            loop.call_later(0.5, gw.release.set)  # the gateway answers while we stop
        assert await status(pool, key) == "sent"
    assert list(gw.delivered) == [key]
