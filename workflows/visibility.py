"""What ops see of a request in the Temporal UI: search attributes and current details.

Called on every transition. Only codes and staff ids are published — search attribute
values are stored unencrypted, so nothing of the customer's name, contact or words goes
here.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from csflow import search_attributes as sa
    from csflow.contracts import RequestState


def publish(s: RequestState, problem: str | None = None, persist: str = "ok") -> None:
    """`persist`: PersistState, whether PostgreSQL holds what the workflow knows."""
    workflow.upsert_search_attributes(
        [
            sa.REQUEST_STATUS.value_set(s.status.value),
            sa.PRIORITY.value_set(s.priority.value),
            sa.CATEGORY.value_set(s.category.value),
            sa.CHANNEL.value_set(s.channel.value),
            sa.CUSTOMER_TIER.value_set(s.tier.value),
            sa.SLA_STATE.value_set(s.sla_state.value),
            sa.ASSIGNEE.value_set(s.assignee) if s.assignee else sa.ASSIGNEE.value_unset(),
            sa.NEXT_DEADLINE.value_set(s.next_deadline)
            if s.next_deadline
            else sa.NEXT_DEADLINE.value_unset(),
            sa.PERSIST_STATE.value_set(persist),
        ]
    )
    workflow.set_current_details(details(s, problem))


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
