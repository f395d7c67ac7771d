"""Sending one notification, exactly once per key, never blocking the workflow
(docs/notifications.md).

The outbox row is marked `sending` (committed) before each channel is tried and `sent`
after. A retry that finds `sent` does nothing; one that finds `sending` — a crash between
send and record — re-sends only through a channel whose receiver dedupes on the key
(gateway, webhook); an email in that state is marked `uncertain` and ops are alerted
rather than mailing the customer twice. A failing channel falls through to the next in
the recipient's preference list.

When every channel refuses the message (an outage), the row says `retrying` — a known
non-delivery, safe to send again — and the activity raises a retryable error with the
next delay (`[retry]` in the notify config: doubling from `first_delay` to `max_delay`).
Temporal keeps retrying; the outbox key makes the eventual delivery exactly-once. Once
the configured window (default 24 h, counted from the first attempt) has passed, the row
says `failed`, ops are alerted, and the activity returns normally — notifications never
fail a request. `csflow notify retry` sends a failed message again on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from csflow.channels.base import Channel, ChannelError, Message
from csflow.notify.config import NotifyConfig
from csflow.notify.models import Notification, NotifyResult
from csflow.notify.templates import Templates
from csflow.store import outbox, personal

log = structlog.get_logger(__name__)
INTRUSIVE = ("sms", "phone")  # not at night, except for P1


class NotifyActivities:
    def __init__(self, pool: asyncpg.Pool[Any], channels: Mapping[str, Channel],
                 templates: Templates, config: NotifyConfig,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._pool = pool
        self._channels = channels
        self._templates = templates
        self._config = config
        self._now = clock

    @activity.defn(name="send_notification")
    async def send(self, n: Notification) -> NotifyResult:
        await self._request_written(n)
        status, channel = await outbox.claim(self._pool, n)
        if status in outbox.FINAL:
            return NotifyResult(key=n.key, status="duplicate", channel=channel)
        if status == "sending" and channel and not self._channels[channel].dedupes:
            await outbox.mark(self._pool, n.key, "uncertain", None,
                              f"{channel}: outcome unknown after a crash; not re-sent")
            await self._alert_ops(n, f"{channel} delivery uncertain")
            return NotifyResult(key=n.key, status="uncertain", channel=channel)
        result = await self.deliver(n, retry_first=channel if status == "sending" else None)
        if result.status == "sent" or not result.attempts:
            # Sent, or no channel can even address the recipient: waiting cannot help.
            return await self._settle(n, result)
        wait = self._next_wait()
        if wait is None:
            return await self._settle(n, result)
        attempt = activity.info().attempt
        (log.warning if attempt == 1 else log.info)(
            "notify.retrying", key=n.key, request_number=n.number, attempt=attempt,
            retry_in_s=wait.total_seconds(), problem="; ".join(result.attempts))
        # BENIGN: an outage is expected; the SDK then logs the failure at debug level
        # instead of a warning with a traceback per attempt (the line above says it once).
        raise ApplicationError(
            f"every channel refused {n.key} ({'; '.join(result.attempts)}); "
            f"retrying in {wait.total_seconds():.0f}s", type="ChannelsDown",
            next_retry_delay=wait, category=ApplicationErrorCategory.BENIGN)

    async def resend(self, n: Notification) -> NotifyResult:
        """One attempt at a message an operator released (`csflow notify retry`)."""
        return await self._settle(n, await self.deliver(n, retry_first=None))

    async def deliver(self, n: Notification, retry_first: str | None) -> NotifyResult:
        """Try each candidate channel once; the first that takes the message wins.

        A channel that refuses leaves the row `retrying` (it did not deliver, so sending
        again is safe); only the moment of a send itself leaves `sending` behind — the
        channel marks it just before the step that may deliver (`committing`).
        """
        email, phone = await self._contact(n)
        subject, body = self._templates.render(n.template, n.recipient.language, n.variables)
        tried: list[str] = []
        for name in self._candidates(n, retry_first=retry_first):
            ch = self._channels[name]
            to = ch.address(email, phone, n.recipient.id)
            if to is None:
                continue
            try:
                await ch.send(Message(key=n.key, to=to, subject=subject, body=body),
                              committing=partial(outbox.mark, self._pool, n.key, "sending",
                                                 name))
            except ChannelError as err:
                tried.append(f"{name}: {err}")
                await outbox.mark(self._pool, n.key, "retrying", name, f"{name}: {err}")
                continue
            await outbox.mark(self._pool, n.key, "sent", name, f"{name}: sent")
            return NotifyResult(key=n.key, status="sent", channel=name, attempts=tried)
        return NotifyResult(key=n.key, status="failed", attempts=tried)

    async def _settle(self, n: Notification, result: NotifyResult) -> NotifyResult:
        if result.status == "failed":
            await outbox.mark(self._pool, n.key, "failed", None, "no channel delivered")
            await self._alert_ops(n, "; ".join(result.attempts) or "no reachable channel")
        return result

    def _next_wait(self) -> timedelta | None:
        """The delay before the next attempt, or None once the retry window is over.

        The window counts from the first attempt's scheduling, so a worker that was down
        for part of it does not stretch it; the last attempt falls at its very end.
        """
        info = activity.info()
        retry = self._config.retry
        left = retry.within - (self._now() - info.scheduled_time)
        if left <= timedelta(0):
            return None
        return min(retry.delay(info.attempt), left)

    def _candidates(self, n: Notification, retry_first: str | None) -> list[str]:
        wanted: list[str] = [c for c in n.recipient.channels if c in self._channels]
        start, end = self._window(n)
        if self._quiet(start, end) and n.priority != "P1":
            wanted = [c for c in wanted if c not in INTRUSIVE]
            if not wanted and any(c in self._channels for c in n.recipient.channels):
                raise ApplicationError("quiet hours: retry when they end",
                                       next_retry_delay=self._until(end))
        if retry_first in wanted:
            wanted.remove(retry_first)
            wanted.insert(0, retry_first)
        if not wanted and "log" in self._channels:
            wanted = ["log"]  # development: nothing real is configured
        return wanted

    def _window(self, n: Notification) -> tuple[time, time]:
        """The recipient's own quiet hours if they set them, else the organisation's."""
        q = self._config.quiet_hours
        if n.recipient.quiet_hours:
            start, end = (time.fromisoformat(t) for t in n.recipient.quiet_hours)
            return start, end
        return q.start, q.end

    def _local(self) -> datetime:
        return self._now().astimezone(ZoneInfo(self._config.quiet_hours.time_zone))

    def _quiet(self, start: time, end: time) -> bool:
        local = self._local().time()
        return (start <= local or local < end) if start > end else (start <= local < end)

    def _until(self, end: time) -> timedelta:
        now = self._local()
        at = now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if at <= now:
            at += timedelta(days=1)
        return at - now

    async def _contact(self, n: Notification) -> tuple[str | None, str | None]:
        r = n.recipient
        if r.kind == "staff":
            row = await self._pool.fetchrow("SELECT email, phone FROM staff WHERE id = $1", r.id)
            return (row["email"], row["phone"]) if row else (None, None)
        if r.kind == "role":
            row = await self._pool.fetchrow(
                "SELECT email, phone FROM staff WHERE role = $1 AND on_duty ORDER BY id LIMIT 1",
                r.id)
            if row:
                return row["email"], row["phone"]
            c = self._config.roles.get(r.id)
            return (c.email, c.phone) if c else (None, None)
        if r.email or r.phone:  # a message planned before addresses were looked up here
            return r.email, r.phone
        contact = await personal.contact_for_sending(self._pool, n.number, r.id)
        return (contact or {}).get("email"), (contact or {}).get("phone")

    async def _request_written(self, n: Notification, wait_s: float = 3.0) -> None:
        """The acknowledgement is planned as the request is received, while its row is
        still being written: wait briefly for it, since the customer's address (and the
        key that seals the kept message) come from it. A message that carries its address
        (planned by an older worker) does not wait."""
        r = n.recipient
        if r.kind != "customer" or r.email or r.phone:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            if await self._pool.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM requests WHERE number = $1)", n.number):
                return
            await asyncio.sleep(0.05)

    async def _alert_ops(self, n: Notification, why: str) -> None:
        """An error-level event (what ops alert on) and, best effort, a word to the ops
        contact (`[ops]` in the notify config) on the first channel that reaches it."""
        log.error("notify.ops_alert", key=n.key, request_number=n.number,
                  template=n.template, recipient=f"{n.recipient.kind}:{n.recipient.id}",
                  problem=why)
        ops = self._config.ops
        for name in ("email", "sms"):
            ch = self._channels.get(name)
            to = ch.address(ops.email, ops.phone, "ops") if ch else None
            if ch is None or to is None:
                continue
            text = f"Message {n.key} for request {n.number} was not delivered: {why}"
            try:
                await ch.send(Message(key=f"ops-alert/{n.key}", to=to,
                                      subject=f"csflow: undelivered message ({n.number})",
                                      body=text))
                return
            except ChannelError as err:
                log.warning("notify.ops_alert_undelivered", channel=name, error=str(err))
