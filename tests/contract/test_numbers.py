"""Caller-chosen numbers and the PostgreSQL counter can never produce the same number,
and persistence accepts requests that never went through the Python client."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csflow.activity_io import RecordEvents
from csflow.contracts import RequestState, TimelineEvent
from csflow.domain.codes import Channel
from csflow.domain.lifecycle import Status
from csflow.domain.numbering import (
    CALLER_SERIALS,
    COUNTER_SERIALS,
    check_counter_serial,
    format_number,
    parse_caller_number,
)
from csflow.store import requests as store
from tests.helpers import AGENT, intake

DAY = date(2026, 11, 23)


def test_the_two_ranges_meet_without_overlap() -> None:
    assert COUNTER_SERIALS.start == 1
    assert COUNTER_SERIALS.stop == CALLER_SERIALS.start == 900_000  # adjacent, disjoint
    assert CALLER_SERIALS.stop == 1_000_000  # six digits: what docs/contract.md promises


@given(st.sampled_from(list(Channel)), st.integers(1, COUNTER_SERIALS.stop - 1))
def test_no_counter_number_is_accepted_from_a_caller(channel: Channel, serial: int) -> None:
    number = format_number(DAY, channel, check_counter_serial(serial))
    with pytest.raises(ValueError, match="900000-999999"):
        parse_caller_number(number, channel)


@given(st.sampled_from(list(Channel)),
       st.integers(CALLER_SERIALS.start, CALLER_SERIALS.stop - 1))
def test_every_caller_serial_is_accepted_and_refused_by_the_counter(
        channel: Channel, serial: int) -> None:
    number = format_number(DAY, channel, serial)
    assert parse_caller_number(number, channel).serial == serial
    with pytest.raises(ValueError, match="outside the counter's range"):
        check_counter_serial(serial)


@pytest.mark.parametrize(("text", "channel", "why"), [
    ("CS20261123-WEB-1000000", Channel.WEB, "900000-999999"),
    ("CS20261123-WEB-0900001", Channel.WEB, "write the number as CS20261123-WEB-900001"),
    ("CS20261123-TEL-900001", Channel.WEB, "not the intake's channel web"),
    ("CS20261123-WEB-900001-x", Channel.WEB, "not a request number"),
])
def test_caller_numbers_are_refused_with_the_reason(text: str, channel: Channel,
                                                    why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_caller_number(text, channel)


async def test_the_counter_stops_below_the_callers_range(pool: Any) -> None:
    await pool.execute(
        "INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, 'web', $2)",
        DAY, COUNTER_SERIALS.stop - 2)
    assert await store.allocate_serial(pool, DAY, Channel.WEB) == COUNTER_SERIALS.stop - 1
    with pytest.raises(store.SerialsExhausted, match="reserved for caller-chosen numbers"):
        await store.allocate_serial(pool, DAY, Channel.WEB)
    with pytest.raises(store.SerialsExhausted):
        await store.allocate_serial(pool, DAY, Channel.WEB)
    last = await pool.fetchval("SELECT last_serial FROM request_counters WHERE day = $1", DAY)
    assert last == COUNTER_SERIALS.stop - 1, "a refused allocation does not move the counter"
    assert await store.allocate_serial(pool, DAY, Channel.PHONE) == 1, "other channels go on"


def _first_batch(number: str, external_id: str | None) -> RecordEvents:
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    state = RequestState(number=number, status=Status.RECEIVED, priority="P2",
                         category="complaint", channel="web", tier="regular",
                         customer_id="C-1001", received_at=at)
    event = TimelineEvent(seq=1, at=at, kind="received", actor=AGENT,
                          status_to=Status.RECEIVED)
    return RecordEvents(state=state, events=[event], intake=intake(external_id=external_id))


async def test_a_request_started_by_a_caller_is_persisted_and_its_key_bound(pool: Any) -> None:
    number = "CS20261123-WEB-900001"
    assert await store.record_events(pool, _first_batch(number, "shop-1")) == 1
    assert await store.record_events(pool, _first_batch(number, "shop-1")) == 0, "a retry"
    view = await store.get_request(pool, number)
    assert view is not None and [e.kind for e in view.timeline] == ["received"]
    assert await store.number_for_external_id(pool, "shop-1") == number, \
        "the Python client now finds this request by the caller's external id"
    assert await pool.fetchval("SELECT count(*) FROM request_counters") == 0


async def test_an_external_id_held_by_another_request_never_blocks_persistence(
        pool: Any) -> None:
    first, second = "CS20261123-WEB-0001", "CS20261123-WEB-900002"
    assert await store.claim_external_id(pool, "shop-2", first) == first  # Python client
    await store.record_events(pool, _first_batch(first, "shop-2"))
    assert await store.record_events(pool, _first_batch(second, "shop-2")) == 1
    rows = {r["number"]: r["external_id"] for r in
            await pool.fetch("SELECT number, external_id FROM requests")}
    assert rows == {first: "shop-2", second: None}
    assert await store.number_for_external_id(pool, "shop-2") == first
