"""Who may do what over the API: tokens bound to roles, actors bound to tokens (issue 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from csflow.api.auth import command_roles
from csflow.commands import COMMANDS
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Command
from csflow.store import tokens
from csflow.store.tokens import TOKEN_ROLES
from tests.api.conftest import Api
from tests.helpers import bearer, intake, token_for

UNKNOWN = "CS20990101-WEB-0001"


def body() -> dict[str, object]:
    return intake(priority="P3").model_dump(mode="json", exclude_none=True)


async def test_every_command_route_admits_exactly_its_roles(api: Api) -> None:
    """403 with the reason for a role outside the command's; inside it, the call gets past
    the gate to the body's validation (422) or the request lookup (404)."""
    headers = {role: bearer(await token_for(api.pool, role.value)) for role in TOKEN_ROLES}
    for spec in COMMANDS:
        allowed = command_roles(spec.command)
        for role in TOKEN_ROLES:
            r = await api.http.post(
                f"/requests/{UNKNOWN}/{spec.path}", json={}, headers=headers[role]
            )
            if role in allowed:
                assert r.status_code in (404, 422), (spec.path, role, r.text)
            else:
                assert r.status_code == 403, (spec.path, role, r.text)
                assert spec.command.value in r.json()["detail"]
                assert f"this token's role is {role.value}" in r.json()["detail"]
    # Steering is the supervisors'; the queue's own command is nobody's over the API.
    assert Role.AGENT not in command_roles(Command.ESCALATE)
    assert not command_roles(Command.ASSIGNMENT_MADE)


async def test_a_person_acts_as_themselves_and_cannot_sign_for_another(api: Api) -> None:
    agent = bearer(await token_for(api.pool, "agent", "solo"))
    boss = bearer(await token_for(api.pool, "supervisor", "boss"))
    created = await api.http.post("/requests", json=body(), headers=agent)
    assert created.status_code in (201, 202), created.text
    n = created.json()["number"]
    recorded = await api.pool.fetchrow(
        "SELECT actor_id, actor_role FROM request_events WHERE number = $1 AND seq = 1", n
    )
    assert (recorded["actor_id"], recorded["actor_role"]) == ("solo", "agent")

    r = await api.http.post(
        f"/requests/{n}/progress",
        headers=agent,
        json={"note": "called the courier", "actor": {"id": "boss", "role": "supervisor"}},
    )
    assert r.status_code == 403
    assert "acts as solo (agent)" in r.json()["detail"]
    r = await api.http.post(
        f"/requests/{n}/escalate", headers=agent, json={"reason": "angry", "priority": "P1"}
    )
    assert r.status_code == 403 and "supervisor" in r.json()["detail"]

    r = await api.http.post(
        f"/requests/{n}/escalate", headers=boss, json={"reason": "angry customer", "priority": "P1"}
    )
    assert r.status_code == 200, r.text
    row = await api.pool.fetchrow(
        "SELECT actor_id, actor_role FROM request_events WHERE number = $1 AND kind = 'escalated'",
        n,
    )
    assert (row["actor_id"], row["actor_role"]) == ("boss", "supervisor")


async def test_a_service_relays_its_users_but_never_the_system(api: Api) -> None:
    n = (await api.http.post("/requests", json=body())).json()["number"]  # service token
    r = await api.http.post(f"/requests/{n}/progress", json={"note": "no actor"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "actor"]
    r = await api.http.post(
        f"/requests/{n}/progress", json={"note": "x", "actor": {"id": "csflow", "role": "system"}}
    )
    assert r.status_code == 403 and "system" in r.json()["detail"]
    r = await api.http.post(
        f"/requests/{n}/progress",
        json={"note": "courier called", "actor": {"id": "li.na", "role": "agent"}},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("path", "readers"),
    [
        ("/board/data", {Role.SUPERVISOR, Role.ANALYST, Role.ADMIN}),
        ("/reports", {Role.SUPERVISOR, Role.ANALYST, Role.ADMIN}),
        ("/staff", set(TOKEN_ROLES)),
        ("/improvements", set(TOKEN_ROLES)),
    ],
)
async def test_pages_and_lists_by_role(api: Api, path: str, readers: set[Role]) -> None:
    for role in TOKEN_ROLES:
        r = await api.http.get(path, headers=bearer(await token_for(api.pool, role.value)))
        assert (r.status_code != 403) == (role in readers), (path, role, r.status_code)
        assert r.status_code in (200, 403, 404), r.text


async def test_staff_directory_is_managed_by_supervisors_admins_and_services(api: Api) -> None:
    member = {
        "id": "li.na",
        "name": "Li Na",
        "role": "agent",
        "department": "care",
        "skills": ["complaint"],
    }
    for role, code in (
        ("agent", 403),
        ("analyst", 403),
        ("service", 200),
        ("supervisor", 200),
        ("admin", 200),
    ):
        r = await api.http.put(
            "/staff/li.na", json=member, headers=bearer(await token_for(api.pool, role))
        )
        assert r.status_code == code, (role, r.text)


async def test_missing_bad_revoked_and_expired_tokens_get_401(api: Api) -> None:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://csflow") as anon:
        r = await anon.get(f"/requests/{UNKNOWN}")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = await anon.get("/board", headers={"accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/board"
        for bad in ("Bearer nonsense", "Bearer csf_abc_def", "Basic dXNlcjpwdw=="):
            r = await anon.get(f"/requests/{UNKNOWN}", headers={"Authorization": bad})
            assert r.status_code == 401, bad
        plain, info = await tokens.issue(api.pool, name="old", role=Role.AGENT, subject="x")
        assert (await anon.get(f"/requests/{UNKNOWN}", headers=bearer(plain))).status_code == 404
        await tokens.revoke(api.pool, info.id, datetime.now(UTC))
        r = await anon.get(f"/requests/{UNKNOWN}", headers=bearer(plain))
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        expired, _ = await tokens.issue(
            api.pool,
            name="e",
            role=Role.AGENT,
            subject="x",
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        r = await anon.get(f"/requests/{UNKNOWN}", headers=bearer(expired))
        assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_a_login_cookie_opens_reads_but_never_commands(api: Api) -> None:
    token = await token_for(api.pool, "supervisor", "boss")
    async with httpx.AsyncClient(transport=api.transport, base_url="http://csflow") as browser:
        r = await browser.post("/login", data={"token": "csf_no_pe", "next": "/board"})
        assert r.status_code == 303 and "error=" in r.headers["location"]
        r = await browser.post("/login", data={"token": token, "next": "//evil.example/x"})
        assert r.status_code == 303 and r.headers["location"] == "/board"  # no open redirect
        assert browser.cookies.get("csflow_token") == token
        assert (await browser.get("/board/data")).status_code == 200
        assert (await browser.get(f"/requests/{UNKNOWN}")).status_code == 404
        # A forged cross-site form would ride on the cookie: commands ignore it.
        r = await browser.post(
            f"/requests/{UNKNOWN}/escalate", json={"reason": "x", "priority": "P1"}
        )
        assert r.status_code == 401


async def test_tokens_are_stored_hashed(api: Api) -> None:
    plain = await token_for(api.pool, "admin")
    secret = plain.rsplit("_", 1)[1]
    rows = await api.pool.fetch("SELECT * FROM api_tokens")
    for row in rows:
        assert all(secret not in str(v) for v in row.values())
