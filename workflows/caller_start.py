"""Every start of a ServiceRequest (docs/contract.md): what the caller sent is checked
before anything is persisted or sent.

Pure and deterministic, so the workflow calls it directly. Every caller — csflow's own
starter, the API, the importer and services in any language — starts requests the same
way: a number from the numbering workflow (`workflows/numbering.py`) as the workflow id,
no terms (the workflow resolves them through `resolve_terms`). Starts that carry terms
are continue-as-new runs and the recorded histories of earlier releases; they are not
checked here, and must replay unchanged.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from csflow.contracts import ServiceRequestInput
    from csflow.domain.numbering import parse_start_number
    from csflow.domain.receipt import in_the_future

INVALID_START = "InvalidStart"  # the ApplicationError type a refused start fails with


def start_problem(inp: ServiceRequestInput, workflow_id: str, now: datetime) -> str | None:
    """Why a start input cannot become a request, or None when it can.

    Earlier releases also refused serials below 900000 here (a range reserved for callers
    that numbered their own requests). Dropping that check only accepts more, so every
    recorded history — all of whose starts passed it — replays unchanged.
    """
    if inp.carried is not None:
        return "`carried` is internal to continue-as-new; leave it out of a start"
    if inp.number != workflow_id:
        return (
            f"number {inp.number!r} is not the workflow id {workflow_id!r}; start the "
            "workflow with the request number as its id"
        )
    try:
        parse_start_number(inp.number, inp.intake.channel)
    except ValueError as err:
        return str(err)
    if in_the_future(inp.received_at, now):
        return (
            f"received_at {inp.received_at.isoformat()} is in the future (the workflow "
            f"started at {now.isoformat()})"
        )
    return None
