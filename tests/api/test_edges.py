"""Bad input at the edge (issue 14): every case answered 4xx with a short body, never a
500, never a started workflow — each of these once answered 500, 201 or a 10 MB echo."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from csflow.contracts import RequestView
from tests.api.conftest import Api
from tests.helpers import bearer, intake, token_for

AGENT = {"id": "agent-007", "role": "agent"}


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = intake().model_dump(mode="json", exclude_none=True)
    data.update(overrides)
    return data


async def _started(api: Api) -> int:
    found = await api.client.count_workflows(
        f"WorkflowType = 'ServiceRequest' AND TaskQueue = '{api.queue}'"
    )
    return found.count


async def _rows(api: Api) -> int:
    return int(
        await api.pool.fetchval(
            "SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM request_keys)"
        )
    )


def _short_422(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert len(r.content) < 2000, "a 422 never echoes more than a short prefix"
    detail: list[dict[str, Any]] = r.json()["detail"]
    return detail


@pytest.mark.parametrize(
    "path",
    [
        "/improvements?status=a%00b",
        "/board/data?assignee=a%00b",
        "/requests/%00",
        "/requests?q=x%00",
        "/requests?as%00signee=x",
    ],
)
async def test_nul_in_path_or_query_is_422(api: Api, path: str) -> None:
    detail = _short_422(await api.http.get(path))
    assert "NUL" in detail[0]["msg"]


async def test_nul_in_a_header_is_422(api: Api) -> None:
    r = await api.http.post("/requests", json=body(), headers={"Idempotency-Key": "a\x00b"})
    _short_422(r)
    assert await _started(api) == 0


async def test_nul_in_a_staff_name_is_422(api: Api) -> None:
    admin = bearer(await token_for(api.pool, "admin"))
    member = {"id": "s-nul", "name": "Wang\x00Wu", "role": "agent", "department": "support"}
    r = await api.http.put("/staff/s-nul", json=member, headers=admin)
    assert _short_422(r)[0]["loc"] == ["body", "name"]
    assert await api.pool.fetchval("SELECT count(*) FROM staff WHERE id = 's-nul'") == 0


@pytest.mark.parametrize("text", ["broken\x00parcel", "broken \ud800 parcel"])
async def test_nul_or_lone_surrogate_in_a_body_is_422_and_not_echoed(api: Api, text: str) -> None:
    raw = json.dumps(body(description=text)).encode()  # ensure_ascii: \u0000, \ud800
    r = await api.http.post("/requests", content=raw, headers={"content-type": "application/json"})
    assert _short_422(r)[0]["loc"] == ["body", "description"]
    assert await _started(api) == 0 and await _rows(api) == 0


async def test_a_10_mb_body_is_413_without_an_echo(api: Api) -> None:
    raw = json.dumps(body(description="x" * 10_000_000)).encode()
    r = await api.http.post("/requests", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 413 and len(r.content) < 300
    assert await _started(api) == 0


async def test_a_very_long_path_or_query_is_414_without_an_echo(api: Api) -> None:
    for url in ("/staff/" + "s" * 5000, "/requests?q=" + "q" * 10_000):
        r = await api.http.get(url)
        assert r.status_code == 414 and len(r.content) < 300


async def test_a_too_long_value_is_echoed_as_a_short_prefix(api: Api) -> None:
    r = await api.http.post("/requests", json=body(description="y" * 20_000))
    detail = _short_422(r)
    assert detail[0]["input"].startswith("yyyy") and len(detail[0]["input"]) <= 41


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("received_at", 0),
        ("received_at", 1_700_000_000),
        ("received_at", "9999-12-31T23:59:59-12:00"),
        ("received_at", "0001-01-01T00:00:00+14:00"),
        ("received_at", "1970-01-01T00:00:00Z"),
        ("expected_resolution_at", "9999-12-31T23:59:59-12:00"),
        ("expected_resolution_at", 0),
    ],
)
async def test_a_timestamp_that_is_not_a_sane_time_is_422(api: Api, field: str, value: Any) -> None:
    detail = _short_422(await api.http.post("/requests", json=body(**{field: value})))
    assert detail[0]["loc"][:2] == ["body", field]
    assert await _started(api) == 0 and await _rows(api) == 0


async def test_received_at_and_expected_resolution_keep_their_windows(api: Api) -> None:
    now = datetime.now(UTC)
    cases = {
        "received_at": [now - timedelta(days=40), now + timedelta(hours=1)],
        "expected_resolution_at": [now + timedelta(days=800)],
    }
    for field, values in cases.items():
        for value in values:
            r = await api.http.post("/requests", json=body(**{field: value.isoformat()}))
            assert _short_422(r)[0]["loc"] == ["body", field]
    assert await _started(api) == 0
    r = await api.http.post(
        "/requests",
        json=body(
            received_at=(now - timedelta(days=20)).isoformat(),
            expected_resolution_at=(now + timedelta(days=300)).isoformat(),
        ),
    )
    assert r.status_code == 201, r.text


async def test_eta_must_be_a_time_within_the_horizon(api: Api) -> None:
    number = (await api.http.post("/requests", json=body())).json()["number"]
    for eta in (
        0,
        False,
        "9999-12-31T23:59:59-12:00",
        (datetime.now(UTC) + timedelta(days=800)).isoformat(),
    ):
        r = await api.http.post(
            f"/requests/{number}/plan", json={"actor": AGENT, "measures": ["fix"], "eta": eta}
        )
        assert _short_422(r)[0]["loc"][:2] == ["body", "eta"], eta
        r = await api.http.post(
            f"/requests/{number}/progress", json={"actor": AGENT, "note": "n", "eta": eta}
        )
        assert _short_422(r)[0]["loc"][:2] == ["body", "eta"], eta
    state = (await api.http.get(f"/requests/{number}")).json()
    assert state["status"] == "assigned" and state["plan"] is None


async def test_booleans_and_numbers_are_not_coerced(api: Api) -> None:
    admin = bearer(await token_for(api.pool, "admin"))
    member = {"id": "s-strict", "name": "Wang Wu", "role": "agent", "department": "support"}
    for bad in (
        {"capacity": False},
        {"capacity": True},
        {"on_duty": 0},
        {"seniority": True},
        {"on_duty": "yes"},
    ):
        r = await api.http.put("/staff/s-strict", json={**member, **bad}, headers=admin)
        assert _short_422(r)[0]["loc"] == ["body", *bad], bad
    r = await api.http.put("/staff/s-strict", json=member, headers=admin)
    assert r.status_code == 200, r.text
    r = await api.http.post("/staff/s-strict/duty", json={"on_duty": 0}, headers=admin)
    assert _short_422(r)[0]["loc"] == ["body", "on_duty"]

    number = (await api.http.post("/requests", json=body())).json()["number"]
    r = await api.http.post(f"/requests/{number}/confirm", json={"actor": AGENT, "satisfied": 1})
    assert _short_422(r)[0]["loc"] == ["body", "satisfied"]


async def test_a_raw_update_with_a_bad_value_is_refused_before_history(api: Api) -> None:
    """The worker decodes an Update's argument with the same strict model, so a caller that
    skips the API (the temporal CLI, another SDK) is refused before anything is recorded."""
    number = (await api.http.post("/requests", json=body())).json()["number"]
    handle = api.client.get_workflow_handle(number)
    before = [e.event_type async for e in handle.fetch_history_events()]
    for bad in (
        {"actor": AGENT, "measures": ["fix"], "eta": 0},
        {"actor": AGENT, "measures": ["fix"], "eta": "9999-12-31T23:59:59-12:00"},
        {"actor": AGENT, "measures": ["fix\x00"], "eta": "2026-12-01T10:00:00Z"},
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("submit_plan", bad, result_type=RequestView)
    after = [e.event_type async for e in handle.fetch_history_events()]
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    assert after.count(accepted) == before.count(accepted)
    assert (await handle.query("get_state", result_type=RequestView)).plan is None


async def test_nul_in_a_form_body_is_422(api: Api) -> None:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://csflow") as http:
        r = await http.post("/login", data={"token": "csf_ab\x00cd_secret", "next": "/board"})
    assert _short_422(r)[0]["loc"] == ["body", "token"]
