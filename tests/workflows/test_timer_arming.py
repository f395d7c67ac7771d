"""When a timer armed after slow local work fires.

The server starts a timer when the workflow task that arms it completes, so a duration
counted from the task's start would make every clock armed after slow local work fire
as late as that work took. Two things count it back: the SDK moves `workflow.now()` on
by each local activity's own run time (kept in its marker), and — for the waits between
local activities that it does not count — patch `timers-from-the-write` counts from the
persist's commit. Both in real time (nothing fast-forwarded): the lateness they measure
is the one a production stack shows (bench/open_requests.py `--explain`).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from csflow.config.terms import TermsProvider
from csflow.domain.codes import Category, Channel, Priority
from csflow.domain.policy import policy_from_mapping
from tests.helpers import eventually, intake
from tests.workflows.conftest import running_harness
from workflows.service_request import ServiceRequestWorkflow

SLOW_WRITE = 3.0  # seconds the intake's write takes
# P3's first response in 10 s: its first warning (at 50 %) falls due 5 s after receipt.
TERMS = TermsProvider(policy_from_mapping({"sla": {"P3": {"first_response": "10s"}}}))
LATE_STAMP = 2.0  # seconds the intake's write reports committing after it did


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))


async def test_a_slow_write_does_not_make_the_next_firing_late(
    ts_env: WorkflowEnvironment,
) -> None:
    async with running_harness(ts_env, TERMS) as h:
        h.store.slow_writes.append(SLOW_WRITE)
        handle = await h.start(
            intake(priority=Priority.P3, category=Category.CONSULTATION, channel=Channel.WEB),
            terms=TERMS,
        )

        async def warned() -> datetime:
            view = await handle.query(ServiceRequestWorkflow.get_state)
            warnings = [e for e in view.timeline if e.kind == "sla_warning"]
            assert warnings, "no warning yet"
            return warnings[0].at

        due = await eventually(warned, timeout=20)
        events = json.loads((await handle.fetch_history()).to_json())["events"]

    by_id = {e["eventId"]: e for e in events}
    [armed] = [e for e in events if e["eventType"] == "EVENT_TYPE_TIMER_STARTED"][:1]
    [fired] = [e for e in events if e["eventType"] == "EVENT_TYPE_TIMER_FIRED"][:1]
    completed_id = int(armed["timerStartedEventAttributes"]["workflowTaskCompletedEventId"])
    task_started, task_completed = by_id[str(completed_id - 1)], by_id[str(completed_id)]
    assert task_started["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"
    # The task that armed the timer really waited for the write (the server started the
    # timer that late) …
    assert _time(task_completed) - _time(task_started) >= timedelta(seconds=SLOW_WRITE)
    # … and the first warning's timer still fired at its instant, not SLOW_WRITE after.
    late = _time(fired) - due
    assert timedelta(0) <= late < timedelta(seconds=SLOW_WRITE / 2), late


async def test_a_timer_is_counted_from_when_the_write_committed(
    ts_env: WorkflowEnvironment,
) -> None:
    """Patch `timers-from-the-write`: within a task `workflow.now()` moves on only by each
    local activity's run time, not by the worker's dispatching between them, so the
    timer is counted from the write's commit (the worker's clock, in the persist's
    marker) when that is later. Here the intake's write reports committing 2 s after
    it really did, as a worker that dispatched it 2 s late would: the timer is 2 s
    shorter, fires before the deadline, finds nothing due and is armed again for the
    rest; the warning is recorded once, at its instant. (The bounds leave a second for a
    loaded machine to complete the task after the write.)"""
    async with running_harness(ts_env, TERMS) as h:
        h.store.late_stamps.append(LATE_STAMP)
        handle = await h.start(
            intake(priority=Priority.P3, category=Category.CONSULTATION, channel=Channel.WEB),
            terms=TERMS,
        )

        async def warned() -> list[datetime]:
            view = await handle.query(ServiceRequestWorkflow.get_state)
            warnings = [e.at for e in view.timeline if e.kind == "sla_warning"]
            assert warnings, "no warning yet"
            return warnings

        [due] = await eventually(warned, timeout=20)
        events = json.loads((await handle.fetch_history()).to_json())["events"]

    timers = [e for e in events if e["eventType"] == "EVENT_TYPE_TIMER_STARTED"]
    fired = [e for e in events if e["eventType"] == "EVENT_TYPE_TIMER_FIRED"]
    assert _time(fired[0]) < due - timedelta(seconds=LATE_STAMP - 1)  # early, by the report
    assert len(fired) >= 2 and _time(fired[1]) >= due  # the rest, armed again
    again = timers[1]["timerStartedEventAttributes"]["startToFireTimeout"]
    assert float(again.rstrip("s")) <= LATE_STAMP + 0.1
    assert "timers-from-the-write" in _patches(events)


def _patches(events: list[dict[str, Any]]) -> list[str]:
    ids = []
    for e in events:
        marker = e.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_patch":
            [payload] = marker["details"]["patch-data"]["payloads"]
            ids.append(json.loads(base64.b64decode(payload["data"]))["id"])
    return ids
