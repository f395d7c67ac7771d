"""Reading a request: its view, its timeline, a page of the list.

With a PostgreSQL pool the client reads the persisted row: it outlives Temporal's
retention, and it costs two indexed SELECTs where the workflow's `get_state` query costs
a worker activation — and, for a run that has ended, a replay of its whole history in a
fresh sandbox. Without a pool (a backend service with Temporal alone) the workflow
answers. Part of CsflowClient (starter/client.py), which holds the connections.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError

from csflow.contracts import RequestView, TimelineEvent, read_update_result
from csflow.store import listing
from csflow.store import requests as store
from csflow.store.listing import DEFAULT_LIMIT, RequestFilter, RequestPage
from starter.errors import (
    NoDatabase,
    RequestEnded,
    RequestNotFound,
    TemporalUnavailable,
    translated,
)

T = TypeVar("T")


class Reads:
    """CsflowClient's reads; the client sets `_client` and `_pool`."""

    _client: Client
    _pool: asyncpg.Pool[Any] | None

    async def state(self, number: str) -> RequestView:
        """The request's view: with a pool, the persisted one (the workflow's query only
        while intake is still being written); without, the workflow's `get_state` query,
        which a worker answers (also for an ended request still in retention)."""
        if self._pool is not None:
            view = await store.get_request(self._pool, number)
            if view is not None:
                return view
        handle = self._client.get_workflow_handle(number)
        return await self._guard(handle.query("get_state", result_type=RequestView), number)

    async def timeline(self, number: str) -> list[TimelineEvent]:
        """The audited events: from PostgreSQL with a pool, else from the workflow."""
        if self._pool is not None:
            events = await listing.timeline(self._pool, number)
            if events or await listing.request_exists(self._pool, number):
                return events
        return (await self.state(number)).timeline

    async def view_after(self, number: str, update: Awaitable[Any]) -> RequestView:
        """The request's view once `update` is answered. Since patch `receipts-and-row-changes`
        an Update answers with a CommandReceipt (the view is not written into history on
        every command): the view is then read with the `get_state` query, which sees the
        command's effects (a worker answers it, also once the request has ended) — or,
        with a pool, from PostgreSQL. A run from before the patch answers with the view."""
        result = read_update_result(await update)
        if isinstance(result, RequestView):
            return result
        if self._pool is not None:
            # The receipt is sent only once its events are persisted: a row whose events
            # reach `seq` holds the command's effects. Reading it costs two indexed
            # SELECTs; the query would cost a worker activation — and, once the command
            # ended the run, a replay of its whole history in a fresh sandbox.
            persisted = await store.get_request(self._pool, number)
            if (
                persisted is not None
                and persisted.timeline[-1:]
                and (persisted.timeline[-1].seq >= result.seq)
            ):
                return persisted
        view: RequestView = await self._client.get_workflow_handle(number).query(
            "get_state", result_type=RequestView
        )
        return view

    async def _ended_view(self, number: str) -> RequestView | None:
        try:
            return await self.state(number)
        except (RequestNotFound, RequestEnded, TemporalUnavailable, RPCError):
            return None

    async def _customer_of(self, number: str) -> str:
        """The request's customer id: from the row, else from the workflow."""
        if self._pool is not None:
            found = await self._pool.fetchval(
                "SELECT customer_id FROM requests WHERE number = $1", number
            )
            if found is not None:
                return str(found)
        return (await self.state(number)).customer_id

    async def _known(self, number: str) -> bool:
        """Did a request with this number ever exist? The persisted row when there is a
        pool (it outlives Temporal's retention), else the workflow's own record."""
        if self._pool is not None:
            try:
                return await listing.request_exists(self._pool, number)
            except (OSError, asyncpg.PostgresError):
                return False  # the database is down too: say what Temporal said
        try:
            await self._client.get_workflow_handle(number).describe()
        except RPCError:
            return False
        return True

    async def _guard(self, call: Awaitable[T], number: str) -> T:
        """`call`'s answer, or the error a caller acts on (starter/errors.py)."""
        return await translated(call, number, self._known)

    # Last in the class: from here on `list` in this class body names the method.
    async def list(
        self,
        filter: RequestFilter | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> RequestPage:
        """One page of requests, newest first; pass `next_cursor` back for the next.

        Reads PostgreSQL: raises `NoDatabase` on a client without a pool, and
        `InvalidCursor` (a ValueError) for a cursor this client did not hand out.
        """
        if self._pool is None:
            raise NoDatabase(
                "listing requests reads PostgreSQL: build the client with a "
                "pool (from_env(database=True) or DATABASE_URL set)"
            )
        return await listing.list_requests(
            self._pool, filter or RequestFilter(), limit=limit, cursor=cursor
        )
