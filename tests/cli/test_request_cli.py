"""`csflow request …` against a real worker, Temporal and PostgreSQL, as from a shell."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from csflow.cli import app
from csflow.commands import COMMANDS
from tests.helpers import run_cli
from tests.starter.conftest import Stack

NUMBER = re.compile(r"CS\d{8}-[A-Z]{3}-\d{4,}")
SUPERVISOR = ["--actor", "sup-1", "--role", "supervisor"]


async def csflow(stack: Stack, *args: str, **env: str) -> Result:
    # In a thread: the command runs its own event loop (asyncio.run) as from a shell,
    # while this loop keeps the worker running.
    result: Result = await run_cli({**stack.env, **env}, "request", *args)
    return result


async def create(stack: Stack, *args: str) -> str:
    made = await csflow(
        stack,
        "create",
        "--customer-id",
        "C-1001",
        "--customer-name",
        "Li Lei",
        "--phone",
        "+86 138 0000 0000",
        "--channel",
        "phone",
        "--category",
        "complaint",
        "--description",
        "parcel arrived broken",
        *args,
    )
    assert made.exit_code == 0, made.output
    # The worker runs in this process: its log lines (other requests' numbers) can land
    # in the captured output, so the number is read from the command's own line.
    lines = [line for line in made.stdout.splitlines() if "created" in line]
    found = NUMBER.search(lines[0] if lines else made.stdout)
    assert found, made.stdout
    return found.group()


async def history_length(stack: Stack, number: str) -> int:
    """Updates the workflow accepted: what a command that reached it would add (the
    history's own length also grows with notifications still being sent)."""
    history = await stack.client.get_workflow_handle(number).fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    )


def test_one_subcommand_per_command() -> None:
    listed = CliRunner().invoke(app, ["request", "--help"], env={"COLUMNS": "200"})
    for spec in COMMANDS:
        assert f" {spec.path.replace('/', '-')} " in listed.stdout, spec.path


async def test_create_from_options_and_from_a_file(stack: Stack, tmp_path: Path) -> None:
    first = await create(stack, "--priority", "P1")
    assert (await stack.csflow.state(first)).priority.value == "P1"

    intake = tmp_path / "intake.json"
    intake.write_text(
        json.dumps(
            {
                "customer": {
                    "id": "C-2002",
                    "name": "Han Mei",
                    "tier": "vip",
                    "contact": {"email": "han.mei@example.com"},
                },
                "channel": "email",
                "category": "after_sales",
                "description": "exchange the kettle",
                "external_id": "crm-77",
            }
        ),
        encoding="utf-8",
    )
    made = await csflow(
        stack,
        "create",
        "--file",
        str(intake),
        "--priority",
        "P2",
        "--actor",
        "agent-007",
        "--role",
        "agent",
    )
    assert made.exit_code == 0, made.output
    assert "created" in made.stdout and "assigned" in made.stdout
    # The worker runs in this process: its log lines can land in the captured output.
    created_line = next(line for line in made.stdout.splitlines() if "created" in line)
    number = NUMBER.search(created_line).group()  # type: ignore[union-attr]
    again = await csflow(stack, "create", "--file", str(intake), "--quiet")
    assert (again.exit_code, again.stdout.strip().splitlines()[-1]) == (0, number)
    state = await stack.csflow.state(number)
    assert (state.priority.value, state.tier.value, state.channel.value) == ("P2", "vip", "email")
    recorded = await stack.pool.fetchrow(
        "SELECT actor_id, actor_role FROM request_events WHERE number = $1 AND seq = 1", number
    )
    assert tuple(recorded) == ("agent-007", "agent")


def rows(result: Result) -> str:
    """The table's rows only: the worker in this process may log a line about another
    request (a notification) into the same captured output while the command runs."""
    return "\n".join(ln for ln in result.stdout.splitlines() if ln.startswith("CS"))


