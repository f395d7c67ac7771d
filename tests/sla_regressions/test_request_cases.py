"""SLA bugs other helpdesks shipped, replayed on running requests under time skipping.

Each test is written from the peer's bug report (the scenario, not their code) and names
its source; expected instants are worked out by hand in the comments. The pure calendar
cases are in `test_calendar_cases.py`; docs/sla.md lists all seventeen as guarantees.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Worker

from csflow.config.terms import TermsProvider
from csflow.contracts import (
    Actor,
    CancelCommand,
    ChangePriorityCommand,
    ConfirmCommand,
    CustomerRepliedCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    UpdateCalendarCommand,
    UpdateResult,
    WaitForCustomerCommand,
)
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Channel, Priority, Role
from csflow.domain.policy import policy_from_mapping
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually, intake
from tests.sla_regressions.conftest import start_instant, zone_at
from tests.workflows.conftest import Harness
from tests.workflows.fakes import FakeAssignment, FakeFollowUp, FakeNotify, FakeStore
from tests.workflows.updates import act
from workflows.improvement import ImprovementTaskWorkflow
from workflows.service_request import ServiceRequestWorkflow

pytestmark = pytest.mark.integration

Handle = WorkflowHandle[ServiceRequestWorkflow, UpdateResult]
H, M, DAY = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
SLA_KINDS = ("sla_warning", "sla_breached", "escalation_step")


def sla_events(view: RequestView, t0: datetime) -> list[tuple[str, str, timedelta]]:
    """(clock, event, offset from receipt) of every SLA event, in timeline order."""
    return [
        (
            e.data["clock"],
            e.kind if e.kind != "escalation_step" else f"step{e.data['step']}",
            e.at - t0,
        )
        for e in view.timeline
        if e.kind in SLA_KINDS
    ]


def clock(view: RequestView, clock_id: str) -> Any:
    return next(c for c in view.clocks if c.id == clock_id)


def office_morning(t0: datetime, sla: dict[str, Any], **calendar: Any) -> TermsProvider:
    """A calendar on which `t0` is 09:xx of a working day; every day works, no holidays."""
    return TermsProvider(
        policy_from_mapping(
            {
                "sla": sla,
                "calendar": {
                    "time_zone": zone_at(9, t0),
                    "weekend": [],
                    "holidays_from": "none",
                    **calendar,
                },
            }
        )
    )


async def started(
    harness: Harness, t0: datetime, priority: Priority, terms: TermsProvider | None = None
) -> Handle:
    h = await harness.start(intake(priority=priority), received_at=t0, terms=terms)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    return h


async def state(h: Handle) -> RequestView:
    return await h.query(ServiceRequestWorkflow.get_state)


async def done(h: Handle) -> None:
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


# ---- 1 ----


async def test_01_zammad_3180_a_round_the_clock_p1_breaches_15_minutes_after_2359_30(
    harness: Harness,
) -> None:
    """Zammad #3180, on a running request: a P1 received at 23:59:30 local time on a
    24/7 calendar, first response counted in working time, warns at 00:07:00 and 00:11:15
    and breaches at 00:14:30 — midnight closes nothing. (The pure case, with a year end
    and a DST night, is in test_calendar_cases.py.)"""
    soon = datetime.now(UTC) + 2 * M
    zone = ZoneInfo(zone_at(23, soon))
    t0 = datetime.combine(soon.astimezone(zone).date(), time(23, 59, 30), zone)
    terms = TermsProvider(
        policy_from_mapping(
            {
                "sla": {"P1": {"first_response": {"duration": "15m", "basis": "working"}}},
                "calendar": {
                    "time_zone": zone.key,
                    "working_hours": [["00:00", "24:00"]],
                    "weekend": [],
                    "holidays_from": "none",
                },
            }
        )
    )
    h = await started(harness, t0, Priority.P1, terms)
    assert (await state(h)).deadlines["first_response"] == t0 + 15 * M
    await harness.env.fast_forward(h, t0 - datetime.now(UTC) + 20 * M)

    async def breached() -> None:
        rows = [r for r in sla_events(await state(h), t0) if r[0] == "first_response"]
        assert rows[:3] == [
            ("first_response", "sla_warning", 7.5 * M),
            ("first_response", "sla_warning", 11.25 * M),
            ("first_response", "sla_breached", 15 * M),
        ]

    await eventually(breached)
    await done(h)


# ---- 3 ----


async def test_03_zammad_534_a_calendar_change_moves_only_working_time_deadlines(
    harness: Harness,
) -> None:
    """Zammad #534: changing the calendar did not recalculate open tickets. csflow's
    calendar push re-counts a running request — and only the clocks that count working
    time: wall-clock deadlines stay where they were.

    P3 received at 09:xx on an office day (09:00–12:00, 13:00–18:00): plan (4 working
    hours) due 14:xx the same day, resolution (16 working hours) at 09:xx two days on,
    first response and progress cadence in wall time (+2 h, +24 h). Half an hour later
    tomorrow becomes a holiday: the resolution moves one day, to +72 h; nothing else does.
    """
    t0 = start_instant()
    terms = office_morning(
        t0,
        {
            "P3": {
                "plan": {"duration": "4h", "basis": "working"},
                "resolution": {"duration": "16h", "basis": "working"},
            }
        },
    )
    h = await started(harness, t0, Priority.P3, terms)
    before = (await state(h)).deadlines
    assert before == {
        "first_response": t0 + 2 * H,
        "plan": t0 + 5 * H,
        "resolution": t0 + 48 * H,
        "progress_cadence": t0 + 24 * H,
    }
    await harness.env.fast_forward(h, 30 * M)
    calendar = terms.calendar(t0.date())
    tomorrow = t0.astimezone(ZoneInfo(calendar.time_zone)).date() + DAY
    corrected = BusinessCalendar.model_validate(
        calendar.model_dump() | {"holidays": [tomorrow], "version": ""}
    )
    v = await act(
        h,
        ServiceRequestWorkflow.update_calendar,
        UpdateCalendarCommand(actor=SUPERVISOR, calendar=corrected),
    )
    assert v.deadlines == before | {"resolution": t0 + 72 * H}
    event = v.timeline[-1]
    assert event.kind == "calendar_updated" and event.data["to"] == corrected.version
    assert event.data["deadlines"]["resolution"] == (t0 + 72 * H).isoformat()
    # A repeated push (the command is idempotent by version) changes nothing.
    again = await act(
        h,
        ServiceRequestWorkflow.update_calendar,
        UpdateCalendarCommand(actor=SUPERVISOR, calendar=corrected),
    )
    assert again.deadlines == v.deadlines and len(again.timeline) == len(v.timeline)
    await done(h)


# ---- 4 ----


async def test_04_zammad_1322_1620_only_an_agents_message_to_the_customer_answers(
    harness: Harness,
) -> None:
    """Zammad #1322 / #1620: the automatic acknowledgement, or the customer's own
    follow-up message, counted as the first response. In csflow the acknowledgement goes
    out at receipt, the customer's message arrives as `customer_replied`, and staff-only
    text (a wait reason, a reassignment note: csflow's internal notes) never reaches the
    customer — none of them satisfies first response. The agent's progress note to the
    customer does, at the instant it is posted."""
    t0 = start_instant()
    h = await started(harness, t0, Priority.P3)  # first response: 2 h

    async def acknowledged() -> None:
        assert any(
            n.template == "acknowledgement" and n.key.startswith(h.id) for n in harness.notify.sent
        )

    await eventually(acknowledged)
    await harness.env.fast_forward(h, 10 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="internal: check the courier's scan"),
    )
    paused = v.timeline[-1].at
    await harness.env.fast_forward(h, 10 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.customer_replied,
        CustomerRepliedCommand(actor=CUSTOMER, note="Any news? I am still waiting."),
    )
    waited = v.timeline[-1].at - paused
    await harness.env.fast_forward(h, 10 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.reassign,
        ReassignCommand(
            actor=SUPERVISOR, to_staff="agent-9", reason="internal note: agent-9 knows couriers"
        ),
    )
    first = clock(v, "first_response")
    assert first.open and first.satisfied_at is None
    assert first.due_at == t0 + 2 * H + waited, "moved by the wait, by nothing else"
    await harness.env.fast_forward(h, 10 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(
            actor=Actor(id="agent-9", role=Role.AGENT),  # the holder now
            note="We have found your parcel and are sending a replacement.",
        ),
    )
    first = clock(v, "first_response")
    assert first.satisfied_at == v.timeline[-1].at
    await harness.env.fast_forward(h, 3 * H)
    v = await state(h)
    assert not [r for r in sla_events(v, t0) if r[0] == "first_response" and r[1] != "sla_warning"]
    await done(h)


# ---- 5 ----


async def test_05_zammad_3140_5177_the_update_clock_neither_fires_after_a_reply_nor_replaces(
    harness: Harness,
) -> None:
    """Zammad #3140 / #5177: the "update time" escalation fired although an agent had just
    replied, and its deadline overwrote the first-response one. P3 with a one-hour progress
    cadence and a two-hour first response: the cadence breaches at +1 h while the first
    response stays due at +2 h; a progress note at +1 h 10 satisfies both and starts the
    next cadence period (due +2 h 10), so nothing fires at +2 h; that period breaches at
    +2 h 10 only because no further note came."""
    t0 = start_instant()
    terms = TermsProvider(policy_from_mapping({"sla": {"P3": {"progress_cadence": "1h"}}}))
    h = await started(harness, t0, Priority.P3, terms)
    await harness.env.fast_forward(h, 70 * M)
    v = await state(h)
    assert ("progress_cadence#1.1", "sla_breached", H) in sla_events(v, t0)
    assert clock(v, "first_response").due_at == t0 + 2 * H
    assert not [r for r in sla_events(v, t0) if r[0] == "first_response" and r[1] != "sla_warning"]
    v = await act(
        h,
        ServiceRequestWorkflow.post_progress,
        ProgressCommand(actor=AGENT, note="The courier has confirmed the damage."),
    )
    posted = v.timeline[-1].at
    assert clock(v, "first_response").satisfied_at == posted
    assert clock(v, "progress_cadence#1.2").due_at == posted + H
    await harness.env.fast_forward(h, 3 * H)
    v = await state(h)
    after = [(c, k, t0 + at) for c, k, at in sla_events(v, t0) if t0 + at > posted]
    assert ("progress_cadence#1.2", "sla_breached", posted + H) in after
    assert not [r for r in after if r[0] in ("first_response", "progress_cadence#1.1")]
    assert not [
        r for r in after if r[0].startswith("progress_cadence") and r[2] < posted + 30 * M
    ], "nothing on the cadence right after the note"
    await done(h)


# ---- 6 ----


def _worker(h: Harness) -> Worker:
    return Worker(
        h.client,
        task_queue=h.queue,
        workflows=[ServiceRequestWorkflow, ImprovementTaskWorkflow],
        activities=[
            h.store.record_events,
            h.assignment.triage,
            h.assignment.transfer,
            h.assignment.release,
            h.assignment.route_escalation,
            h.follow_up.plan_follow_up,
            h.follow_up.open_linked_request,
            h.follow_up.save_improvement,
            h.notify.send,
        ],
    )


async def test_06_glpi_5319_every_step_missed_while_down_is_recorded_in_order(
    ts_env: Any,
) -> None:
    """GLPI #5319: when the cron was down past several escalation levels, only the last
    level ran on recovery. A real outage, in seconds of real time (time skipping cannot
    skip while nobody runs the workflow): a P1 received 8 s from now, first response due
    4 s after receipt, ladder steps 4 s and 8 s after the breach; its only worker stops
    right after receipt and comes back 14 s after it. Both warnings (+2, +3 s), the breach
    (+4 s) and both steps (+8, +12 s) are recorded on recovery, each at its own instant, in
    time order — and each is announced: the request was open before the outage, so these
    are news to act on, not an imported backlog."""
    import asyncio

    from tests.helpers import fresh_queue

    notify = FakeNotify()
    h = Harness(
        ts_env,
        ts_env.client,
        fresh_queue(),
        FakeStore(outbox=notify.sent),
        FakeAssignment(),
        FakeFollowUp(),
        notify,
    )
    step = {"notify": ["supervisor"], "channels": ["sms"], "action": "notify"}
    terms = TermsProvider(
        policy_from_mapping(
            {
                "sla": {"P1": {"first_response": "4s"}},
                "escalation": {"P1": [step | {"after": "4s"}, step | {"after": "8s"}]},
            }
        )
    )
    S = timedelta(seconds=1)
    async with _worker(h):
        t0 = start_instant() + 8 * S  # room to start and stop the worker on a busy machine
        handle = await started(h, t0, Priority.P1, terms)
    assert datetime.now(t0.tzinfo) < t0 + 2 * S, "the worker was down before the first"
    await asyncio.sleep((t0 + 14 * S - datetime.now(t0.tzinfo)).total_seconds())
    expected = [
        ("first_response", "sla_warning", 2 * S),
        ("first_response", "sla_warning", 3 * S),
        ("first_response", "sla_breached", 4 * S),
        ("first_response", "step1", 8 * S),
        ("first_response", "step2", 12 * S),
    ]
    async with _worker(h):

        async def recovered() -> RequestView:
            v = await state(handle)
            assert sla_events(v, t0) == expected
            return v

        v = await eventually(recovered, timeout=30)
        fired = [e for e in v.timeline if e.kind in SLA_KINDS]
        assert all(e.data.get("announced", True) for e in fired)

        async def announced() -> None:
            keys = [
                n.key.removeprefix(f"{handle.id}/")
                for n in h.notify.sent
                if n.key.startswith(f"{handle.id}/")
            ]
            # Warnings and the breach are keyed by their event; each ladder step pages
            # its people once, keyed by cycle and step (whichever clock reached it).
            seqs = {int(k.split("/")[0]) for k in keys if k.split("/")[0].isdigit()}
            assert {e.seq for e in fired if e.kind != "escalation_step"} <= seqs
            for n in (1, 2):
                assert any(k.startswith(f"ladder/c1/s{n}/") for k in keys), (n, keys)

        await eventually(announced)
        await done(handle)


# ---- 8 ----


async def test_08_glpi_6902_15605_paused_time_is_kept_when_the_priority_changes(
    harness: Harness,
) -> None:
    """GLPI #6902 / #15605: changing the SLA of a ticket that had been on hold forgot the
    time it had spent waiting. P2 (resolution 4 h): 1 h of work, 10 h waiting on the
    customer, 1 h more, then lowered to P3 (24 h) — 2 h used, so due 22 h after the change
    (+34 h), not 24 h after receipt. A change while paused keeps the pause too."""
    t0 = start_instant()
    h = await started(harness, t0, Priority.P2)
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["replace the part"], eta=t0 + 2 * DAY),
    )
    await harness.env.fast_forward(h, H)
    await h.execute_update(
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="waiting for the serial number"),
    )
    await harness.env.fast_forward(h, 10 * H)
    await h.execute_update(
        ServiceRequestWorkflow.customer_replied,
        CustomerRepliedCommand(actor=CUSTOMER, note="SN-12345"),
    )
    await harness.env.fast_forward(h, H)
    v = await act(
        h,
        ServiceRequestWorkflow.change_priority,
        ChangePriorityCommand(
            actor=SUPERVISOR, priority=Priority.P3, reason="a workaround is in place"
        ),
    )
    changed = v.timeline[-1].at
    resolution = clock(v, "resolution")
    assert abs(resolution.used - 2 * H) < timedelta(seconds=5)
    assert resolution.due_at == changed + 24 * H - resolution.used
    assert abs(resolution.due_at - (t0 + 34 * H)) < timedelta(seconds=5)
    # Waiting again, then raised back to P2 while paused: the 2 h used stay used.
    v = await act(
        h,
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="waiting for a photo"),
    )
    used = clock(v, "resolution").used
    v = await act(
        h,
        ServiceRequestWorkflow.change_priority,
        ChangePriorityCommand(
            actor=SUPERVISOR, priority=Priority.P2, reason="the workaround failed"
        ),
    )
    paused = clock(v, "resolution")
    assert paused.due_at is None and paused.used == used
    v = await act(
        h,
        ServiceRequestWorkflow.customer_replied,
        CustomerRepliedCommand(actor=CUSTOMER, note="photo attached"),
    )
    assert clock(v, "resolution").due_at == v.timeline[-1].at + 4 * H - used
    await done(h)


# ---- 9 ----


async def test_09_glpi_17186_a_pause_moves_the_deadline_by_the_paused_working_time(
    harness: Harness,
) -> None:
    """GLPI #17186: after a pause the resolution deadline moved by the wrong amount and
    nothing said by how much. Office hours 09:00–18:00, every day; P3 resolution of 16
    working hours received 09:xx: due 16:xx the next day (+31 h). Paused at 16:xx the same
    day (+7 h), resumed at 10:xx the next (+25 h): the paused working time is 16:xx–18:00
    plus 09:00–10:xx, three hours, so the deadline moves to 10:xx the day after (+49 h) —
    and the timeline's `clocks_resumed` says so, and the breach comes then."""
    t0 = start_instant()
    terms = office_morning(
        t0,
        {"P3": {"resolution": {"duration": "16h", "basis": "working"}}},
        working_hours=[["09:00", "18:00"]],
    )
    h = await started(harness, t0, Priority.P3, terms)
    v = await act(
        h,
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["order the part"], eta=t0 + 2 * DAY),
    )
    assert v.deadlines["resolution"] == t0 + 31 * H
    await harness.env.fast_forward(h, 7 * H)
    v = await act(
        h,
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="the customer is away until tomorrow"),
    )
    paused = v.timeline[-1]
    assert paused.kind == "clocks_paused" and "resolution" in paused.data["clocks"]
    await harness.env.fast_forward(h, 18 * H)
    v = await act(
        h,
        ServiceRequestWorkflow.customer_replied,
        CustomerRepliedCommand(actor=CUSTOMER, note="back now"),
    )
    resumed = v.timeline[-1]
    # The Updates land a moment after each fast-forward: the pause `late_p` after +7 h, the
    # resume `late_r` after +25 h. By hand: `used` = 7 h + late_p; from the resume at
    # 10:xx + late_r, 18:00 comes first, then the next morning takes the rest — due at
    # +49 h + late_r − late_p, which is the old deadline moved on by the paused working
    # time (16:xx + late_p → 18:00, 09:00 → 10:xx + late_r: 3 h + late_r − late_p).
    late_p, late_r = paused.at - (t0 + 7 * H), resumed.at - (t0 + 25 * H)
    assert abs(late_p) < 10 * M and abs(late_r) < 10 * M  # t0 was 2 s ahead of the clock
    due = t0 + 49 * H + late_r - late_p
    assert resumed.kind == "clocks_resumed"
    assert datetime.fromisoformat(resumed.data["due"]["resolution"]) == due
    await harness.env.fast_forward(h, 26 * H)

    async def breached() -> None:
        v = await state(h)
        assert ("resolution", "sla_breached", due - t0) in sla_events(v, t0)

    await eventually(breached)
    await done(h)


