"""The worker's dispatcher: sends the messages a request's own write put in the outbox.

Why not an activity per message: each one was a task through the server, three events
and a workflow task more in the request's history, and — for a run no longer in the
worker's cache — one more replay of that history, on every SLA firing that told anyone.
Since the workflow patch `messages-in-the-write` the persist writes the messages a
workflow task planned into the outbox in the same transaction as the events that planned
them (csflow/store/outbox.py `queue`), so they exist exactly when the events do, and this
loop, running in every worker process, sends them.

Each round claims the due rows for a lease (`take_due`: two workers never hold one row;
a row a crashed worker held is due again when the lease runs out) and gives each one
`Sender.attempt` — the same rules as the activity: sent once per key, a crash in the
middle of an email leaves it `uncertain` rather than sent twice, a message every channel
refuses is tried again with the `[retry]` schedule until its window (counted from when
it was written) is over, then `failed` with an ops alert. The worker's own persist wakes
it at once (`wake`); otherwise it looks every `poll` seconds, which is also how rows
written by other workers and retries that fall due are found.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import structlog

from csflow.notify.sender import Later, Sender
from csflow.store import outbox

log = structlog.get_logger("csflow.notify.dispatcher")

POLL = 1.0  # seconds between looks when nothing woke it
BATCH = 20  # rows claimed per round
# Rows sent at once: each send takes a pooled connection a few times (the contact, the
# marks), and the persists of SLA firings share that pool — a burst of messages must not
# queue them behind it.
CONCURRENCY = 4
# How long a claim holds a row: well beyond a try through every channel (SMTP and HTTP
# each give up after 10 s), so a slow send is never taken twice; also the wait before a
# crashed worker's rows are tried again by another.
LEASE = timedelta(seconds=60)
GRACE = 15.0  # seconds a stopping worker lets the sends in progress finish


class Dispatcher:
    def __init__(
        self,
        sender: Sender,
        pool: Any,
        *,
        poll: float = POLL,
        batch: int = BATCH,
        lease: timedelta = LEASE,
    ) -> None:
        self._sender = sender
        self._pool = pool
        self._poll = poll
        self._batch = batch
        self._lease = lease
        self._woken = asyncio.Event()
        self._sending = asyncio.Semaphore(CONCURRENCY)
        self._stopping = False

    def wake(self) -> None:
        """Rows were just written here: look now rather than at the next poll."""
        self._woken.set()

    async def drain(self) -> int:
        """One round: claim what is due and try each; returns the rows tried."""
        due = await outbox.take_due(self._pool, limit=self._batch, lease=self._lease)
        await asyncio.gather(*(self._one(d) for d in due))
        return len(due)

    async def run(self) -> None:
        """Rounds until cancelled; a database that is away is waited out, not fatal."""
        while not self._stopping:
            self._woken.clear()
            try:
                tried = await self.drain()
            except Exception as err:  # the database away: the rows wait for it
                log.warning("notify.dispatcher_waiting", error=str(err))
                tried = 0
            if tried >= self._batch:
                continue  # more may be due at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._poll)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Dispatcher]:
        """The loop as a task for the life of the block (the worker's). On the way out
        the round in progress may finish (up to GRACE): a send cut off after its
        `sending` mark would leave an email `uncertain` on every deploy."""
        task = asyncio.create_task(self.run(), name="csflow-outbox-dispatcher")
        try:
            yield self
        finally:
            self._stopping = True
            self._woken.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), GRACE)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _one(self, due: outbox.Due) -> None:
        async with self._sending:
            await self._try(due)

    async def _try(self, due: outbox.Due) -> None:
        n = due.message
        if n is None:  # erased before it went, or unreadable: nothing can be sent
            await outbox.mark(self._pool, due.key, "failed", None, due.problem)
            return
        try:
            outcome = await self._sender.attempt(
                n, due.status, due.channel, first_at=due.created_at, attempt=due.tries
            )
        except Exception as err:  # unexpected: tried again within the window, then failed
            log.error("notify.dispatch_failed", key=due.key, error=str(err))
            wait = self._sender.next_wait(due.created_at, due.tries)
            if wait is None:
                await self._sender.give_up(n, f"could not be sent: {err}")
            else:
                await outbox.defer(self._pool, due.key, wait, f"error: {err}")
            return
        if isinstance(outcome, Later):
            # Quiet hours are no failed try: the backoff after them starts afresh.
            quiet = outcome.type == "QuietHours"
            await outbox.defer(self._pool, due.key, outcome.delay, uncount=quiet)
        # Otherwise settled: its final mark (sent, failed, uncertain) released the row.
