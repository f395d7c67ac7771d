"""A failed Update-with-Start leaves no unretrieved future behind (asyncio would log
"Future exception was never retrieved" with a traceback for every failed number)."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WithStartWorkflowOperation
from temporalio.service import RPCError, RPCStatusCode

from csflow.contracts import Contact, Customer, RequestIntake
from csflow.domain.codes import Category, Channel, Priority
from starter.errors import TemporalUnavailable
from starter.numbering import Numbering


class AbortingClient:
    """Fails Update-with-Start as temporalio 1.35 does when the server aborts it: the
    error is set on the start operation's future, then raised."""

    async def execute_update_with_start_workflow(
        self, *_: Any, start_workflow_operation: WithStartWorkflowOperation[Any, Any], **__: Any
    ) -> Any:
        err = RPCError("workflow update was aborted", RPCStatusCode.ABORTED, b"")
        start_workflow_operation._workflow_handle.set_exception(err)
        raise err


async def _known(_: str) -> bool:
    return False


async def test_an_aborted_number_is_unavailable_and_logs_no_stray_future() -> None:
    stray: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: stray.append(context))
    intake = RequestIntake(
        customer=Customer(id="C-1", name="A", contact=Contact(email="a@example.com")),
        channel=Channel.WEB,
        category=Category.CONSULTATION,
        priority=Priority.P3,
        description="Where is my parcel?",
        external_id="x-1",
    )
    numbering = Numbering(AbortingClient(), "q", timedelta(seconds=5), _known)  # type: ignore[arg-type]
    try:
        with pytest.raises(TemporalUnavailable, match="aborted"):
            await numbering.number(intake, datetime.now(UTC))
        gc.collect()  # the operation and its future are garbage now
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert [c for c in stray if "never retrieved" in c.get("message", "")] == []
