"""Where a late SLA firing's seconds go, read from requests' histories (issue 17).

`bench/open_requests.py --explain K` calls `where_lateness_goes` on K requests. Every
figure is a difference of the server's own event times, except one: the instant the
workflow counted a timer's duration from: `workflow.now()` when it armed the timer — the
start of the workflow task, moved on by the SDK by each local activity's own run time
(`complete_time` in the local activity's marker; the waits between local activities
are not counted) — or, later still, the commit time the task's persist answered (patch
`timers-from-the-write`, the result in the same marker). The arming lag below is
measured from that instant, so it shows what the workflow did not count.

A firing's path, in order:

1. armed: the server starts the timer when the task completes, after the instant the
   workflow counted from (what the task did after its last write, and the completion's
   round trip; before the patch, also the waits between its local activities);
2. fired: Temporal fires it after its duration (its own timer queue);
3. behind a task in flight: a task already running for the request when the timer fired
   must complete before the firing's task is scheduled;
4. queued: the firing's task waits for a worker slot (scheduled → started);
5. worked: the worker runs the task up to the persist that records the firing (started →
   the persist's completion, from its marker).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

STAGES = (
    "1 armed after the workflow counted from",
    "2 fired after its due time (Temporal)",
    "3 behind a task in flight",
    "4 its task queued for the worker",
    "5 the worker's task up to its persist",
)


async def _completions(client: Client, events: list[Any]) -> dict[int, datetime]:
    """Each workflow task's (by its completed event id) instant the workflow counted its
    timers from: its last local activity's completion as the SDK counts it, or a later
    commit a persist answered (patch `timers-from-the-write`)."""
    codec = client.data_converter.payload_codec
    out: dict[int, datetime] = {}
    for e in events:
        if e.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        marker = e.marker_recorded_event_attributes
        if marker.marker_name != "core_local_activity" or "data" not in marker.details:
            continue
        data = json.loads(marker.details["data"].payloads[0].data)
        done = data["complete_time"]
        at = datetime.fromtimestamp(done["seconds"] + done["nanos"] / 1e9, UTC)
        if data["activity_type"] == "record_events" and "result" in marker.details:
            payloads = list(marker.details["result"].payloads)
            if codec is not None:
                payloads = await codec.decode(payloads)
            result = json.loads(payloads[0].data)
            if isinstance(result, dict) and "at" in result:
                at = max(at, datetime.fromisoformat(result["at"].replace("Z", "+00:00")))
        task = marker.workflow_task_completed_event_id
        out[task] = max(out.get(task, at), at)
    return out


def _at(event: Any) -> datetime:
    at: datetime = event.event_time.ToDatetime(tzinfo=UTC)
    return at


async def where_lateness_goes(client: Client, numbers: list[str]) -> dict[str, list[float]]:
    """Seconds spent in each of STAGES, per SLA timer of the requests `numbers`."""
    out: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for number in numbers:
        history = await client.get_workflow_handle(number).fetch_history()
        events = list(history.events)
        by_id = {e.event_id: e for e in events}
        completions = await _completions(client, events)
        started: dict[int, Any] = {}
        for i, e in enumerate(events):
            if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                started[e.event_id] = e
                done_id = e.timer_started_event_attributes.workflow_task_completed_event_id
                done = by_id.get(done_id)
                if done is None:
                    continue
                began = by_id[done.workflow_task_completed_event_attributes.started_event_id]
                counted_from = max(_at(began), completions.get(done_id, _at(began)))
                out[STAGES[0]].append((_at(e) - counted_from).total_seconds())
            elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                timer = started.get(e.timer_fired_event_attributes.started_event_id)
                if timer is None:
                    continue
                duration: timedelta = (
                    timer.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
                )
                out[STAGES[1]].append((_at(e) - (_at(timer) + duration)).total_seconds())
                _after_firing(out, e, events[i + 1 :], completions)
    return out


def _after_firing(
    out: dict[str, list[float]], fired: Any, later: list[Any], completions: dict[int, datetime]
) -> None:
    """Stages 3–5 for one fired timer: the first task scheduled after it is its task."""
    scheduled = begun = None
    for e in later:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED and scheduled is None:
            scheduled = e
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and scheduled:
            begun = e
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and begun:
            out[STAGES[2]].append((_at(scheduled) - _at(fired)).total_seconds())
            out[STAGES[3]].append((_at(begun) - _at(scheduled)).total_seconds())
            persisted = completions.get(e.event_id, _at(e))
            out[STAGES[4]].append((persisted - _at(begun)).total_seconds())
            return
