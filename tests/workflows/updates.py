"""Running a command and reading the request as it stands afterwards.

Since patch `receipts-and-row-changes` an Update answers with a CommandReceipt, not the
whole view; tests that check the view after a command read it the way csflow's callers
do (starter.CsflowClient.view_after): the `get_state` query once the Update is answered.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from csflow.contracts import RequestView, read_update_result
from workflows.service_request import ServiceRequestWorkflow


async def act(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> RequestView:
    """Run `update` with `arg`; the view after it (the receipt checked against it)."""
    result = read_update_result(await handle.execute_update(update, arg))
    if isinstance(result, RequestView):  # a run from before the patch
        return result
    view: RequestView = await handle.query(ServiceRequestWorkflow.get_state)
    # The receipt names the request and an event it has (later ones may have followed).
    assert result.number == view.number and result.seq <= view.timeline[-1].seq
    return view


async def ended(handle: WorkflowHandle[Any, Any]) -> RequestView:
    """The view a request ended with: the run's result is a receipt since the patch, and a
    worker still answers the query for an ended run (replaying it)."""
    result = read_update_result(await handle.result())
    if isinstance(result, RequestView):
        return result
    view: RequestView = await handle.query(ServiceRequestWorkflow.get_state)
    assert result.number == view.number and result.seq == view.timeline[-1].seq
    return view
