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

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from csflow.notify.models import CompactNotification, Notification, NotifyResult
from csflow.notify.sender import Sender
from csflow.store import outbox


class NotifyActivities(Sender):
    """The Temporal face of `Sender`: one activity, and its retry schedule."""

    @activity.defn(name="send_notification")
    async def send(
        self, n: Notification | CompactNotification | list[CompactNotification]
    ) -> NotifyResult | None:
        """A whole `Notification` (histories from before the workflow patch
        `compact-terms-and-messages`, ladder pages, the improvement task) is answered with
        its `NotifyResult`. Compact messages — one, or the several one workflow task
        planned — are rebuilt here and answered with nothing: no workflow reads the
        result, and every byte of it would stay in history (the outcome is the outbox
        row's, and the log's)."""
        if isinstance(n, Notification):
            return await self._send(n)
        batch = n if isinstance(n, list) else [n]
        waiting: list[ApplicationError] = []
        for m in batch:
            try:
                await self._send(m.full())
            except ApplicationError as err:
                if err.next_retry_delay is None or len(batch) == 1:
                    raise
                waiting.append(err)
        if waiting:
            # Each message that must wait (its row, an outage, quiet hours) is tried again
            # with the whole batch; those already sent or settled are then duplicates in
            # the outbox and cost a lookup. The soonest retry wins.
            first = min(waiting, key=lambda e: e.next_retry_delay or timedelta(0))
            raise ApplicationError(
                "; ".join(e.message for e in waiting),
                type=first.type,
                next_retry_delay=first.next_retry_delay,
                category=ApplicationErrorCategory.BENIGN,
            )
        return None

    async def _send(self, n: Notification) -> NotifyResult:
        if not await self._request_written(n):
            # The customer's address comes from the request's row, not written yet: not
            # "unreachable" (that would mark the message failed at once), only "not yet" —
            # retried like an outage, within the same window.
            wait = self._next_wait()
            if wait is None:
                return await self._settle(
                    n, NotifyResult(key=n.key, status="failed", attempts=["row never written"])
                )
            raise ApplicationError(
                f"{n.number} is not written yet; {n.key} waits for its row",
                type="RequestNotWritten",
                next_retry_delay=wait,
                category=ApplicationErrorCategory.BENIGN,
            )
        status, channel = await outbox.claim(self._pool, n)
        info = activity.info()
        outcome = await self.attempt(
            n, status, channel, first_at=info.scheduled_time, attempt=info.attempt
        )
        if isinstance(outcome, NotifyResult):
            return outcome
        # BENIGN: an outage is expected; the SDK then logs the failure at debug level
        # instead of a warning with a traceback per attempt (`attempt` logged it once).
        raise ApplicationError(
            outcome.why,
            type=outcome.type,
            next_retry_delay=outcome.delay,
            category=ApplicationErrorCategory.BENIGN,
        )

    def _next_wait(self) -> timedelta | None:
        """The retry window's next delay, counted from the activity's first scheduling."""
        info = activity.info()
        return self.next_wait(info.scheduled_time, info.attempt)
