"""The console's routes over HTTP, without a browser: sign-in, headers, the version the
pages poll, fragments, the language switch, and the refusals a hand-made POST gets."""

from __future__ import annotations

import re

import httpx

from csflow.console import csrf
from tests.api.conftest import Api
from tests.helpers import intake, token_for


async def browser_for(api: Api, role: str, subject: str) -> tuple[httpx.AsyncClient, str]:
    token = await token_for(api.pool, role, subject)
    client = httpx.AsyncClient(
        transport=api.transport, base_url="http://csflow", cookies={"csflow_token": token}
    )
    return client, token


async def test_pages_need_a_sign_in_and_carry_strict_headers(api: Api) -> None:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://csflow") as anon:
        r = await anon.get("/console/queue/team", headers={"accept": "text/html"})
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/console/queue/team"
        assert (await anon.get("/console/version")).status_code == 401
        js = await anon.get("/console/static/console.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert (await anon.get("/console/static/../app.py")).status_code == 404
        assert (await anon.get("/console/static/secret.txt")).status_code == 404
        schema = (await anon.get("/openapi.json")).json()
        assert "/requests" in schema["paths"]
        assert not [p for p in schema["paths"] if p.startswith("/console")]  # pages, not API

    browser, _ = await browser_for(api, "agent", "agent-7")
    async with browser:
        r = await browser.get("/console/queue/mine")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert "<script>" not in r.text and "http://" not in r.text.replace(
            'xmlns="http://', ""
        )  # nothing inline, nothing from elsewhere
        bad = await browser.get("/console/queue/team?priority=P9")
        assert bad.status_code == 422 and "priority" in bad.text
        assert (await browser.get("/console/queue/everyone")).status_code == 404


async def test_the_version_changes_with_a_request_and_the_fragment_is_the_live_part(
    api: Api,
) -> None:
    browser, _ = await browser_for(api, "supervisor", "boss")
    async with browser:
        before = (await browser.get("/console/version")).json()["version"]
        made = await api.http.post(
            "/requests", json=intake().model_dump(mode="json", exclude_none=True)
        )
        n = made.json()["number"]
        after = (await browser.get("/console/version")).json()["version"]
        assert after != before
        one = (await browser.get(f"/console/version?number={n}")).json()["version"]
        r = await api.http.post(
            f"/requests/{n}/progress",
            json={"actor": {"id": "boss", "role": "supervisor"}, "note": "on it"},
        )
        assert r.status_code == 200, r.text
        assert (await browser.get(f"/console/version?number={n}")).json()["version"] != one
        assert (await browser.get("/console/version?number=CS0-X-1")).json() == {"version": "none"}

        fragment = await browser.get(f"/console/requests/{n}?fragment=1")
        assert fragment.status_code == 200
        assert 'data-part="live"' in fragment.text and 'data-part="actions"' in fragment.text
        assert "<html" not in fragment.text and "on it" in fragment.text
        page = await browser.get(f"/console/requests/{n}")
        now = (await browser.get(f"/console/version?number={n}")).json()["version"]
        assert f'data-version="{now}"' in page.text  # what the page polls against
        queue = await browser.get("/console/queue/team?fragment=1")
        assert n in queue.text and "<html" not in queue.text
        missing = await browser.get("/console/requests/CS20260101-WEB-999999")
        assert missing.status_code == 404


async def test_the_language_switch_stays_on_the_console(api: Api) -> None:
    browser, _ = await browser_for(api, "agent", "agent-7")
    async with browser:
        r = await browser.get("/console/lang?to=en&next=/console/queue/team")
        assert r.status_code == 303 and r.headers["location"] == "/console/queue/team"
        assert browser.cookies.get("csflow_lang") == "en"
        assert "Team queue" in (await browser.get("/console/queue/team")).text
        for elsewhere in ("//evil.example/x", "https://evil.example", "/board"):
            r = await browser.get("/console/lang", params={"to": "zh-CN", "next": elsewhere})
            assert r.headers["location"] == "/console"
        assert "团队队列" in (await browser.get("/console/queue/team")).text
        r = await browser.get("/console/lang?to=fr")
        assert browser.cookies.get("csflow_lang") == "zh-CN"


async def test_hand_made_posts_are_refused_with_the_apis_words(api: Api) -> None:
    n = (
        await api.http.post("/requests", json=intake().model_dump(mode="json", exclude_none=True))
    ).json()["number"]
    agent, token = await browser_for(api, "agent", "agent-7")
    analyst, analyst_token = await browser_for(api, "analyst", "ana")
    async with agent, analyst:
        field = csrf.token_for(token)
        # Another sign-in's field is no good, and neither is none.
        r = await agent.post(
            f"/console/requests/{n}/progress",
            data={"csrf": csrf.token_for(analyst_token), "note": "x"},
        )
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
        r = await agent.post(
            f"/console/requests/{n}/escalate", data={"csrf": field, "reason": "x", "priority": "P1"}
        )
        assert r.status_code == 403
        assert "escalate needs one of the roles" in r.text
        # The analyst may read but never see personal data nor create.
        r = await analyst.post(
            f"/console/requests/{n}/reveal", data={"csrf": csrf.token_for(analyst_token)}
        )
        assert r.status_code == 403 and "reading a customer's details" in r.text
        r = await analyst.post("/console/new", data={"csrf": csrf.token_for(analyst_token)})
        assert r.status_code == 403
        assert await api.pool.fetchval("SELECT count(*) FROM personal_data_reads") == 0
        # The state machine's refusal (409) and a model's (422), in words, on the page.
        r = await agent.post(
            f"/console/requests/{n}/confirm", data={"csrf": field, "satisfied": "yes"}
        )
        assert r.status_code == 409
        assert re.search(r"cannot confirm while the request is \w+", r.text)
        r = await agent.post(
            f"/console/requests/{n}/compensation",
            data={"csrf": field, "amount": "-5", "reason": "x"},
        )
        assert r.status_code == 422 and "amount" in r.text
        r = await agent.post(f"/console/requests/{n}/nonsense", data={"csrf": field})
        assert r.status_code == 404
        # A reload of a form's answer shows the page; nothing is sent again.
        r = await agent.get(f"/console/requests/{n}/progress")
        assert r.status_code == 303 and r.headers["location"] == f"/console/requests/{n}"


async def test_forms_only_the_holder_may_use_are_marked_for_everyone_else(api: Api) -> None:
    """Progress, resolution and compensation are the holder's (`[ownership]`): another
    agent's page lists those forms last, marked, instead of offering what the workflow
    would refuse."""
    solo = {
        "id": "solo",
        "name": "Solo",
        "role": "agent",
        "department": "care",
        "skills": ["complaint"],
        "seniority": 3,
        "capacity": 1,
        "on_duty": True,
    }
    assert (await api.http.put("/staff/solo", json=solo)).status_code == 200
    created = await api.http.post(
        "/requests", json=intake().model_dump(mode="json", exclude_none=True)
    )
    n = created.json()["number"]
    assert created.json()["request"]["assignee"] == "solo"
    holder, _ = await browser_for(api, "agent", "solo")
    other, _ = await browser_for(api, "agent", "agent-7")
    async with holder, other:
        mine = (await holder.get(f"/console/requests/{n}")).text
        theirs = (await other.get(f"/console/requests/{n}")).text

    def marked(page: str, command: str) -> bool:
        summary = re.search(rf'id="cmd-{command}".*?</summary>', page, re.S)
        assert summary, f"no {command} form"
        return "not-yours" in summary.group(0)

    for command in ("post_progress", "resolve", "request_compensation"):
        assert not marked(mine, command)
        assert marked(theirs, command)
    assert not marked(theirs, "wait_for_customer"), "ownership does not narrow every form"
