"""`csflow token …`: the only way tokens are issued; what it prints works against the API."""

from __future__ import annotations

from typing import Any

import httpx
from typer.testing import Result

from tests.api.conftest import Api
from tests.helpers import bearer, run_cli


async def csflow(db: str, *args: str) -> Result:
    result: Result = await run_cli({"DATABASE_URL": db}, *args)
    return result


async def test_create_list_use_and_revoke(api: Api, db: str) -> None:
    made = await csflow(
        db, "token", "create", "--name", "wang-li", "--role", "supervisor", "--as", "wang.li"
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("csf_")
    token_id = token.removeprefix("csf_").split("_")[0]

    listed = await csflow(db, "token", "list")
    assert listed.exit_code == 0
    assert token_id in listed.stdout and "supervisor" in listed.stdout
    assert token.split("_")[-1] not in listed.stdout  # the secret is never shown again

    async with httpx.AsyncClient(
        transport=api.transport, base_url="http://csflow", headers=bearer(token)
    ) as http:
        assert (await http.get("/board/data")).status_code == 200
        assert (await csflow(db, "token", "revoke", token_id)).exit_code == 0
        assert (await http.get("/board/data")).status_code == 401

    missing = await csflow(db, "token", "revoke", "nope")
    assert missing.exit_code == 1 and "no token nope" in missing.output


async def test_bad_role_or_subject_is_refused_before_anything_is_stored(db: str, pool: Any) -> None:
    for args in (
        ["--role", "customer"],
        ["--role", "overlord"],
        ["--role", "agent", "--as", "has spaces"],
    ):
        result = await csflow(db, "token", "create", "--name", "x", *args)
        assert result.exit_code == 2, result.output
        assert "refused" in result.output
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 0
