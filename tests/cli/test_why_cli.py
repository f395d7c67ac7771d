"""`csflow request explain-breach | review-breach | cause` and the reports config's keys,
against a real worker, Temporal and PostgreSQL, as from a shell."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_request_cli import SUPERVISOR, create, csflow, history_length
from tests.starter.conftest import Stack


async def test_reason_and_cause_keys_come_from_the_reports_config(
    stack: Stack,
    tmp_path: Path,
) -> None:
    config = tmp_path / "reports.toml"
    config.write_text(
        '[[causes]]\nkey = "courier_damage"\nlabel = "damaged by the courier"\n'
        '[[breach_reasons]]\nkey = "storm"\nlabel = "a storm closed the depot"\n',
        encoding="utf-8",
    )
    env = {"CSFLOW_REPORTS": str(config)}
    number = await create(stack)
    before = await history_length(stack, number)

    # Keys outside the configured lists exit 2 before anything is sent, naming the list.
    unknown = await csflow(
        stack,
        "explain-breach",
        number,
        *SUPERVISOR,
        "--json",
        '{"clock": "first_response", "reason": "peak_volume"}',
        **env,
    )
    assert unknown.exit_code == 2, unknown.output
    assert "unknown reason 'peak_volume'" in unknown.output and "storm" in unknown.output
    cause = await csflow(
        stack,
        "cause",
        number,
        *SUPERVISOR,
        "--json",
        '{"cause": "logistics_delay", "responsible_department": "logistics"}',
        **env,
    )
    assert cause.exit_code == 2 and "courier_damage" in cause.output, cause.output
    assert await history_length(stack, number) == before

    # A configured key reaches the workflow, which refuses what has not breached yet.
    early = await csflow(
        stack,
        "explain-breach",
        number,
        *SUPERVISOR,
        "--json",
        '{"clock": "first_response", "reason": "storm"}',
        **env,
    )
    assert early.exit_code == 1 and "has not breached" in early.output, early.output
    done = await csflow(
        stack,
        "cause",
        number,
        *SUPERVISOR,
        "--json",
        '{"cause": "courier_damage", "responsible_department": "logistics"}',
        **env,
    )
    assert done.exit_code == 0, done.output
    recorded = [e for e in await stack.csflow.timeline(number) if e.kind == "cause_recorded"]
    assert [(e.actor.id, e.data) for e in recorded] == [
        ("sup-1", {"cause": "courier_damage", "responsible_department": "logistics"})
    ]

    # A broken config is the deployment's fault: exit 3, nothing sent.
    config.write_text("[[causes]\n", encoding="utf-8")
    broken = await csflow(
        stack,
        "cause",
        number,
        *SUPERVISOR,
        "--json",
        '{"cause": "courier_damage", "responsible_department": "x"}',
        **env,
    )
    assert broken.exit_code == 3 and "reports config" in broken.output, broken.output