# ---- 10 ----


async def test_10_glpi_7946_nothing_warns_breaches_or_escalates_while_waiting(
    harness: Harness,
) -> None:
    """GLPI #7946: escalations kept firing on tickets waiting for the requester. A P1
    breached at +15 min is put on hold at +20 min, five minutes into its ladder (step 1
    was due at +30): a day of waiting records nothing, and no event is ever stamped inside
    the wait. On the reply the ladder goes on where it stopped — step 1 ten minutes after
    the resume, step 2 (+45 min from the breach) twenty-five minutes after it."""
    t0 = start_instant()
    h = await started(harness, t0, Priority.P1)
    await harness.env.fast_forward(h, 20 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="need the error log"),
    )
    paused = v.timeline[-1].at
    assert ("first_response", "sla_breached", 15 * M) in sla_events(v, t0)
    await harness.env.fast_forward(h, DAY)
    v = await act(
        h,
        ServiceRequestWorkflow.customer_replied,
        CustomerRepliedCommand(actor=CUSTOMER, note="log attached"),
    )
    resumed = v.timeline[-1].at
    await harness.env.fast_forward(h, 30 * M)

    async def climbed() -> RequestView:
        v = await state(h)
        steps = [
            (e.data["step"], e.at)
            for e in v.timeline
            if e.kind == "escalation_step" and e.data["clock"] == "first_response"
        ]
        over = paused - (t0 + 15 * M)  # time past the breach before the wait
        assert steps == [(1, resumed + 15 * M - over), (2, resumed + 30 * M - over)]
        return v

    v = await eventually(climbed)
    assert not [e for e in v.timeline if e.kind in SLA_KINDS and paused < e.at < resumed]
    await done(h)


