"""The lifecycle table checked against one written by hand from docs/requirements.md §3.

`EXPECTED` is deliberately laid out the other way round from `csflow.domain.lifecycle.LEGAL`
(state → commands instead of command → states) and spelt with plain strings, so it cannot
be derived from the code it checks. Each row says why, in the requirements' terms.
"""

from __future__ import annotations

import pytest

from csflow.domain.codes import Priority
from csflow.domain.lifecycle import LEGAL, Command, IllegalTransition, Status, check

# Commands any open request takes: cancel it, re-prioritise it, push a corrected
# calendar to it, decide a compensation already asked for (§3, §4).
ANY_OPEN = {
    "cancel",
    "change_priority",
    "update_calendar",
    "decide_compensation",
    # ... and say why a deadline was missed, review that, name a root cause
    # (issue 16): breaches and causes are explained while the request runs.
    "explain_breach",
    "review_breach",
    "record_cause",
}
# Work on the request while someone holds it (§3.2–3.3): plan, progress, resolve, the
# customer-wait pause and its end, asking for compensation; a supervisor may escalate
# or hand it to someone else.
HANDLING = ANY_OPEN | {
    "submit_plan",
    "post_progress",
    "resolve",
    "wait_for_customer",
    "customer_replied",
    "request_compensation",
    "escalate",
    "reassign",
}
# After resolution the request can be closed, or re-opened by a supervisor (§3.4).
AFTER_RESOLUTION = ANY_OPEN | {"close", "order_rehandling"}

EXPECTED: dict[str, set[str]] = {
    # Waiting for an owner: the queue assigns it, a supervisor may assign or escalate it.
    "received": ANY_OPEN | {"assignment_made", "reassign", "escalate"},
    "assigned": HANDLING,
    "in_progress": HANDLING,
    "rehandling": HANDLING,  # back in progress with raised priority (§3.4)
    "escalated": HANDLING,
    # The customer is asked; their answer, or a supervisor re-opening it, moves it on.
    "awaiting_confirmation": ANY_OPEN
    | {"confirm", "order_rehandling", "reassign", "escalate", "request_compensation"},
    "resolved": AFTER_RESOLUTION,
    "follow_up_scheduled": AFTER_RESOLUTION | {"record_follow_up"},  # §3.6 the visit
    "followed_up": AFTER_RESOLUTION,
    # Ended requests take no command at all (§3: closed and cancelled are final).
    "closed": set(),
    "cancelled": set(),
}

# The states §3 names (its "planned/assigned" is one state here).
REQUIRED_STATES = {
    "received",
    "assigned",
    "in_progress",
    "awaiting_confirmation",
    "resolved",
    "follow_up_scheduled",
    "followed_up",
    "closed",
    "rehandling",
    "escalated",
    "cancelled",
}


def test_every_state_the_requirements_name_exists() -> None:
    assert {s.value for s in Status} == REQUIRED_STATES
    assert {s.value for s in Status if s.terminal} == {"closed", "cancelled"}


def test_the_hand_written_table_covers_every_state_and_command() -> None:
    assert set(EXPECTED) == {s.value for s in Status}
    named = set().union(*EXPECTED.values())
    assert named == {c.value for c in Command}, "a command is legal nowhere, or unknown"


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_legal_commands_per_state_match_the_hand_written_table(status: Status) -> None:
    actual = {command.value for command, states in LEGAL.items() if status in states}
    assert actual == EXPECTED[status.value], (
        f"{status.value}: the code also allows {sorted(actual - EXPECTED[status.value])}, "
        f"and refuses {sorted(EXPECTED[status.value] - actual)}"
    )


@pytest.mark.parametrize("command", list(Command), ids=str)
@pytest.mark.parametrize("status", list(Status), ids=str)
def test_check_refuses_exactly_what_the_table_refuses(command: Command, status: Status) -> None:
    if command.value in EXPECTED[status.value]:
        check(command, status)
        return
    with pytest.raises(IllegalTransition) as caught:
        check(command, status)
    # The reason names the command and the state, so a person can act on it.
    assert command.value in str(caught.value)
    assert status.value in str(caught.value)


@pytest.mark.parametrize(
    ("before", "after"),
    [(Priority.P3, Priority.P2), (Priority.P2, Priority.P1), (Priority.P1, Priority.P1)],
)
def test_rehandling_raises_priority_one_level(before: Priority, after: Priority) -> None:
    assert before.raised() is after
