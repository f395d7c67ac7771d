"""The personal data a message needs, opened for sending: the customer's contact and the
problem an improvement alert quotes.

Separate from the audited reads (`reads.py`) because these are a machine's use, not a
person's read, so they write no `personal_data_reads` row; they run inside the notify
activity, the only place a message is rendered.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from csflow.crypto import at_rest
from csflow.crypto.at_rest import ERASED
from csflow.domain.events import EventKind


async def contact_for_sending(pool: Any, number: str, customer_id: str) -> dict[str, Any] | None:
    """The customer's contact for a message csflow sends them (not a person's read, so not
    in `personal_data_reads`): None while the request row is not written yet, {} once the
    customer is erased. The workflow hands the notify activity only the request number and
    the customer id; the address is looked up here, inside the activity."""
    row = await pool.fetchrow(
        """SELECT customer_contact, customer_sealed, personal_data_erased_at FROM requests
           WHERE number = $1 AND customer_id = $2""",
        number,
        customer_id,
    )
    if row is None:
        return None
    if row["personal_data_erased_at"] is not None:
        return {}
    if row["customer_sealed"] is None:  # a row from before sealing
        stored = row["customer_contact"]
        return json.loads(stored) if isinstance(stored, str) else dict(stored or {})
    person, erased = await at_rest.open_or_erased(pool, row["customer_sealed"])
    return {} if erased else dict(person["contact"])


# What the improvement child and the staff alerts carry instead of the problem text
# (csflow.contracts.intake.problem_reference): resolved only where a message is rendered.
PROBLEM_REFERENCE = re.compile(r"@improvement_opened:([A-Za-z0-9_.:-]+?-IMP[0-9]+)")


async def improvement_problem(pool: Any, task_id: str, wait_s: float = 3.0) -> str | None:
    """The problem an improvement task was opened for, from the parent request's
    `improvement_opened` event (sealed with the customer's key): "(erased)" after erasure,
    None while that event is not written yet (waited for up to `wait_s`: the alert is
    planned as the event is recorded, the write follows within moments)."""
    number = task_id.rsplit("-IMP", 1)[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        row = await pool.fetchrow(
            """SELECT e.reason, e.sealed, r.personal_data_erased_at
               FROM request_events e JOIN requests r USING (number)
               WHERE e.number = $1 AND e.kind = $2 AND e.data->>'task_id' = $3
               ORDER BY e.seq LIMIT 1""",
            number,
            EventKind.IMPROVEMENT_OPENED.value,
            task_id,
        )
        if row is not None:
            break
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(0.1)
    if row["personal_data_erased_at"] is not None:
        return ERASED
    if row["sealed"] is None:  # a row from before sealing
        return str(row["reason"] or "")
    words, erased = await at_rest.open_or_erased(pool, row["sealed"])
    return ERASED if erased else str((words or {}).get("reason", ""))


async def resolve_problem_references(pool: Any, variables: dict[str, Any]) -> dict[str, Any]:
    """A message's variables with each problem reference replaced by the problem's text
    (what `send_notification` renders; the reference is what Temporal and the outbox
    keep). A problem not written yet reads as the task it belongs to."""
    out = dict(variables)
    for name, value in variables.items():
        if not isinstance(value, str) or "@improvement_opened:" not in value:
            continue
        texts: dict[str, str] = {}
        for task_id in PROBLEM_REFERENCE.findall(value):
            found = await improvement_problem(pool, task_id)
            texts[task_id] = found if found is not None else f"improvement task {task_id}"
        out[name] = _substitute(value, texts)
    return out


def _substitute(value: str, texts: dict[str, str]) -> str:
    return PROBLEM_REFERENCE.sub(lambda m: texts.get(m.group(1), m.group(0)), value)
