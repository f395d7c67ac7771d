"""The configured taxonomy at the edge (issue 18, "Sub-types are free text"): a sub-type
not in the policy is refused with the allowed names, a required one must be there, the
spelling is made canonical so reports group cleanly, and the sub-type's class and skills
reach the terms and the routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from csflow.api.app import create_app
from csflow.config.terms import TermsProvider
from csflow.domain.codes import Category
from csflow.domain.policy import policy_from_mapping
from csflow.settings import Settings
from csflow.store import staff
from csflow.store.staff import StaffMember
from tests.helpers import bearer, fresh_queue, intake, seed_serial_block, token_for
from worker import build_worker

POLICY = policy_from_mapping(
    {
        "taxonomy": {
            "categories": {
                "complaint": {
                    "required": True,
                    "sub_types": {
                        "logistics": {
                            "department": "care",
                            "skills": ["parcels"],
                            "class": "routine",
                        },
                        "quality": {"department": "repair", "skills": ["repair"], "class": "major"},
                    },
                },
            }
        }
    }
)


def test_the_taxonomy_decides_refusals_spelling_and_class() -> None:
    tax = POLICY.taxonomy
    assert tax.problem(Category.COMPLAINT, None) == (
        "sub_type is required for complaint: one of logistics, quality"
    )
    assert "'shipping' is not a complaint sub-type" in (
        tax.problem(Category.COMPLAINT, "shipping") or ""
    )
    assert tax.problem(Category.COMPLAINT, " Logistics ") is None
    assert tax.canonical(Category.COMPLAINT, " Logistics ") == "logistics"
    assert tax.problem(Category.CONSULTATION, "anything at all") is None  # not configured
    now = datetime.now(UTC)
    quality = TermsProvider(POLICY).for_intake(intake(sub_type="Quality"), now)
    assert quality.major_complaint and quality.service_class == "major"
    parcels = TermsProvider(POLICY).for_intake(intake(sub_type="logistics"), now)
    assert not parcels.major_complaint and parcels.service_class == "routine"


async def test_the_api_refuses_free_text_and_stores_the_canonical_sub_type(
    ts_env: WorkflowEnvironment,
    pool: Any,
) -> None:
    await seed_serial_block(pool)
    await staff.upsert_staff(
        pool, StaffMember(id="pat", name="Pat", role="agent", department="care", skills=["parcels"])
    )
    queue = fresh_queue()
    app = create_app(
        Settings(CSFLOW_TASK_QUEUE=queue), client=ts_env.client, pool=pool, policy=POLICY
    )
    headers = bearer(await token_for(pool, "service"))
    async with (
        build_worker(ts_env.client, queue, pool, POLICY),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://csflow", headers=headers
        ) as http,
    ):

        def body(**kw: Any) -> dict[str, Any]:
            return intake(priority="P3", **kw).model_dump(mode="json", exclude_none=True)

        r = await http.post("/requests", json=body(sub_type="Shipping"))
        assert r.status_code == 422 and "one of logistics, quality" in r.text
        r = await http.post("/requests", json=body())
        assert r.status_code == 422 and "sub_type is required" in r.text
        assert await pool.fetchval("SELECT count(*) FROM requests") == 0
        r = await http.post("/requests", json=body(sub_type="LOGISTICS"))
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        stored = await pool.fetchval("SELECT sub_type FROM requests WHERE number = $1", number)
        assert stored == "logistics"
        assert r.json()["request"]["assignee"] == "pat", "the sub-type's skill routes it"