async def test_list_prints_a_table_and_pages(stack: Stack) -> None:
    older = await create(stack, "--priority", "P1")
    newer = await create(stack, "--priority", "P3")

    listed = await csflow(stack, "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.index(newer) < listed.stdout.index(older)
    header = next(ln for ln in listed.stdout.splitlines() if "number" in ln)
    assert header.split() == [
        "number",
        "status",
        "pri",
        "SLA",
        "category",
        "assignee",
        "due",
        "received",
    ]
    assert "Li Lei" not in listed.stdout and "138" not in listed.stdout

    p1 = rows(await csflow(stack, "list", "--priority", "P1", "--status", "assigned"))
    assert older in p1 and newer not in p1

    page = await csflow(stack, "list", "--limit", "1")
    assert newer in rows(page) and older not in rows(page)
    cursor = re.search(r"more: --cursor (\S+)", page.stdout)
    assert cursor, page.stdout
    rest = await csflow(stack, "list", "--limit", "1", "--cursor", cursor.group(1))
    assert older in rows(rest) and newer not in rows(rest) and "more:" not in rest.stdout

    none = await csflow(stack, "list", "--sla-state", "red")
    assert none.exit_code == 0 and "no requests match" in none.stdout
    bad = await csflow(stack, "list", "--cursor", "garbage")
    assert bad.exit_code == 2 and "cursor" in bad.output


async def test_a_supervisor_escalates_and_the_timeline_shows_it(
    stack: Stack, tmp_path: Path
) -> None:
    number = await create(stack)
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps({"measures": ["send a replacement"], "eta": "2030-01-01T10:00:00+08:00"}),
        encoding="utf-8",
    )
    # The actor from the environment, as an agent's shell profile would set it.
    planned = await csflow(
        stack, "plan", number, "--file", str(plan), CSFLOW_ACTOR="agent-007", CSFLOW_ROLE="agent"
    )
    assert planned.exit_code == 0, planned.output
    assert f"{number}: in_progress" in planned.stdout

    escalated = await csflow(
        stack,
        "escalate",
        number,
        *SUPERVISOR,
        "--json",
        '{"reason": "customer called three times", "priority": "P1"}',
    )
    assert escalated.exit_code == 0, escalated.output
    assert "P1" in escalated.stdout

    shown = await csflow(stack, "show", number)
    assert shown.exit_code == 0, shown.output
    line = next(ln for ln in shown.stdout.splitlines() if "sup-1" in ln)
    assert " escalated " in line
    assert "sup-1 (supervisor)" in line and "customer called three times" in line
    assert "plan_submitted" in shown.stdout and "agent-007 (agent)" in shown.stdout
    assert "send a replacement" in shown.stdout  # the state table shows the plan

    event = await stack.pool.fetchrow(
        "SELECT actor_id, actor_role, reason FROM request_events "
        "WHERE number = $1 AND kind = 'escalated'",
        number,
    )
    assert tuple(event) == ("sup-1", "supervisor", "customer called three times")


async def test_bad_input_exits_2_and_sends_nothing(stack: Stack, tmp_path: Path) -> None:
    number = await create(stack)
    before = (await history_length(stack, number), len(await stack.csflow.timeline(number)))

    cases: list[tuple[list[str], str]] = [
        (["escalate", number, *SUPERVISOR, "--json", "{reason: oops}"], "not valid JSON"),
        (["escalate", number, *SUPERVISOR, "--json", "[1, 2]"], "must be a JSON object"),
        (["escalate", number, *SUPERVISOR, "--json", '{"priority": "P1"}'], "reason"),
        (
            ["escalate", number, *SUPERVISOR, "--json", '{"reason": "x", "priority": "P7"}'],
            "priority",
        ),
        (["escalate", number, *SUPERVISOR, "--json", '{"reason": "x", "urgent": true}'], "urgent"),
        (["cancel", number, "--json", '{"reason": "duplicate"}'], "hint: the actor comes"),
        (["cancel", number, "--actor", "agent-007", "--json", '{"reason": "dup"}'], "actor.role"),
        (["cancel", number, "--file", str(tmp_path / "missing.json"), *SUPERVISOR], "cannot read"),
        (["cancel", number, "--json", "{}", "--file", "x.json", *SUPERVISOR], "not both"),
    ]
    for args, named in cases:
        result = await csflow(stack, *args)
        assert result.exit_code == 2, (args, result.output)
        assert named in result.output, (args, result.output)

    # Nothing reached the workflow: no Update in its history, no event in its timeline.
    after = (await history_length(stack, number), len(await stack.csflow.timeline(number)))
    assert after == before
    # And nothing was even dialled: with both servers unreachable the answer is the same.
    dead = {"TEMPORAL_ADDRESS": "127.0.0.1:9", "DATABASE_URL": "postgresql://x@127.0.0.1:9/x"}
    offline = await csflow(stack, "escalate", number, *SUPERVISOR, "--json", "{", **dead)
    assert offline.exit_code == 2, offline.output
    down = await csflow(stack, "show", number, **dead)
    assert down.exit_code == 3 and "nothing was changed" in down.output