# ---- 13 ----


async def test_13_chatwoot_10178_no_clock_counts_after_resolution(harness: Harness) -> None:
    """Chatwoot #10178: SLA misses were raised on conversations already resolved. A P1
    resolved at +10 min: two days later none of its SLA clocks has warned, breached or
    escalated after the resolution, and the request is not red. Re-handling opens cycle 2,
    whose resolution clock (P1: 2 h) is the only one that counts — and breaches on time."""
    t0 = start_instant()
    h = await started(harness, t0, Priority.P1)
    await harness.env.fast_forward(h, 10 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.resolve,
        ResolveCommand(actor=AGENT, summary="restarted the router"),
    )
    resolved = v.timeline[-1].at
    await harness.env.fast_forward(h, 2 * DAY)
    v = await state(h)
    assert not [e for e in v.timeline if e.kind in SLA_KINDS and e.at >= resolved]
    assert all(not c.open for c in v.clocks if c.cycle == 1 and c.name != "confirmation")
    assert v.sla_state.value == "green"
    v = await act(
        h,
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="down again"),
    )
    reopened = v.timeline[-1].at
    assert {c.id for c in v.clocks if c.open} == {"resolution#2", "progress_cadence#2.1"}
    await harness.env.fast_forward(h, 3 * H)

    async def cycle_two_only() -> None:
        v = await state(h)
        late = [
            (e.data["clock"], e.kind)
            for e in v.timeline
            if e.kind in SLA_KINDS and e.at >= resolved
        ]
        assert ("resolution#2", "sla_breached") in late
        assert {c for c, _ in late} <= {"resolution#2", "progress_cadence#2.1"}
        breach = next(
            e for e in v.timeline if e.kind == "sla_breached" and e.data["clock"] == "resolution#2"
        )
        assert breach.at == reopened + 2 * H

    await eventually(cycle_two_only)
    await done(h)


