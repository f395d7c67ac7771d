"""Ops faces of the SLA engine: a calendar push to running requests, the policy check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from csflow.cli import app
from csflow.contracts import Actor
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Role
from tests.api.conftest import Api
from tests.helpers import intake

OPS = Actor(id="ops-1", role=Role.ADMIN)


async def test_a_calendar_push_reaches_every_running_request_once(api: Api) -> None:
    numbers = [
        (await api.http.post("/requests", json=intake().model_dump(mode="json"))).json()["number"]
        for _ in range(3)
    ]
    closed = numbers.pop()
    r = await api.http.post(
        f"/requests/{closed}/cancel", json={"actor": {"id": "a", "role": "agent"}, "reason": "dup"}
    )
    assert r.status_code == 200

    calendar = BusinessCalendar(holidays=frozenset({date(2026, 12, 1)}))
    result = await api.csflow.push_calendar(calendar, OPS)
    assert sorted(result.updated) == sorted(numbers) and result.failed == {}
    again = await api.csflow.push_calendar(calendar, OPS)
    assert sorted(again.updated) == sorted(numbers)

    for number in numbers:
        kinds = [
            r["kind"]
            for r in await api.pool.fetch(
                "SELECT kind FROM request_events WHERE number = $1 ORDER BY seq", number
            )
        ]
        assert kinds.count("calendar_updated") == 1, "a repeated push changes nothing"


def test_policy_check_names_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text("[escalation]\nP4 = []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert "escalation.P4" in result.output
    good = tmp_path / "good.toml"
    good.write_text('version = "2026-11"\n[sla.P1]\nfirst_response = "10m"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["policy", "check", str(good)])
    assert result.exit_code == 0 and "version 2026-11" in result.output
