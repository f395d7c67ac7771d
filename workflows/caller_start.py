"""Starts from outside csflow's starter (docs/contract.md): what the caller chose is
checked before anything is persisted or sent.

Pure and deterministic, so the workflow calls it directly; only starts without terms are
checked — csflow's own starter numbers requests from the PostgreSQL counter and sends
terms, and recorded histories must replay unchanged.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from csflow.contracts import ServiceRequestInput
    from csflow.domain.numbering import parse_caller_number
    from csflow.domain.receipt import in_the_future

INVALID_START = "InvalidStart"  # the ApplicationError type a refused start fails with


def start_problem(inp: ServiceRequestInput, workflow_id: str, now: datetime) -> str | None:
    """Why a caller's start input cannot become a request, or None when it can."""
    if inp.carried is not None:
        return "`carried` is internal to continue-as-new; leave it out of a start"
    if inp.number != workflow_id:
        return (f"number {inp.number!r} is not the workflow id {workflow_id!r}; start the "
                "workflow with the request number as its id")
    try:
        parse_caller_number(inp.number, inp.intake.channel)
    except ValueError as err:
        return str(err)
    if in_the_future(inp.received_at, now):
        return (f"received_at {inp.received_at.isoformat()} is in the future (the workflow "
                f"started at {now.isoformat()})")
    return None
