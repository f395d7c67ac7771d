"""`csflow staff …` and `csflow improvement list` from a shell: the directory changes, the
waiting queue drains through `csflow.services.assignment`, and the exit codes are the
shared ones (csflow/cli/exits.py)."""

from __future__ import annotations

from typer.testing import Result

from csflow.cli import exits
from tests.cli.test_request_cli import create
from tests.helpers import eventually, run_cli
from tests.starter.conftest import Stack

DEAD_DB = {"DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}


async def staff(stack: Stack, *args: str, **env: str) -> Result:
    result: Result = await run_cli({**stack.env, **env}, "staff", *args)
    return result


async def test_a_member_coming_on_duty_takes_the_waiting_request(stack: Stack) -> None:
    hired = await staff(
        stack,
        "add",
        "solo",
        "--name",
        "Solo",
        "--role",
        "agent",
        "--department",
        "care",
        "--skill",
        "complaint",
        "--capacity",
        "1",
    )
    assert hired.exit_code == exits.OK, hired.output
    assert "assigned from the queue: none" in hired.output
    busy = await create(stack, "--priority", "P3")  # takes solo's only place
    off = await staff(
        stack,
        "add",
        "boss",
        "--name",
        "Boss",
        "--role",
        "supervisor",
        "--department",
        "care",
        "--skill",
        "complaint",
        "--seniority",
        "3",
        "--off-duty",
    )
    assert off.exit_code == exits.OK, off.output
    waiting = await create(stack, "--priority", "P3", "--customer-id", "C-2002")
    assert (await stack.csflow.state(waiting)).status.value == "received"

    on = await staff(stack, "duty", "boss", "--on")
    assert on.exit_code == exits.OK, on.output
    assert f"assigned from the queue: {waiting}" in on.output

    async def assigned() -> bool:
        view = await stack.csflow.state(waiting)
        return view.assignee == "boss" and view.status.value == "assigned"

    await eventually(assigned)
    assert (await stack.csflow.state(busy)).assignee == "solo"

    listed = await staff(stack, "list")
    assert listed.exit_code == exits.OK, listed.output
    assert "solo" in listed.output and "1/1" in listed.output
    assert "boss" in listed.output


async def test_refusals_and_outages_exit_with_the_shared_codes(stack: Stack) -> None:
    unknown = await staff(stack, "duty", "nobody", "--off")
    assert unknown.exit_code == exits.REFUSED and "no staff member nobody" in unknown.output
    bad = await staff(
        stack,
        "add",
        "x",
        "--name",
        "X",
        "--role",
        "agent",
        "--department",
        "care",
        "--capacity",
        "-1",
    )
    assert bad.exit_code == exits.BAD_INPUT, bad.output
    for args in (["list"], ["duty", "solo", "--on"]):
        down = await staff(stack, *args, **DEAD_DB)
        assert down.exit_code == exits.UNAVAILABLE, (args, down.output)
        assert "PostgreSQL does not answer" in down.output
    tasks = await run_cli({**stack.env, **DEAD_DB}, "improvement", "list")
    assert tasks.exit_code == exits.UNAVAILABLE, tasks.output
    empty = await run_cli(stack.env, "improvement", "list")
    assert empty.exit_code == exits.OK, empty.output


async def test_adding_a_member_again_keeps_their_contact_unless_given(stack: Stack) -> None:
    """`staff add` re-adds a whole entry but has no business clearing where a member's
    notifications go: omitted --email/--phone keep the stored ones."""
    base = ["add", "kim", "--name", "Kim", "--role", "agent", "--department", "care"]
    first = await staff(stack, *base, "--email", "kim@example.com", "--phone", "+86 1380")
    assert first.exit_code == exits.OK, first.output
    again = await staff(stack, *base, "--capacity", "2")
    assert again.exit_code == exits.OK, again.output
    row = await stack.pool.fetchrow("SELECT email, phone, capacity FROM staff WHERE id = 'kim'")
    assert tuple(row) == ("kim@example.com", "+86 1380", 2)
    moved = await staff(stack, *base, "--email", "kim@corp.example")
    assert moved.exit_code == exits.OK, moved.output
    row = await stack.pool.fetchrow("SELECT email, phone FROM staff WHERE id = 'kim'")
    assert tuple(row) == ("kim@corp.example", "+86 1380")


async def test_completing_an_unknown_improvement_task_is_refused_cleanly(stack: Stack) -> None:
    done = await run_cli(
        stack.env,
        "improvement",
        "complete",
        "CS20990101-WEB-0001-IMP1",
        "--what-changed",
        "new packaging",
        "--actor",
        "boss",
    )
    assert done.exit_code == exits.REFUSED, done.output
    assert "no improvement task CS20990101-WEB-0001-IMP1" in done.output
