"""Customer times in the customer's own time zone (issue 18, item 2): the plan's ETA a
customer in Berlin reads is Berlin's wall clock; a customer who gave no zone reads the
business calendar's (Asia/Shanghai); quiet hours are the customer's night, not Shanghai's.
A zone that is not an IANA name is refused at the edge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from csflow.contracts import (
    CancelCommand,
    Contact,
    Customer,
    PlanCommand,
    ProgressCommand,
    ReceiptQuery,
    RequestView,
)
from csflow.imports import parse_text
from csflow.notify.models import Notification
from csflow.notify.templates import Templates
from tests.helpers import AGENT, SUPERVISOR, at, eventually, intake
from tests.notify.servers import http_gateway, smtp_server
from tests.notify.test_send import NIGHT, acts, note
from tests.workflows.conftest import Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow

Handle = WorkflowHandle[ServiceRequestWorkflow, RequestView]


async def state(h: Handle) -> RequestView:
    view: RequestView = await h.query("get_state", result_type=RequestView)
    return view


TEMPLATES = Templates()
ETA = at("2026-11-25T10:30:00+00:00")  # 11:30 in Berlin, 18:30 in Shanghai
LATER = at("2026-11-26T08:00:00+00:00")  # 09:00 in Berlin, 16:00 in Shanghai


def customer(zone: str | None) -> Customer:
    return Customer(
        id="C-2001",
        name="Anna Schmidt",
        contact=Contact(email="anna@example.com"),
        language="en",
        time_zone=zone,
    )


async def customer_messages(harness: Harness, h: Handle, count: int) -> list[Notification]:
    async def check() -> list[Notification]:
        found = [
            n
            for n in harness.notify.sent
            if n.number == h.id
            and n.recipient.kind == "customer"
            and n.template in ("acknowledgement", "plan_eta", "eta_revised")
        ]
        assert len(found) >= count, [n.template for n in found]
        return sorted(found, key=lambda n: int(n.key.split("/")[1]))

    return await eventually(check)


@pytest.mark.parametrize(
    ("zone", "plan", "revised"),
    [
        ("Europe/Berlin", "2026-11-25 11:30 (Europe/Berlin)", "2026-11-26 09:00 (Europe/Berlin)"),
        (None, "2026-11-25 18:30 (Asia/Shanghai)", "2026-11-26 16:00 (Asia/Shanghai)"),
    ],
)
async def test_the_eta_reaches_the_customer_on_their_own_clock(
    harness: Harness,
    zone: str | None,
    plan: str,
    revised: str,
) -> None:
    h = await harness.start(intake(customer=customer(zone)))
    await act(h, "receipt", ReceiptQuery())
    await act(
        h,
        "submit_plan",
        PlanCommand(actor=AGENT, measures=["replace the unit"], eta=ETA),
    )
    await act(
        h,
        "post_progress",
        ProgressCommand(actor=AGENT, note="the part is late", eta=LATER),
    )
    ack, planned, moved = await customer_messages(harness, h, 3)
    assert ack.template == "acknowledgement"
    assert ack.variables["eta"].endswith(f"({zone or 'Asia/Shanghai'})")
    assert ack.recipient.time_zone == zone
    _, body = TEMPLATES.render(planned.template, "en", planned.variables)
    assert planned.template == "plan_eta" and f"expect to finish by {plan}." in body
    _, body = TEMPLATES.render(moved.template, "en", moved.variables)
    assert moved.template == "eta_revised"
    assert f"moves from {plan} to {revised}." in body
    await act(h, "cancel", CancelCommand(actor=SUPERVISOR, reason="test done"))


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "localtime", "../../etc/passwd", "Europe/Berlin" + "x" * 60, ""]
)
def test_a_zone_that_is_not_an_iana_name_is_refused(zone: str) -> None:
    with pytest.raises(ValidationError) as caught:
        customer(zone)
    assert caught.value.errors()[0]["loc"] == ("time_zone",)


def test_an_import_row_names_the_bad_zone_column() -> None:
    text = (
        "external_id,received_at,customer_id,customer_name,customer_contact_email,"
        "customer_time_zone,channel,category,description\n"
        f"TZ-1,{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}+00:00,C-1,Anna,anna@example.com,"
        "Europe/Berlin,email,consultation,Where is my parcel?\n"
        f"TZ-2,{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}+00:00,C-2,Ben,ben@example.com,"
        "CET+1,email,consultation,Where is my parcel?\n"
    )
    parsed = parse_text(text, "csv", "tz.csv")
    [good] = parsed.rows
    assert good.intake.customer.time_zone == "Europe/Berlin"
    [bad] = parsed.bad
    assert bad.line == 3 and bad.reason.startswith("customer_time_zone: ")


async def test_quiet_hours_are_the_customers_night(pool: Any) -> None:
    """00:00 in Shanghai is 17:00 in Berlin: the SMS goes out to a Berlin customer; 23:00
    in Berlin holds it back until 08:00 Berlin time."""
    evening = note("berlin-evening")
    evening.recipient.time_zone = "Europe/Berlin"
    late = note("berlin-night", channels=["sms"])
    late.recipient.time_zone = "Europe/Berlin"
    berlin_23h = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    with smtp_server() as (port, inbox), http_gateway(b"gateway-secret") as (url, gw):
        sent = await ActivityEnvironment().run(acts(pool, port, url, now=NIGHT).send, evening)
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(acts(pool, port, url, now=berlin_23h).send, late)
    assert (sent.status, sent.channel) == ("sent", "sms")
    assert caught.value.next_retry_delay is not None
    assert caught.value.next_retry_delay.total_seconds() == 9 * 3600, "08:00 in Berlin"
    assert len(gw.delivered) == 1 and inbox.messages == []
