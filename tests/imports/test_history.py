"""Requests handled by hand during an outage, imported with their whole history (issue 18,
item 8): each event recorded by hand is replayed in order through the command a live
request gets, dated with its original time; the SLA results are the ones those times
give; nothing that happened before the import is announced; the weekly report counts
the requests in the week they happened. A real worker, PostgreSQL and the time-skipping
Temporal server."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from csflow.config.terms import TermsProvider
from csflow.contracts import RequestIntake, RequestView, ServiceRequestInput
from csflow.domain.codes import Channel
from csflow.domain.policy import DEFAULT_POLICY
from csflow.imports import Importer, parse_text, read_import_file
from csflow.reports import service
from tests.helpers import eventually
from tests.imports.conftest import Stack
from workflows.service_request import transitions

SHANGHAI = ZoneInfo("Asia/Shanghai")
M = timedelta(minutes=1)
LI = {"id": "li.na", "role": "agent"}
FU = {"id": "fu.lin", "role": "follow_up"}


def _intake(external_id: str, received: datetime) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "received_at": received.isoformat(),
        "customer": {
            "id": f"C-{external_id}",
            "name": "Wang Fang",
            "contact": {"phone": "+86 139 0000 0000"},
        },
        "channel": "phone",
        "category": "consultation",
        "priority": "P3",
        "description": "How do I return a gift?",
        "recorded_by": LI,
    }


def _deadlines(received: datetime) -> dict[str, datetime]:
    intake = RequestIntake.model_validate(_intake("PROBE", received))
    terms = TermsProvider(DEFAULT_POLICY).for_intake(intake, received)
    inp = ServiceRequestInput(number="CS0-TEL-1", intake=intake, received_at=received)
    return {c.name: c.due_at for c in transitions.sla_clocks(inp, terms) if c.due_at is not None}


def _a_working_morning() -> tuple[datetime, dict[str, datetime]]:
    """09:30 in Shanghai on a working day at least two days back, whose first response is
    due the same morning: every event below lies in the past, in working hours."""
    day = datetime.now(SHANGHAI).date() - timedelta(days=2)
    for back in range(30):
        received = datetime.combine(day - timedelta(days=back), time(9, 30), SHANGHAI)
        due = _deadlines(received.astimezone(UTC))
        if due["first_response"] - received <= timedelta(hours=3):
            return received.astimezone(UTC), due
    raise AssertionError("no working morning in the last month")


def _iso(at: datetime) -> str:
    return at.astimezone(SHANGHAI).isoformat()


async def _seed_numbers(stack: Stack, received: datetime) -> None:
    """A block of serials for the receipt day: all tests share one Temporal server."""
    day = received.astimezone(SHANGHAI).date()
    start = 600_000 + uuid.uuid4().int % 300 * 1000
    await stack.pool.executemany(
        """INSERT INTO request_counters (day, channel, last_serial) VALUES ($1, $2, $3)
           ON CONFLICT (day, channel) DO UPDATE SET last_serial = EXCLUDED.last_serial""",
        [(day, c.value, start) for c in Channel],
    )


async def _weekly(stack: Stack, received: datetime) -> Any:
    year, week, _ = received.astimezone(SHANGHAI).isocalendar()
    return await service.produce(
        stack.pool,
        "weekly",
        f"{year}-W{week:02d}",
        "Asia/Shanghai",
        datetime.now(UTC),
        refresh=True,
    )


def _sla(report: Any) -> dict[str, tuple[int, int]]:
    return {c.clock: (c.met, c.breached) for c in report.sla}


async def test_three_requests_handled_offline_are_imported_with_their_history(
    stack: Stack, tmp_path: Path
) -> None:
    received, due = _a_working_morning()
    await _seed_numbers(stack, received)
    tag = uuid.uuid4().hex[:6]
    fr = due["first_response"]
    eta = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    rows = [
        # on time: answered and planned well within the first two hours, still open
        _intake(f"ON-{tag}", received)
        | {
            "events": [
                {"kind": "response", "at": _iso(received + 10 * M), "note": "called back"},
                {
                    "kind": "plan",
                    "at": _iso(received + 30 * M),
                    "measures": ["send a return label"],
                    "eta": _iso(eta),
                },
            ]
        },
        # the first answer came 40 minutes after the first response was due
        _intake(f"LATE-{tag}", received)
        | {"events": [{"kind": "response", "at": _iso(fr + 40 * M), "note": "sorry, busy day"}]},
        # the whole life: answered, planned, resolved, confirmed and followed up by phone
        _intake(f"DONE-{tag}", received)
        | {
            "events": [
                {"kind": "response", "at": _iso(received + 5 * M), "note": "on it"},
                {
                    "kind": "plan",
                    "at": _iso(received + 15 * M),
                    "measures": ["explain the return policy"],
                    "eta": _iso(received + 2 * 60 * M),
                },
                {"kind": "resolution", "at": _iso(received + 60 * M), "summary": "label sent"},
                {"kind": "confirmation", "at": _iso(received + 90 * M), "satisfied": True},
                {
                    "kind": "follow_up",
                    "at": _iso(received + 150 * M),
                    "actor": FU,
                    "score": 5,
                    "nps": 9,
                    "praise": "quick and kind",
                },
            ]
        },
    ]
    # A control without events, received a minute ago: its acknowledgement does go out.
    fresh = datetime.now(UTC).replace(microsecond=0) - M
    rows.append(_intake(f"FRESH-{tag}", fresh))
    path = tmp_path / "offline.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    before = await _weekly(stack, received)

    started = datetime.now(UTC)
    report = await Importer(stack.csflow, stack.client, stack.pool).run(read_import_file(path))
    assert report.failed == [] and report.bad == []
    numbers = {i.external_id.split("-")[0]: i.number for i in report.imported}
    assert set(numbers) == {"ON", "LATE", "DONE", "FRESH"}
    control = numbers.pop("FRESH")

    async def settled(number: str, *statuses: str) -> RequestView:
        async def check() -> RequestView:
            view = await stack.csflow.state(number)
            assert view.status.value in statuses
            kinds = await stack.pool.fetchval(
                "SELECT count(*) FROM request_events WHERE number = $1", number
            )
            assert kinds == len(view.timeline)  # every event persisted
            return view

        return await eventually(check, timeout=30)

    done = await settled(numbers["DONE"], "closed")
    # Still open: worked on, or taken over by the director when the resolution deadline
    # (days ago) ran through the ladder after the import.
    on = await settled(numbers["ON"], "in_progress", "escalated")
    late = await settled(numbers["LATE"], "in_progress", "escalated")

    # The timeline starts at the receipt and runs in the order things happened, each at
    # its original time.
    for view in (done, on, late):
        assert view.timeline[0].kind == "received" and view.timeline[0].at == received
        times = [e.at for e in view.timeline]
        assert times == sorted(times), [(e.kind, e.at) for e in view.timeline]
    handled = [(e.kind, e.at - received) for e in done.timeline if e.data.get("imported")]
    assert handled == [
        ("progress_posted", 5 * M),
        ("plan_submitted", 15 * M),
        ("resolution_proposed", 60 * M),
        ("customer_confirmed", 90 * M),
        ("follow_up_scheduled", 90 * M),
        ("follow_up_recorded", 150 * M),
    ]
    assert done.timeline[-1].kind == "closed" and done.timeline[-1].at == received + 150 * M
    assert not any(e.kind in ("sla_breached", "sla_warning") for e in done.timeline)

    # SLA results from the original times: met, or breached at the deadline itself.
    def sla_of(view: RequestView, kind: str) -> dict[str, str]:
        result: dict[str, str] = next(e for e in view.timeline if e.kind == kind).data["sla"]
        return result

    assert sla_of(on, "progress_posted") == {"first_response": "met"}
    assert sla_of(on, "plan_submitted") == {"plan": "met"}
    assert sla_of(done, "resolution_proposed") == {"resolution": "met"}
    assert sla_of(late, "progress_posted") == {"first_response": "breached"}
    breach = next(
        e for e in late.timeline if e.kind == "sla_breached" and e.data["clock"] == "first_response"
    )
    assert breach.at == fr and breach.data["announced"] is False
    response = next(e for e in late.timeline if e.kind == "progress_posted")
    assert breach.seq < response.seq and response.at == fr + 40 * M

    # Nothing dated before the import reached anyone: no acknowledgement, no plan ETA, no
    # warning, breach or page, no questionnaire. Only what fell due after it may be sent.
    # The open ones are worked in csflow from now on: their holder hears it, once.
    async def holders_told() -> list[Any]:
        rows = await stack.pool.fetch(
            "SELECT key, template FROM outbox WHERE number = ANY($1::text[])",
            list(numbers.values()),
        )
        told = sorted(r["key"].split("/")[0] for r in rows if "/imported/" in r["key"])
        assert told == sorted([numbers["ON"], numbers["LATE"]]), told
        return list(rows)

    rows_sent = await eventually(holders_told, timeout=30)
    by_seq = {(view.number, e.seq): e for view in (done, on, late) for e in view.timeline}
    for row in rows_sent:
        number, ref = row["key"].split("/")[:2]
        if ref == "imported":
            assert row["template"] == "staff_assignment"
            continue
        assert ref.isdigit(), f"a page for a step before the import: {row['key']}"
        event = by_seq[(number, int(ref))]
        assert event.at >= started, (row["template"], event.kind, event.at)
    assert all(
        e.data.get("announced") is False
        for view in (done, on, late)
        for e in view.timeline
        if e.at < started
    )

    async def acknowledged() -> None:
        sent = await stack.pool.fetch("SELECT template FROM outbox WHERE number = $1", control)
        assert "acknowledgement" in [r["template"] for r in sent]

    await eventually(acknowledged, timeout=30)

    # The weekly report of the week they happened in counts them.
    after = await _weekly(stack, received)
    same_week = (
        fresh.astimezone(SHANGHAI).isocalendar()[:2]
        == (received.astimezone(SHANGHAI).isocalendar()[:2])
    )
    assert after.received - before.received == 3 + same_week
    was, now = _sla(before), _sla(after)

    def delta(clock: str) -> tuple[int, int]:
        met, breached = now.get(clock, (0, 0))
        met0, breached0 = was.get(clock, (0, 0))
        return met - met0, breached - breached0

    assert delta("first_response") == (2, 1)
    assert delta("plan")[0] == 2
    assert delta("resolution")[0] == 1

    # A re-run of the same file adds nothing: every event was already taken.
    again = await Importer(stack.csflow, stack.client, stack.pool).run(read_import_file(path))
    assert again.failed == [] and again.imported == [] and len(again.present) == 4

    # Compared on the imported events only: the ladder of a deadline days past may still
    # be adding its steps to ON's timeline meanwhile (`on` was read once in_progress).
    def from_file(view: RequestView) -> list[tuple[str, datetime]]:
        return [(e.kind, e.at) for e in view.timeline if e.data.get("imported")]

    assert from_file(on), "the import marks its events"
    assert from_file(await stack.csflow.state(numbers["ON"])) == from_file(on)


def test_events_are_checked_before_anything_is_created() -> None:
    """Each problem names the line and the event's field, in the file's own names."""
    now = datetime.now(UTC).replace(microsecond=0)
    received = now - timedelta(days=2)
    rows = [
        _intake("E-1", received)
        | {
            "events": [
                {"kind": "plan", "at": _iso(received + M), "measures": [], "eta": _iso(now)},
                {"kind": "respnose", "at": _iso(received + 2 * M), "note": "x"},
                {"kind": "response", "at": _iso(received - M), "note": "too early"},
            ]
        },
        _intake("E-2", received)
        | {
            "events": [
                {"kind": "response", "at": _iso(received + 5 * M), "note": "a"},
                {"kind": "progress", "at": _iso(received + 4 * M), "note": "out of order"},
                {"kind": "follow_up", "at": _iso(now + timedelta(hours=1)), "score": 9, "nps": 1},
                {"kind": "confirmation", "at": "2026-11-20 10:00", "satisfied": True},
                {"kind": "confirmation", "at": _iso(received + 6 * M), "satisfied": False},
            ]
        },
    ]
    parsed = parse_text("\n".join(json.dumps(r) for r in rows), "jsonl", "bad.jsonl", now=now)
    assert parsed.rows == []
    first, second = parsed.bad
    assert first.line == 1 and first.external_id == "E-1"
    assert "events[0].measures: List should have at least 1 item" in first.reason
    assert "events[1].kind: required: one of response, plan, progress" in first.reason
    assert "events[2].at: is before received_at" in first.reason
    assert second.line == 2
    assert "events[1].at: is before events[0].at" in second.reason
    assert "events[2].score: Input should be less than or equal to 5" in second.reason
    no_one = _intake("E-3", received) | {
        "recorded_by": None,
        "events": [{"kind": "response", "at": _iso(received + M), "note": "called"}],
    }
    [third] = parse_text(json.dumps(no_one), "jsonl", "who.jsonl", now=now).bad
    assert third.reason == (
        "events[0].actor: required: who did it (id and role), or give recorded_by on the row"
    )
    assert "events[3].at: " in second.reason and "time zone" in second.reason
    assert "events[4]: reason is required when the customer is not satisfied" in second.reason


REQUESTS_CSV = "\n".join(
    [
        "external_id,received_at,customer_id,customer_name,customer_contact_phone,channel,"
        "category,description,recorded_by_id,recorded_by_role",
        "OUT-1,{received},C-1,Wang Fang,+86 139 0000 0000,phone,consultation,"
        "How do I return a gift?,li.na,agent",
        "OUT-2,{received},C-2,Zhao Lei,+86 139 0000 0001,phone,consultation,"
        "Where is my parcel?,li.na,agent",
    ]
)

EVENTS_CSV = "\n".join(
    [
        "external_id,kind,at,actor_id,actor_role,note,measures,eta,summary,satisfied,reason,"
        "score,nps,praise",
        "OUT-1,response,{r5},,,on it,,,,,,,,",
        "OUT-1,plan,{r15},,,,explain the policy;send a label,{eta},,,,,,",
        "OUT-1,resolution,{r60},,,,,,label sent,,,,,",
        "OUT-1,confirmation,{r90},,,,,,,yes,,,,",
        "OUT-1,follow_up,{r150},fu.lin,follow_up,,,,,,,5,9,quick and kind",
        "OUT-2,confirmation,{r5},,,,,,,maybe,,,,",
        "OUT-2,follow_up,{r15},,,,,,,,,6,11,",
        "OUT-9,response,{r5},,,lost,,,,,,,,",
    ]
)


def test_a_csv_import_takes_its_events_from_an_events_file(tmp_path: Path) -> None:
    """The same history as JSON Lines gives, from a second sheet; its problems name that
    sheet's line and column."""
    now = datetime.now(UTC).replace(microsecond=0)
    received = now - timedelta(days=2)
    times = {f"r{m}": _iso(received + m * M) for m in (5, 15, 60, 90, 150)}
    requests = tmp_path / "requests.csv"
    requests.write_text(REQUESTS_CSV.format(received=_iso(received)), encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text(EVENTS_CSV.format(eta=_iso(now), **times), encoding="utf-8")

    parsed = read_import_file(requests, now=now, events=events)
    [row] = parsed.rows
    assert [(e.kind, e.at - received) for e in row.events] == [
        ("response", 5 * M),
        ("plan", 15 * M),
        ("resolution", 60 * M),
        ("confirmation", 90 * M),
        ("follow_up", 150 * M),
    ]
    jsonl = _intake("OUT-1", received) | {
        "customer": {"id": "C-1", "name": "Wang Fang", "contact": {"phone": "+86 139 0000 0000"}},
        "events": [
            {"kind": "response", "at": times["r5"], "note": "on it"},
            {
                "kind": "plan",
                "at": times["r15"],
                "measures": ["explain the policy", "send a label"],
                "eta": _iso(now),
            },
            {"kind": "resolution", "at": times["r60"], "summary": "label sent"},
            {"kind": "confirmation", "at": times["r90"], "satisfied": True},
            {"kind": "follow_up", "at": times["r150"], "actor": FU, "score": 5, "nps": 9}
            | {"praise": "quick and kind"},
        ],
    }
    [same] = parse_text(json.dumps(jsonl), "jsonl", "same.jsonl", now=now).rows
    assert [(e.command, e.arg) for e in row.events] == [(e.command, e.arg) for e in same.events]

    second, orphan = sorted(parsed.bad, key=lambda p: p.line)[-2:]
    assert (second.line, second.external_id) == (3, "OUT-2")
    assert second.reason == (
        "events.csv line 7: satisfied: must be true or false; "
        "events.csv line 8: score: Input should be less than or equal to 5; "
        "events.csv line 8: nps: Input should be less than or equal to 10"
    )
    assert orphan.external_id == "OUT-9"
    assert (
        orphan.reason == "events.csv line 9: no request with this external_id in the requests file"
    )
