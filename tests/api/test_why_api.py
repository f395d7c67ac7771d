"""A breach explained and reviewed through the API shows on the why report
(`/reports/why/...`, docs/reports.md "Breach reasons and root causes"), with the real
worker, PostgreSQL and a time-skipping Temporal server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.testing import WorkflowEnvironment

from csflow.domain.codes import Priority
from tests.api.conftest import Api
from tests.helpers import bearer, eventually, intake, token_for

SUPERVISOR = {"id": "sup-1", "role": "supervisor"}
LEAD = {"id": "sup-2", "role": "supervisor"}


async def test_an_explained_and_reviewed_breach_shows_on_the_why_report(
    api: Api,
    ts_env: WorkflowEnvironment,
) -> None:
    created = await api.http.post(
        "/requests", json=intake(priority=Priority.P1).model_dump(mode="json")
    )
    number = created.json()["number"]
    # The first response (15 minutes) breaches.
    await ts_env.fast_forward(api.client.get_workflow_handle(number), timedelta(minutes=16))

    async def breached() -> Any:
        row = await api.pool.fetchrow(
            "SELECT at, data FROM request_events WHERE number = $1 AND kind = 'sla_breached' "
            "AND data ->> 'clock' = 'first_response'",
            number,
        )
        assert row is not None
        return row

    breach = await eventually(breached, timeout=30)
    assert "explain" in breach["data"]["notify"]

    url = f"/requests/{number}/explain-breach"
    # A reason the reports config does not list is refused at the edge, naming the list.
    bad = await api.http.post(
        url, json={"actor": SUPERVISOR, "clock": "first_response", "reason": "bad_luck"}
    )
    assert bad.status_code == 422 and "unknown reason 'bad_luck'" in bad.json()["detail"]
    assert "peak_volume" in bad.json()["detail"]
    # Someone who never held the request may not explain it (the workflow's check).
    other = await api.http.post(
        url,
        json={
            "actor": {"id": "agent-9", "role": "agent"},
            "clock": "first_response",
            "reason": "peak_volume",
        },
    )
    assert other.status_code == 403 and "only the holder" in other.json()["detail"]
    early = await api.http.post(
        url, json={"actor": SUPERVISOR, "clock": "resolution", "reason": "peak_volume"}
    )
    assert early.status_code == 409 and "has not breached" in early.json()["detail"]

    ok = await api.http.post(
        url,
        json={
            "actor": SUPERVISOR,
            "clock": "first_response",
            "reason": "peak_volume",
            "note": "queue of 40",
        },
    )
    assert ok.status_code == 200, ok.text

    day = breach["at"].astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    reader = httpx.AsyncClient(
        transport=api.transport,
        base_url="http://csflow",
        headers=bearer(await token_for(api.pool, "supervisor")),
    )
    async with reader:
        report = (await reader.get(f"/reports/why/daily/{day}.json")).json()
        mine = [b for b in report["awaiting_review"] if b["number"] == number]
        assert [(b["clock"], b["reason"]) for b in mine] == [("first_response", "peak_volume")]

        review = await api.http.post(
            f"/requests/{number}/review-breach",
            json={"actor": LEAD, "clock": "first_response", "verdict": "accepted"},
        )
        assert review.status_code == 200, review.text
        again = await api.http.post(
            f"/requests/{number}/review-breach",
            json={"actor": LEAD, "clock": "first_response", "verdict": "accepted"},
        )
        assert again.status_code == 409

        report = (await reader.get(f"/reports/why/daily/{day}.json")).json()
        assert not [b for b in report["awaiting_review"] if b["number"] == number]
        peak = next(r for r in report["by_reason"] if r["reason"] == "peak_volume")
        assert peak["breaches"] >= 1 and peak["accepted"] >= 1
        page = await reader.get(f"/reports/why/daily/{day}")
        assert page.status_code == 200 and "peak volume, not enough staff" in page.text

    cause = await api.http.post(
        f"/requests/{number}/cause",
        json={"actor": LEAD, "cause": "no_such_cause", "responsible_department": "logistics"},
    )
    assert cause.status_code == 422 and "unknown cause" in cause.json()["detail"]
    await api.http.post(f"/requests/{number}/cancel", json={"actor": LEAD, "reason": "test done"})


async def test_a_complaint_resolved_without_a_cause_is_refused_when_the_config_asks(
    api: Api,
    tmp_path: Any,
    monkeypatch: Any,
) -> None:
    config = tmp_path / "reports.toml"
    config.write_text("causes_required = true\n", encoding="utf-8")
    monkeypatch.setenv("CSFLOW_REPORTS", str(config))
    complaint = (await api.http.post("/requests", json=intake().model_dump(mode="json"))).json()[
        "number"
    ]
    question = (
        await api.http.post(
            "/requests", json=intake(category="consultation").model_dump(mode="json")
        )
    ).json()["number"]
    agent = {"id": "senior-desk", "role": "agent"}

    bare = await api.http.post(
        f"/requests/{complaint}/resolve", json={"actor": agent, "summary": "replaced"}
    )
    assert bare.status_code == 422 and "names its root cause" in bare.json()["detail"]
    half = await api.http.post(
        f"/requests/{complaint}/resolve",
        json={"actor": agent, "summary": "replaced", "cause": "logistics_delay"},
    )
    assert half.status_code == 422 and "together" in half.text
    ok = await api.http.post(
        f"/requests/{complaint}/resolve",
        json={
            "actor": agent,
            "summary": "replaced",
            "cause": "logistics_delay",
            "responsible_department": "logistics",
        },
    )
    assert ok.status_code == 200, ok.text
    kinds = [e["kind"] for e in ok.json()["timeline"]]
    assert kinds[-2:] == ["resolution_proposed", "cause_recorded"]
    # Only complaints: a consultation resolves without one.
    plain = await api.http.post(
        f"/requests/{question}/resolve", json={"actor": agent, "summary": "answered"}
    )
    assert plain.status_code == 200, plain.text
