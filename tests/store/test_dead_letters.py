"""The salvage write (issue 14, deliverable 2): data PostgreSQL cannot hold — a NUL byte
in text, a \\u0000 escape in jsonb, a value a constraint refuses — is set aside in
persist_dead_letters, and everything else is written, on a real PostgreSQL.

The models refuse NUL at the edge now; the poisoned values are put in with `model_copy`
(which does not validate), standing for whatever still gets through — a history from
before the edge was strict, a constraint added later."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import structlog
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.store as store_activities
from activities.store import StoreActivities
from csflow.activity_io import RecordEvents
from csflow.contracts import SYSTEM, RequestState, TimelineEvent
from csflow.domain.lifecycle import Status
from csflow.store import dead_letters
from csflow.store import persist as store
from tests.helpers import AGENT, intake

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NUMBER = "CS20261123-WEB-0001"


def _state(status: Status, **kw: Any) -> RequestState:
    return RequestState(
        number=NUMBER,
        status=status,
        priority="P2",
        category="complaint",
        channel="web",
        tier="regular",
        customer_id="C-1001",
        received_at=T0,
        **kw,
    )


def _event(seq: int, kind: str, to: Status | None = None, **poison: Any) -> TimelineEvent:
    event = TimelineEvent(
        seq=seq, at=T0 + timedelta(minutes=seq), kind=kind, actor=SYSTEM, status_to=to
    )
    return event.model_copy(update=poison)


def _poisoned_intake() -> RecordEvents:
    return RecordEvents(
        state=_state(Status.ASSIGNED, assignee="desk"),
        events=[
            _event(1, "received", Status.RECEIVED, data={"note": "a\u0000b"}),
            _event(2, "assigned", Status.ASSIGNED),
        ],
        intake=intake().model_copy(update={"description": "broken\x00 parcel"}),
    )


async def test_the_plain_write_is_refused_whole(pool: Any) -> None:
    with pytest.raises(store.DATA_ERRORS):
        await store.record_events(pool, _poisoned_intake())
    assert await pool.fetchval("SELECT count(*) FROM requests") == 0


async def test_salvage_writes_what_it_can_and_sets_the_rest_aside(pool: Any) -> None:
    dead = await store.salvage_events(pool, _poisoned_intake())
    # The description's NUL no longer reaches a text column: the customer's words are
    # sealed (bytes) at rest, so only the event's jsonb refuses.
    assert [(d.part, d.seq) for d in dead] == [("event", 1)]
    row = await pool.fetchrow("SELECT * FROM requests WHERE number = $1", NUMBER)
    assert (row["status"], row["assignee"], row["version"]) == ("assigned", "desk", 2)
    assert row["customer_sealed"] is not None and row["description"] is None
    events = await pool.fetch("SELECT seq, kind, data FROM request_events ORDER BY seq")
    assert [(e["seq"], e["kind"]) for e in events] == [(1, "received"), (2, "assigned")]
    assert events[0]["data"] == {"quarantined": "UntranslatableCharacterError"}
    stored = await dead_letters.of_request(pool, NUMBER)
    assert stored == dead
    assert json.loads(stored[0].payload)["data"] == {"note": "a\u0000b"}
    assert "\x00" not in stored[0].payload  # escaped: a text column holds it

    # A retried salvage adds nothing twice; a later clean write goes through as usual.
    await store.salvage_events(pool, _poisoned_intake())
    assert await pool.fetchval("SELECT count(*) FROM persist_dead_letters") == 1
    later = RecordEvents(
        state=_state(Status.IN_PROGRESS, assignee="desk"),
        events=[
            TimelineEvent(
                seq=3, at=T0, kind="progress_posted", actor=AGENT, status_to=Status.IN_PROGRESS
            )
        ],
    )
    assert await store.record_events(pool, later) == 1


async def test_a_row_field_it_cannot_hold_keeps_its_value_and_the_end_still_lands(
    pool: Any,
) -> None:
    first = RecordEvents(
        state=_state(Status.ASSIGNED),
        events=[_event(1, "received", Status.RECEIVED), _event(2, "assigned", Status.ASSIGNED)],
        intake=intake(),
    )
    await store.record_events(pool, first)
    await pool.execute(
        "ALTER TABLE requests ADD CONSTRAINT test_near_eta "
        "CHECK (eta IS NULL OR eta < '2090-01-01')"
    )
    far = datetime(2095, 1, 1, tzinfo=UTC)
    ending = RecordEvents(
        state=_state(Status.CANCELLED, eta=far, closed_at=T0, compensation=None),
        events=[_event(3, "cancelled", Status.CANCELLED, reason="\x00")],
    )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await store.record_events(pool, ending)
    dead = await store.salvage_events(pool, ending)
    assert [(d.part, d.seq) for d in dead] == [("row", None), ("event", 3)]
    assert "test_near_eta" in dead[0].error
    row = await pool.fetchrow("SELECT status, closed_at, eta, version FROM requests")
    assert (row["status"], row["closed_at"], row["eta"], row["version"]) == (
        "cancelled",
        T0,
        None,
        3,
    )
    assert await pool.fetchval("SELECT kind FROM request_events WHERE seq = 3") == "cancelled"


async def test_an_eta_past_year_9999_in_utc_is_a_data_error_and_is_set_aside(pool: Any) -> None:
    """The value of issue 14: 9999-12-31T23:59:59-12:00 is in year 10000 in UTC."""
    first = RecordEvents(
        state=_state(Status.ASSIGNED),
        events=[_event(1, "received", Status.RECEIVED), _event(2, "assigned", Status.ASSIGNED)],
        intake=intake(),
    )
    await store.record_events(pool, first)
    eta = datetime.fromisoformat("9999-12-31T23:59:59-12:00")
    plan = RecordEvents(
        state=_state(Status.IN_PROGRESS, eta=eta),
        events=[_event(3, "plan_submitted", Status.IN_PROGRESS, data={"eta": eta.isoformat()})],
    )
    with pytest.raises(store.DATA_ERRORS):
        await store.record_events(pool, plan)
    dead = await store.salvage_events(pool, plan)
    assert [d.part for d in dead] == ["row"]
    assert await pool.fetchval("SELECT status FROM requests") == "in_progress"


async def test_a_trigger_that_raises_is_a_refusal_too(pool: Any) -> None:
    await pool.execute("""
        CREATE FUNCTION test_no_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.reason = 'refund' THEN RAISE EXCEPTION 'no refunds here'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_no_refunds BEFORE INSERT ON request_events
            FOR EACH ROW EXECUTE FUNCTION test_no_refunds();""")
    batch = RecordEvents(
        state=_state(Status.ASSIGNED),
        events=[
            _event(1, "received", Status.RECEIVED, reason="refund"),
            _event(2, "assigned", Status.ASSIGNED),
        ],
        intake=intake(),
    )
    with pytest.raises(store.DATA_ERRORS):
        await store.record_events(pool, batch)
    dead = await store.salvage_events(pool, batch)
    assert [(d.part, d.seq) for d in dead] == [("event", 1)]
    assert "no refunds here" in dead[0].error
    assert await pool.fetchval("SELECT count(*) FROM request_events") == 2


async def test_the_activity_raises_the_ops_alert_per_part_set_aside(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh logger: one cached by an earlier test's logging set-up bypasses capture.
    monkeypatch.setattr(store_activities, "log", structlog.get_logger("activities.store"))
    """`persist.wedged` at error level, with the request's number: what an alert rule
    matches on; a refused plain write is a non-retryable `persist.rejected`."""
    acts, env = StoreActivities(pool), ActivityEnvironment()
    with capture_logs() as logs, pytest.raises(ApplicationError) as caught:
        await env.run(acts.record_events, _poisoned_intake())
    assert caught.value.non_retryable
    assert [(e["event"], e["log_level"]) for e in logs] == [("persist.rejected", "error")]

    salvage = _poisoned_intake().model_copy(update={"salvage": True})
    with capture_logs() as logs:
        assert await env.run(acts.record_events, salvage) == 1  # parts set aside
    wedged = [e for e in logs if e["event"] == "persist.wedged"]
    assert [(e["log_level"], e["request_number"], e["part"], e["seq"]) for e in wedged] == [
        ("error", NUMBER, "event", 1),
    ]
    assert "broken" not in str(wedged)  # the customer's words stay out of the log


async def test_logs_and_failures_never_quote_the_refused_row(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh logger: one cached by an earlier test's logging set-up bypasses capture.
    monkeypatch.setattr(store_activities, "log", structlog.get_logger("activities.store"))
    """A CHECK violation's DETAIL quotes the whole failing row — name, contact,
    description: it stays in persist_dead_letters, never in a log line, a Temporal
    failure or the UI."""
    await pool.execute(
        "ALTER TABLE requests ADD CONSTRAINT test_no_tier CHECK (customer_tier <> 'regular')"
    )
    batch = RecordEvents(
        state=_state(Status.ASSIGNED),
        events=[_event(1, "received", Status.RECEIVED)],
        intake=intake(),
    )
    acts, env = StoreActivities(pool), ActivityEnvironment()
    with capture_logs() as logs, pytest.raises(ApplicationError) as caught:
        await env.run(acts.record_events, batch)
    said = str(caught.value) + str(logs)
    assert "test_no_tier" in said
    assert "Li Lei" not in said and "li.lei@example.com" not in said
    assert "DETAIL" not in said