# ---- 16 ----


async def test_16_zammad_4353_lowering_the_priority_after_a_breach_recounts_the_clocks(
    harness: Harness,
) -> None:
    """Zammad #4353, in csflow's terms: a P1 whose first response breached at +15 min is
    lowered to P3 at +20 min. Under P3 the first response is due at +2 h, so the request is
    no longer red (the old breach stays in the timeline), and the clock breaches again at
    +2 h with the P3 ladder counted from there: +6 h and +10 h — not +4 h 15 and +8 h 15
    from the old P1 breach."""
    t0 = start_instant()
    h = await started(harness, t0, Priority.P1)
    await harness.env.fast_forward(h, 20 * M)
    v = await act(
        h,
        ServiceRequestWorkflow.change_priority,
        ChangePriorityCommand(
            actor=SUPERVISOR, priority=Priority.P3, reason="only one user affected"
        ),
    )
    assert v.sla_state.value != "red"
    assert clock(v, "first_response").due_at == t0 + 2 * H
    red = f"WorkflowId = '{h.id}' AND SlaState = 'red'"

    async def listed(expected: list[str]) -> None:
        assert [w.id async for w in harness.client.list_workflows(red)] == expected

    await eventually(lambda: listed([]))
    await harness.env.fast_forward(h, 11 * H)

    async def recounted() -> None:
        v = await state(h)
        assert [r for r in sla_events(v, t0) if r[0] == "first_response"] == [
            ("first_response", "sla_warning", 7.5 * M),
            ("first_response", "sla_warning", 11.25 * M),
            ("first_response", "sla_breached", 15 * M),
            ("first_response", "sla_breached", 2 * H),
            ("first_response", "step1", 6 * H),
            ("first_response", "step2", 10 * H),
        ]

    await eventually(recounted)
    await eventually(lambda: listed([h.id]))
    await done(h)


