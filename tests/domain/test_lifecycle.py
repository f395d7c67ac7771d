from __future__ import annotations

import pytest

from csflow.domain.codes import Priority
from csflow.domain.lifecycle import LEGAL, Command, IllegalTransition, Status, check


@pytest.mark.parametrize("command", list(Command))
@pytest.mark.parametrize("status", list(Status))
def test_every_command_in_every_state(command: Command, status: Status) -> None:
    if status in LEGAL[command]:
        check(command, status)
        assert not status.terminal
    else:
        with pytest.raises(IllegalTransition) as caught:
            check(command, status)
        assert command.value in str(caught.value)
        assert status.value in str(caught.value)


def test_terminal_states_take_no_command() -> None:
    for command in Command:
        assert not LEGAL[command] & {Status.CLOSED, Status.CANCELLED}


@pytest.mark.parametrize(("before", "after"),
                         [(Priority.P3, Priority.P2), (Priority.P2, Priority.P1),
                          (Priority.P1, Priority.P1)])
def test_rehandling_raises_priority_one_level(before: Priority, after: Priority) -> None:
    assert before.raised() is after
