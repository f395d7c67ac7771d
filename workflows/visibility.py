"""What ops see of a request in the Temporal UI: search attributes and current details.

Called on every transition. Only codes and staff ids are published — search attribute
values are stored unencrypted, so nothing of the customer's name, contact or words goes
here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from csflow import search_attributes as sa
    from csflow.contracts import RequestState


def publish(
    s: RequestState,
    problem: str | None = None,
    persist: str = "ok",
    *,
    since: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`persist`: PersistState, whether PostgreSQL holds what the workflow knows.

    Returns the values published. With `since` (the values last published in this run),
    only those that changed are upserted — none, no command — so history does not repeat
    nine attributes after every event (the service request's patch
    `receipts-and-row-changes`)."""
    values: dict[str, Any] = {
        sa.REQUEST_STATUS.name: s.status.value,
        sa.PRIORITY.name: s.priority.value,
        sa.CATEGORY.name: s.category.value,
        sa.CHANNEL.name: s.channel.value,
        sa.CUSTOMER_TIER.name: s.tier.value,
        sa.SLA_STATE.name: s.sla_state.value,
        sa.ASSIGNEE.name: s.assignee or None,
        sa.NEXT_DEADLINE.name: s.next_deadline,
        sa.PERSIST_STATE.name: persist,
    }
    updates = [
        _update(name, value)
        for name, value in values.items()
        if since is None or name not in since or since[name] != value
    ]
    if updates:
        workflow.upsert_search_attributes(updates)
    workflow.set_current_details(details(s, problem))
    return values


_KEYS: Mapping[str, SearchAttributeKey[Any]] = MappingProxyType(
    {
        k.name: k
        for k in (
            sa.REQUEST_STATUS,
            sa.PRIORITY,
            sa.CATEGORY,
            sa.CHANNEL,
            sa.CUSTOMER_TIER,
            sa.SLA_STATE,
            sa.ASSIGNEE,
            sa.NEXT_DEADLINE,
            sa.PERSIST_STATE,
        )
    }
)


def _update(name: str, value: Any) -> SearchAttributeUpdate[Any]:
    key = _KEYS[name]
    return key.value_unset() if value is None else key.value_set(value)


def details(s: RequestState, problem: str | None = None) -> str:
    """Markdown for the UI's "current details": state, colour, and the next deadline."""
    deadline = s.next_deadline.isoformat() if s.next_deadline else "none"
    flags = [
        "waiting on the customer (clocks paused)" if s.awaiting_customer else "",
        "marked delayed" if s.delayed else "",
        f"escalated to {s.escalated_to}" if s.escalated_to else "",
    ]
    lines = [
        f"**{s.status.value}** · {s.priority.value} · SLA {s.sla_state.value}",
        "",
        f"Assignee: {s.assignee or 'unassigned'}  ",
        f"Next deadline: {deadline}  ",
        f"SLA cycle: {s.sla_cycle} · re-handled {s.rehandle_count}×",
    ]
    if any(flags):
        lines += ["", " · ".join(f for f in flags if f)]
    open_clocks = [c for c in s.clocks if c.open]
    if open_clocks:
        lines += ["", "| clock | due | state |", "|---|---|---|"]
        for c in open_clocks:
            due = c.due_at.isoformat() if c.due_at else "paused"
            state = "breached" if c.breached_at else f"{c.warnings_fired} warning(s)"
            lines.append(f"| {c.id} | {due} | {state} |")
    if problem:
        lines += ["", f"⚠ {problem}"]
    return "\n".join(lines)