async def test_03b_a_calendar_push_reaches_each_request_on_its_own_teams_hours(
    harness: Harness,
) -> None:
    """Zammad #534 with team calendars (case 14): a request received on the hotline runs
    on the hotline's hours, so the organisation's corrected calendar is not a correction
    of it — the push says so (OtherCalendar) and changes nothing — while the hotline's
    own corrected calendar re-counts it."""
    t0 = start_instant()
    terms = office_morning(
        t0,
        {"P3": {"resolution": {"duration": "16h", "basis": "working"}}},
        teams={
            "hotline": {
                "channels": ["phone"],
                "holidays_from": "none",
                "weekend": [],
                "working_hours": [["00:00", "24:00"]],
            }
        },
    )
    h = await harness.start(
        intake(priority=Priority.P3, channel=Channel.PHONE), received_at=t0, terms=terms
    )
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    before = await state(h)
    organisation = terms.calendar(t0.date())
    tomorrow = t0.astimezone(ZoneInfo(organisation.time_zone)).date() + DAY

    def corrected(calendar: BusinessCalendar) -> BusinessCalendar:
        return BusinessCalendar.model_validate(
            calendar.model_dump() | {"holidays": [tomorrow], "version": ""}
        )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.execute_update(
            ServiceRequestWorkflow.update_calendar,
            UpdateCalendarCommand(actor=SUPERVISOR, calendar=corrected(organisation)),
        )
    cause: Any = refused.value.cause
    assert cause.type == "OtherCalendar" and "team hotline's hours" in cause.message
    assert (await state(h)).deadlines == before.deadlines
    hotline = corrected(terms.calendar(t0.date(), "hotline"))
    v = await act(
        h,
        ServiceRequestWorkflow.update_calendar,
        UpdateCalendarCommand(actor=SUPERVISOR, calendar=hotline),
    )
    assert v.timeline[-1].kind == "calendar_updated"
    assert v.timeline[-1].data["to"] == hotline.version
    await done(h)
