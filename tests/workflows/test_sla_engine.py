"""The SLA engine under time skipping: every warning, breach and ladder step, to the second.

Expected instants are written out by hand from docs/requirements.md §4's defaults
(warnings at 50 % and 75 %, the ladder counted from the breach), not computed with the
code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from csflow.contracts import (
    CancelCommand,
    ChangePriorityCommand,
    ConfirmCommand,
    CustomerRepliedCommand,
    PlanCommand,
    ProgressCommand,
    ReceiptQuery,
    RequestView,
    ResolveCommand,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain.codes import Priority
from csflow.domain.lifecycle import Status
from tests.helpers import AGENT, CUSTOMER, SUPERVISOR, eventually, intake
from tests.workflows.conftest import Harness
from tests.workflows.updates import act
from workflows.service_request import ServiceRequestWorkflow

H, M = timedelta(hours=1), timedelta(minutes=1)
WEEK = timedelta(days=7)


def sla_events(view: RequestView, t0: datetime) -> list[tuple[str, str, timedelta]]:
    """(clock, event, offset from receipt) for every SLA event, in time order."""
    rows = [
        (
            e.data["clock"],
            e.kind if e.kind != "escalation_step" else f"step{e.data['step']}",
            e.at - t0,
        )
        for e in view.timeline
        if e.data.get("clock")
    ]
    return sorted(rows, key=lambda r: (r[2], r[0]))


def ladder(
    clock: str,
    warn1: timedelta,
    warn2: timedelta,
    due: timedelta,
    step1: timedelta,
    step2: timedelta,
) -> list[tuple[str, str, timedelta]]:
    return [
        (clock, "sla_warning", warn1),
        (clock, "sla_warning", warn2),
        (clock, "sla_breached", due),
        (clock, "step1", due + step1),
        (clock, "step2", due + step2),
    ]


WEEK_EXPECTED: dict[Priority, list[tuple[str, str, timedelta]]] = {
    # P1: 15 min / 1 h / 2 h / every 6 h; ladder +15 min SMS+phone supervisor, +30 min director
    Priority.P1: ladder(
        "first_response", 7 * M + 30 * M / 60, 11 * M + 15 * M / 60, 15 * M, 15 * M, 30 * M
    )
    + ladder("plan", 30 * M, 45 * M, 1 * H, 15 * M, 30 * M)
    + ladder("resolution", 1 * H, 90 * M, 2 * H, 15 * M, 30 * M)
    + ladder("progress_cadence#1.1", 3 * H, 270 * M, 6 * H, 15 * M, 30 * M),
    # P2: 30 min / 1 h / 4 h / every 6 h; ladder +1 h email department head, +2 h director
    Priority.P2: ladder("first_response", 15 * M, 22 * M + 30 * M / 60, 30 * M, 1 * H, 2 * H)
    + ladder("plan", 30 * M, 45 * M, 1 * H, 1 * H, 2 * H)
    + ladder("resolution", 2 * H, 3 * H, 4 * H, 1 * H, 2 * H)
    + ladder("progress_cadence#1.1", 3 * H, 270 * M, 6 * H, 1 * H, 2 * H),
    # P3: 2 h / 2 h / 24 h / every 24 h; ladder +4 h marked delayed, +8 h director
    Priority.P3: ladder("first_response", 1 * H, 90 * M, 2 * H, 4 * H, 8 * H)
    + ladder("plan", 1 * H, 90 * M, 2 * H, 4 * H, 8 * H)
    + ladder("resolution", 12 * H, 18 * H, 24 * H, 4 * H, 8 * H)
    + ladder("progress_cadence#1.1", 12 * H, 18 * H, 24 * H, 4 * H, 8 * H),
}


@pytest.mark.parametrize("priority", [Priority.P1, Priority.P2, Priority.P3])
async def test_a_week_of_silence_fires_every_warning_breach_and_ladder_step_on_time(
    harness: Harness,
    priority: Priority,
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=priority), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, WEEK)
    expected = sorted(WEEK_EXPECTED[priority], key=lambda r: (r[2], r[0]))

    async def all_fired() -> RequestView:
        v = await h.query(ServiceRequestWorkflow.get_state)
        assert sla_events(v, t0) == expected
        return v

    v = await eventually(all_fired)
    steps = [e for e in v.timeline if e.kind == "escalation_step"]
    first = next(s for s in steps if s.data["clock"] == "first_response")
    if priority is Priority.P1:
        assert first.data["notify"] == ["supervisor"]
        assert first.data["channels"] == ["sms", "phone"]
    elif priority is Priority.P2:
        assert first.data["notify"] == ["department_head"] and first.data["channels"] == ["email"]
    else:
        assert first.data["action"] == "mark_delayed"
        assert v.delayed
    takeover = [s for s in steps if s.data["action"] == "director_takeover"]
    assert len(takeover) == 4
    assert v.status is Status.ESCALATED and v.escalated_to == "director"
    assert v.assignee == "director"
    breach = next(e for e in v.timeline if e.kind == "sla_breached")
    assert breach.data["notify"] == ["owner", "explain"]  # first response: asked why
    assert v.sla_state.value == "red"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
    # Every SLA event reached PostgreSQL (the fake store) exactly once.
    persisted = harness.store.seqs(h.id)
    assert persisted == sorted(set(persisted)) == list(range(1, len(persisted) + 1))


async def test_satisfying_a_clock_cancels_its_pending_ladder(harness: Harness) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P1), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, 20 * M)  # first response breached at 15:00
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["failover"], eta=t0 + 2 * H),
    )
    await harness.env.fast_forward(h, 3 * H)
    v = await h.query(ServiceRequestWorkflow.get_state)
    rows = sla_events(v, t0)
    assert ("first_response", "sla_breached", 15 * M) in rows
    assert not [r for r in rows if r[0] in ("first_response", "plan") and r[1].startswith("step")]
    assert not [r for r in rows if r[0] == "plan" and r[1] == "sla_breached"]
    # The resolution clock was not satisfied by the plan: it goes on independently.
    assert ("resolution", "sla_breached", 2 * H) in rows
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_progress_cadence_restarts_with_each_update(harness: Harness) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P2), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, 5 * H)
    v = await act(
        h, ServiceRequestWorkflow.post_progress, ProgressCommand(actor=AGENT, note="parts ordered")
    )
    posted = v.timeline[-1].at
    cadence = [c for c in v.clocks if c.name == "progress_cadence"]
    assert [c.id for c in cadence] == ["progress_cadence#1.1", "progress_cadence#1.2"]
    assert cadence[0].satisfied_at == posted and cadence[0].breached_at is None
    assert cadence[1].due_at == posted + 6 * H
    await harness.env.fast_forward(h, 7 * H)
    v = await h.query(ServiceRequestWorkflow.get_state)
    breach = [
        e
        for e in v.timeline
        if e.kind == "sla_breached" and e.data["clock"] == "progress_cadence#1.2"
    ]
    assert [b.at for b in breach] == [posted + 6 * H], "a missed update is itself a breach"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_waiting_on_the_customer_pauses_every_clock_and_shows_it(harness: Harness) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P3), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["ask for photos"], eta=t0 + 20 * H),
    )
    await harness.env.fast_forward(h, 4 * H)
    v = await act(
        h,
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="waiting for photos of the damage"),
    )
    paused_at = v.timeline[-1].at
    assert v.timeline[-1].kind == "clocks_paused"
    assert set(v.timeline[-1].data["clocks"]) == {"resolution", "progress_cadence#1.1"}
    assert v.awaiting_customer and v.next_deadline is None and v.deadlines == {}
    await harness.env.fast_forward(h, 3 * 24 * H)  # three days of silence: nothing fires
    v = await h.query(ServiceRequestWorkflow.get_state)
    assert not [e for e in v.timeline if e.at > paused_at and e.kind.startswith("sla_")]
    v = await act(
        h,
        ServiceRequestWorkflow.customer_replied,
        CustomerRepliedCommand(actor=CUSTOMER, note="photos sent"),
    )
    resumed_at = v.timeline[-1].at
    assert v.timeline[-1].kind == "clocks_resumed"
    used = paused_at - t0
    resolution = next(c for c in v.clocks if c.id == "resolution")
    assert resolution.due_at == resumed_at + (24 * H - used)
    assert v.deadlines["resolution"] == resolution.due_at
    # Warnings that were passed before the pause are not repeated; the next comes on time.
    await harness.env.fast_forward(h, 24 * H)
    v = await h.query(ServiceRequestWorkflow.get_state)
    breach = next(
        e for e in v.timeline if e.kind == "sla_breached" and e.data["clock"] == "resolution"
    )
    assert breach.at == resolution.due_at
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_pausing_twice_or_resuming_unpaused_is_refused(harness: Harness) -> None:
    h = await harness.start(intake())
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(
            ServiceRequestWorkflow.customer_replied, CustomerRepliedCommand(actor=CUSTOMER)
        )
    assert "not waiting on the customer" in str(caught.value.cause)
    await h.execute_update(
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="need the invoice"),
    )
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(
            ServiceRequestWorkflow.wait_for_customer,
            WaitForCustomerCommand(actor=AGENT, reason="again"),
        )
    assert "already waiting on the customer" in str(caught.value.cause)
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_priority_change_recounts_the_open_clocks(harness: Harness) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P3), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await h.execute_update(
        ServiceRequestWorkflow.submit_plan,
        PlanCommand(actor=AGENT, measures=["check logs"], eta=t0 + 20 * H),
    )
    await harness.env.fast_forward(h, 1 * H)
    v = await act(
        h,
        ServiceRequestWorkflow.change_priority,
        ChangePriorityCommand(actor=SUPERVISOR, priority=Priority.P1, reason="whole shop is down"),
    )
    assert v.priority is Priority.P1
    resolution = next(c for c in v.clocks if c.id == "resolution")
    assert resolution.due_at == t0 + 2 * H, "P1 resolution: 2 h from receipt"
    assert v.timeline[-1].kind == "priority_changed"
    assert v.timeline[-1].data["priority_from"] == "P3"
    await harness.env.fast_forward(h, 2 * H)
    v = await h.query(ServiceRequestWorkflow.get_state)
    rows = sla_events(v, t0)
    assert ("resolution", "sla_breached", 2 * H) in rows
    assert ("resolution", "step1", 2 * H + 15 * M) in rows, "the P1 ladder applies now"

    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await h.execute_update(
            ServiceRequestWorkflow.change_priority,
            ChangePriorityCommand(actor=AGENT, priority=Priority.P2, reason="I think so"),
        )
    assert "needs one of the roles" in str(caught.value.cause)
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_rehandling_starts_a_new_cycle_and_keeps_the_old(harness: Harness) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P3), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, 3 * H)  # first response and plan breached in cycle 1
    await h.execute_update(
        ServiceRequestWorkflow.resolve, ResolveCommand(actor=AGENT, summary="reset the device")
    )
    v = await act(
        h,
        ServiceRequestWorkflow.confirm,
        ConfirmCommand(actor=CUSTOMER, satisfied=False, reason="fails again"),
    )
    reopened = v.timeline[-1].at
    assert v.sla_cycle == 2 and v.priority is Priority.P2
    cycle1 = [c for c in v.clocks if c.cycle == 1]
    assert all(not c.open for c in cycle1)
    assert {c.id for c in cycle1 if c.breached_at} == {"first_response", "plan"}
    cycle2 = {c.id: c for c in v.clocks if c.cycle == 2}
    assert set(cycle2) == {"resolution#2", "progress_cadence#2.1"}
    assert cycle2["resolution#2"].due_at == reopened + 4 * H  # P2 terms
    assert v.sla_state.value == "green", "the new cycle starts green"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


async def test_working_time_clocks_skip_weekend_and_holiday_and_use_makeup_day(
    harness: Harness,
) -> None:
    """P3 on working time across Fri→Tue, with a holiday Monday and a make-up Sunday."""
    from csflow.config.terms import TermsProvider
    from csflow.domain.policy import policy_from_mapping

    policy = policy_from_mapping(
        {
            "sla": {
                "P3": {
                    "first_response": {"duration": "2h", "basis": "working"},
                    "plan": {"duration": "4h", "basis": "working"},
                    "resolution": {"duration": "16h", "basis": "working"},
                    "progress_cadence": {"duration": "8h", "basis": "working"},
                }
            },
            "calendar": {
                "holidays_from": "none",
                "overrides": {
                    "add_holidays": ["2026-11-30"],
                    "add_makeup_workdays": ["2026-11-29"],
                },
            },
        }
    )
    received = _local("2026-11-27T17:30:00")  # Friday, half an hour before close
    h = await harness.start(
        intake(priority=Priority.P3), received_at=received, terms=TermsProvider(policy)
    )
    v = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    due = {c.id: c.due_at for c in v.clocks}
    # Fri 17:30–18:00 (0.5 h), Sat off, Sun make-up day 09:00–12:00, 13:00–18:00 (8 h),
    # Mon holiday, Tue 09:00–12:00, 13:00–18:00.
    assert due["first_response"] == _local("2026-11-29T10:30:00")  # 0.5 + 1.5
    assert due["plan"] == _local("2026-11-29T13:30:00")  # 0.5 + 3 + 0.5
    assert due["progress_cadence#1.1"] == _local("2026-11-29T17:30:00")  # 0.5 + 3 + 4.5
    assert due["resolution"] == _local("2026-12-01T17:30:00")  # 0.5 + 8 + (holiday) + 7.5
    await harness.env.fast_forward(h, 12 * 24 * H)

    async def breached() -> None:
        view = await h.query(ServiceRequestWorkflow.get_state)
        at = {e.data["clock"]: e.at for e in view.timeline if e.kind == "sla_breached"}
        assert at == {k: due[k] for k in due}
        steps = [
            e
            for e in view.timeline
            if e.kind == "escalation_step" and e.data["clock"] == "first_response"
        ]
        # The P3 ladder is wall-clock after the breach: +4 h and +8 h.
        assert due["first_response"] is not None
        assert [s.at for s in steps] == [
            due["first_response"] + 4 * H,
            due["first_response"] + 8 * H,
        ]

    await eventually(breached)

    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_pushed_calendar_rearms_running_clocks(harness: Harness) -> None:
    from csflow.config.terms import TermsProvider
    from csflow.domain.calendar import BusinessCalendar
    from csflow.domain.policy import policy_from_mapping

    policy = policy_from_mapping(
        {
            "sla": {"P3": {"resolution": {"duration": "16h", "basis": "working"}}},
            "calendar": {"holidays_from": "none"},
        }
    )
    # A year ahead: no real time is used before the push, whatever day the test runs on.
    received = _local("2027-11-26T17:30:00")
    h = await harness.start(
        intake(priority=Priority.P3), received_at=received, terms=TermsProvider(policy)
    )
    v = await act(h, ServiceRequestWorkflow.receipt, ReceiptQuery())
    before = next(c for c in v.clocks if c.id == "resolution").due_at
    assert before == _local("2027-11-30T17:30:00")  # Fri 0.5 h + Mon 8 h + Tue 7.5 h
    holiday = BusinessCalendar(holidays=frozenset({datetime(2027, 11, 29).date()}))
    v = await act(
        h,
        ServiceRequestWorkflow.update_calendar,
        UpdateCalendarCommand(actor=SUPERVISOR, calendar=holiday),
    )
    after = next(c for c in v.clocks if c.id == "resolution").due_at
    assert after == _local("2027-12-01T17:30:00"), "Monday became a holiday: one day later"
    event: Any = v.timeline[-1]
    assert event.kind == "calendar_updated" and event.data["to"] == holiday.version
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_red_p1s_are_listed_by_search_attribute(harness: Harness) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    h = await harness.start(intake(priority=Priority.P1), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    query = f"WorkflowId = '{h.id}' AND SlaState = 'red' AND Priority = 'P1'"
    assert [w.id async for w in harness.client.list_workflows(query)] == []
    await harness.env.fast_forward(h, 16 * M)  # first response breached at 15:00

    async def listed() -> None:
        assert [w.id async for w in harness.client.list_workflows(query)] == [h.id]

    await eventually(listed)
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_the_customer_pause_can_be_switched_off_by_policy(harness: Harness) -> None:
    from csflow.config.terms import TermsProvider
    from csflow.domain.policy import policy_from_mapping

    policy = policy_from_mapping({"sla": {"pause_when_awaiting_customer": False}})
    h = await harness.start(intake(priority=Priority.P3), terms=TermsProvider(policy))
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    v = await act(
        h,
        ServiceRequestWorkflow.wait_for_customer,
        WaitForCustomerCommand(actor=AGENT, reason="waiting for the invoice"),
    )
    assert v.timeline[-1].kind == "awaiting_customer" and v.timeline[-1].data["clocks"] == []
    assert v.awaiting_customer and all(c.running_since is not None for c in v.clocks)
    assert v.next_deadline is not None
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )


async def test_a_backlog_import_records_missed_firings_without_announcing_them(
    harness: Harness,
) -> None:
    """Recorded by hand 20 minutes ago, imported now: the P1's first-response warnings and
    breach are history — written down at their instants, not paged out; the ladder step
    still to come is announced when it falls due."""
    t0 = datetime.now(UTC).replace(microsecond=0) - 20 * M
    h = await harness.start(intake(priority=Priority.P1), received_at=t0)
    await h.execute_update(ServiceRequestWorkflow.receipt, ReceiptQuery())
    await harness.env.fast_forward(h, 15 * M)  # the first ladder step is due at t0 + 30 min

    def seq_of(key: str) -> int:
        """Event-keyed messages carry the event's seq; ladder pages are keyed by step."""
        part = key.split("/")[1]
        return int(part) if part.isdigit() else -1

    async def step_announced() -> RequestView:
        v = await h.query(ServiceRequestWorkflow.get_state)
        assert any(e.kind == "escalation_step" for e in v.timeline)
        assert any(n.key.startswith(f"{h.id}/ladder/c1/s1/") for n in harness.notify.sent)
        return v

    v = await eventually(step_announced)
    quiet = [e for e in v.timeline if e.data.get("announced") is False]
    assert [(e.kind, e.at - t0) for e in quiet] == [
        ("sla_warning", 7 * M + 30 * M / 60),
        ("sla_warning", 11 * M + 15 * M / 60),
        ("sla_breached", 15 * M),
    ]
    assert all(e.data["clock"] == "first_response" for e in quiet)
    sent = {seq_of(n.key) for n in harness.notify.sent if n.key.startswith(h.id)}
    assert not sent & {e.seq for e in quiet}
    assert v.sla_state.value == "red"
    await h.execute_update(
        ServiceRequestWorkflow.cancel, CancelCommand(actor=SUPERVISOR, reason="test done")
    )