async def test_refused_and_unknown_exit_1_with_the_reason(stack: Stack) -> None:
    number = await create(stack)
    early = await csflow(
        stack,
        "confirm",
        number,
        "--actor",
        "C-1001",
        "--role",
        "customer",
        "--json",
        '{"satisfied": true}',
    )
    assert early.exit_code == 1, early.output
    assert "IllegalTransition" in early.output and "assigned" in early.output

    agent = await csflow(
        stack,
        "escalate",
        number,
        "--actor",
        "agent-007",
        "--role",
        "agent",
        "--json",
        '{"reason": "please", "priority": "P1"}',
    )
    assert agent.exit_code == 1 and "supervisor" in agent.output, agent.output

    for args in (
        ["show", "CS20000101-WEB-0001"],
        ["cancel", "CS20000101-WEB-0001", *SUPERVISOR, "--json", '{"reason": "x"}'],
    ):
        result = await csflow(stack, *args)
        assert result.exit_code == 1, result.output
        assert "no request CS20000101-WEB-0001" in result.output

    state: Any = await stack.csflow.state(number)
    assert state.status.value == "assigned" and state.priority.value == "P3"


async def test_escalate_reassign_approve_and_rehandle_through_the_cli(stack: Stack) -> None:
    """Issue 4's supervisor commands, from a shell: each is an Update in the workflow's
    history, an audited timeline row with its actor, and visible in search attributes."""
    from csflow import search_attributes as sa
    from csflow.store.staff import StaffMember, upsert_staff
    from tests.helpers import eventually

    async def hire(sid: str, role: str) -> None:
        await upsert_staff(
            stack.pool,
            StaffMember(
                id=sid,
                name=sid.title(),
                role=role,
                department="care",
                skills=["complaint"],
                seniority=3,
                capacity=5,
            ),
        )

    await hire("solo", "agent")
    number = await create(stack, "--priority", "P3")  # assigned to solo
    await hire("boss", "supervisor")
    holder = ["--actor", "boss", "--role", "supervisor"]  # holds it after the reassign
    steps = [
        ("escalate", SUPERVISOR, {"reason": "shop-wide outage", "priority": "P1"}),
        ("reassign", SUPERVISOR, {"to_staff": "boss", "reason": "I take it myself"}),
        ("compensation", holder, {"amount": "900", "reason": "a day of lost sales"}),
        ("compensation-decision", SUPERVISOR, {"approve": True, "reason": "goodwill"}),
        ("resolve", holder, {"summary": "restored"}),
        ("confirm", ["--actor", "C-1001", "--role", "customer"], {"satisfied": True}),
        ("rehandle", SUPERVISOR, {"reason": "root cause not fixed"}),
    ]
    for command, actor, body in steps:
        done = await csflow(stack, command, number, *actor, "--json", json.dumps(body))
        assert done.exit_code == 0, (command, done.output)

    handle = stack.client.get_workflow_handle(number)
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    for name in ("escalate", "reassign", "decide_compensation", "order_rehandling"):
        assert name in updates, updates
    rows = await stack.pool.fetch(
        "SELECT kind, actor_id FROM request_events WHERE number = $1 AND kind = ANY($2) "
        "ORDER BY seq",
        number,
        ["escalated", "reassigned", "compensation_approved", "rehandling_started"],
    )
    assert [(r["kind"], r["actor_id"]) for r in rows] == [
        ("escalated", "sup-1"),
        ("reassigned", "sup-1"),
        ("compensation_approved", "sup-1"),
        ("rehandling_started", "sup-1"),
    ]

    async def searchable() -> None:
        query = (
            f"WorkflowId = '{number}' AND Assignee = 'boss' AND Priority = 'P1' "
            "AND RequestStatus = 'rehandling'"
        )
        assert [w.id async for w in stack.client.list_workflows(query)] == [number]

    await eventually(searchable, timeout=20)
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.REQUEST_STATUS) == "rehandling"
