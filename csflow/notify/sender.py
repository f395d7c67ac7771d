"""Delivering one notification through the recipient's channels, exactly once per key.

What the `send_notification` activity (activities/notify.py), the worker's dispatcher
(csflow/notify/dispatcher.py) and `csflow notify retry` share: the outbox marks, what a
row's status allows (`attempt`), channel fall-through, quiet hours, the recipient's
address looked up and opened here (never carried in the workflow's history), the retry
schedule while every channel is down, and the ops alert. The activity turns a `Later`
into a Temporal retry; the dispatcher into the row's next due time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from temporalio.exceptions import ApplicationError

from csflow.channels import gateway
from csflow.channels.base import Channel, ChannelError, Message
from csflow.channels.email import EmailChannel
from csflow.channels.log import LogChannel
from csflow.crypto import at_rest, sealed
from csflow.domain.policy import DEFAULT_BANNED
from csflow.notify.config import NotifyConfig
from csflow.notify.models import Notification, NotifyResult
from csflow.notify.templates import Templates
from csflow.store import outbox, personal

log = structlog.get_logger("activities.notify")
INTRUSIVE = ("sms", "phone")  # not at night, except for P1


@dataclass(frozen=True)
class Later:
    """Not delivered yet, and worth trying again after `delay`: every channel refused the
    message (`ChannelsDown`), or only intrusive channels remain during quiet hours
    (`QuietHours`)."""

    why: str
    type: str
    delay: timedelta


class Sender:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        channels: Mapping[str, Channel],
        templates: Templates,
        config: NotifyConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._templates = templates
        self._config = config
        self._now = clock

    async def resend(self, n: Notification) -> NotifyResult:
        """One attempt at a message an operator released (`csflow notify retry`)."""
        return await self._settle(n, await self.deliver(n, retry_first=None))

    async def attempt(
        self,
        n: Notification,
        status: str,
        channel: str | None,
        *,
        first_at: datetime,
        attempt: int,
    ) -> NotifyResult | Later:
        """One try at a message whose outbox row says `status` (and the `channel` last
        tried): a row already settled is a duplicate; one a crash left `sending` is sent
        again only through a channel whose receiver dedupes on the key — an email in that
        state becomes `uncertain` and ops are told, rather than mailing the customer twice.
        Undelivered within the retry window (counted from `first_at`) it is `Later`;
        after it, `failed` with an ops alert."""
        if status in outbox.FINAL:
            return NotifyResult(key=n.key, status="duplicate", channel=channel)
        if status == "sending" and channel and not self._channels[channel].dedupes:
            await outbox.mark(
                self._pool,
                n.key,
                "uncertain",
                None,
                f"{channel}: outcome unknown after a crash; not re-sent",
            )
            await self._alert_ops(n, f"{channel} delivery uncertain")
            return NotifyResult(key=n.key, status="uncertain", channel=channel)
        try:
            result = await self.deliver(n, retry_first=channel if status == "sending" else None)
        except ApplicationError as quiet:  # quiet hours: only intrusive channels are left
            return Later(quiet.message, "QuietHours", quiet.next_retry_delay or timedelta(0))
        if result.status == "sent" or not result.attempts:
            # Sent, or no channel can even address the recipient: waiting cannot help.
            return await self._settle(n, result)
        wait = self.next_wait(first_at, attempt)
        if wait is None:
            return await self._settle(n, result)
        (log.warning if attempt == 1 else log.info)(
            "notify.retrying",
            key=n.key,
            request_number=n.number,
            attempt=attempt,
            retry_in_s=wait.total_seconds(),
            problem="; ".join(result.attempts),
        )
        return Later(
            f"every channel refused {n.key} ({'; '.join(result.attempts)}); "
            f"retrying in {wait.total_seconds():.0f}s",
            "ChannelsDown",
            wait,
        )

    def next_wait(self, first_at: datetime, attempt: int) -> timedelta | None:
        """The delay before the next attempt, or None once the retry window is over.

        The window counts from the first attempt's scheduling, so a worker that was down
        for part of it does not stretch it; the last attempt falls at its very end.
        """
        retry = self._config.retry
        left = retry.within - (self._now() - first_at)
        if left <= timedelta(0):
            return None
        return min(retry.delay(attempt), left)

    async def deliver(self, n: Notification, retry_first: str | None) -> NotifyResult:
        """Try each candidate channel once; the first that takes the message wins.

        A channel that refuses leaves the row `retrying` (it did not deliver, so sending
        again is safe); only the moment of a send itself leaves `sending` behind — the
        channel marks it just before the step that may deliver (`committing`).
        """
        email, phone = await self._contact(n)
        # The customer's words a message quotes travel sealed with their key, or as a
        # reference to the improvement problem: opened or looked up here, only to render.
        variables = await personal.resolve_problem_references(
            self._pool, await sealed.open_tree(at_rest.keys(self._pool), n.variables)
        )
        subject, body = self._templates.render(n.template, n.recipient.language, variables)
        tried: list[str] = []
        for name in self._candidates(n, retry_first=retry_first):
            ch = self._channels[name]
            to = ch.address(email, phone, n.recipient.id)
            if to is None:
                continue
            try:
                await ch.send(
                    Message(key=n.key, to=to, subject=subject, body=body),
                    committing=partial(outbox.mark, self._pool, n.key, "sending", name),
                )
            except ChannelError as err:
                tried.append(f"{name}: {err}")
                await outbox.mark(self._pool, n.key, "retrying", name, f"{name}: {err}")
                continue
            await outbox.mark(self._pool, n.key, "sent", name, f"{name}: sent")
            return NotifyResult(key=n.key, status="sent", channel=name, attempts=tried)
        return NotifyResult(key=n.key, status="failed", attempts=tried)

    async def give_up(self, n: Notification, why: str) -> None:
        """`failed` with an ops alert: what the end of the retry window does."""
        await outbox.mark(self._pool, n.key, "failed", None, why)
        await self._alert_ops(n, why)

    async def _settle(self, n: Notification, result: NotifyResult) -> NotifyResult:
        if result.status == "failed":
            await outbox.mark(self._pool, n.key, "failed", None, "no channel delivered")
            await self._alert_ops(n, "; ".join(result.attempts) or "no reachable channel")
        return result

    def _candidates(self, n: Notification, retry_first: str | None) -> list[str]:
        wanted: list[str] = [c for c in n.recipient.channels if c in self._channels]
        start, end = self._window(n)
        zone = n.recipient.time_zone or self._config.quiet_hours.time_zone
        if self._quiet(start, end, zone) and n.priority != "P1":
            wanted = [c for c in wanted if c not in INTRUSIVE]
            if not wanted and any(c in self._channels for c in n.recipient.channels):
                raise ApplicationError(
                    "quiet hours: retry when they end", next_retry_delay=self._until(end, zone)
                )
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

    def _local(self, zone: str) -> datetime:
        """Now on the recipient's wall clock: a customer in Berlin is asleep at 23:00 Berlin
        time, whatever the time in the organisation's zone."""
        return self._now().astimezone(ZoneInfo(zone))

    def _quiet(self, start: time, end: time, zone: str) -> bool:
        local = self._local(zone).time()
        return (start <= local or local < end) if start > end else (start <= local < end)

    def _until(self, end: time, zone: str) -> timedelta:
        now = self._local(zone)
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
                r.id,
            )
            if row:
                return row["email"], row["phone"]
            c = self._config.roles.get(r.id)
            return (c.email, c.phone) if c else (None, None)
        if r.email or r.phone:  # a message planned before addresses were looked up here
            return r.email, r.phone
        contact = await personal.contact_for_sending(self._pool, n.number, r.id)
        return (contact or {}).get("email"), (contact or {}).get("phone")

    async def _request_written(self, n: Notification, wait_s: float = 3.0) -> bool:
        """The acknowledgement is planned as the request is received, while its row is
        still being written: wait briefly for it, since the customer's address (and the
        key that seals the kept message) come from it. A message that carries its address
        (planned by an older worker) does not wait. False: the row is still not there (a
        saturated worker or database) — the caller tries again later rather than calling
        the customer unreachable."""
        r = n.recipient
        if r.kind != "customer" or r.email or r.phone:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            if await self._pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM requests WHERE number = $1)", n.number
            ):
                return True
            await asyncio.sleep(0.05)
        return False

    async def _alert_ops(self, n: Notification, why: str) -> None:
        """An error-level event (what ops alert on) and, best effort, a word to the ops
        contact (`[ops]` in the notify config) on the first channel that reaches it."""
        log.error(
            "notify.ops_alert",
            key=n.key,
            request_number=n.number,
            template=n.template,
            recipient=f"{n.recipient.kind}:{n.recipient.id}",
            problem=why,
        )
        ops = self._config.ops
        for name in ("email", "sms"):
            ch = self._channels.get(name)
            to = ch.address(ops.email, ops.phone, "ops") if ch else None
            if ch is None or to is None:
                continue
            text = f"Message {n.key} for request {n.number} was not delivered: {why}"
            try:
                await ch.send(
                    Message(
                        key=f"ops-alert/{n.key}",
                        to=to,
                        subject=f"csflow: undelivered message ({n.number})",
                        body=text,
                    )
                )
                return
            except ChannelError as err:
                log.warning("notify.ops_alert_undelivered", channel=name, error=str(err))


S = TypeVar("S", bound=Sender)


def build_sender(
    pool: Any, config: NotifyConfig, kind: type[S], banned: Iterable[str] = DEFAULT_BANNED
) -> S:
    """Channels from the notify config; secrets only from the environment. Templates are
    checked against the policy's banned phrases here: a bad one stops the process."""
    secret = os.environ.get("CSFLOW_GATEWAY_SECRET", "").encode()
    channels: dict[str, Any] = {"log": LogChannel()}
    if config.smtp:
        channels["email"] = EmailChannel(config.smtp, os.environ.get("CSFLOW_SMTP_PASSWORD"))
    if config.gateway:
        channels["sms"] = gateway.sms(config.gateway.url, secret)
        channels["phone"] = gateway.phone(config.gateway.url, secret)
    if config.webhook:
        channels["chat"] = gateway.chat(config.webhook.url, secret)
    return kind(pool, channels, Templates(banned=banned), config)
