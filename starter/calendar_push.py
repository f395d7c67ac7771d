"""Sending a corrected business calendar to every running request.

A request keeps the calendar it started with (its timers were armed on it); a
correction — a holiday added late — reaches running requests only as an
`update_calendar` command to each. Requests already on the calendar's version are
skipped by the command's idempotency key, so a push that was interrupted is finished by
running it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio.client import Client

from csflow.contracts import WORKFLOW_TYPE, Actor, RequestView, UpdateCalendarCommand
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.lifecycle import Command
from csflow.refusals import Refusal
from starter.errors import RequestEnded, RequestNotFound, RequestRefused

Send = Callable[..., Awaitable[RequestView]]  # CsflowClient.send


@dataclass
class CalendarPush:
    updated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    other_team: list[str] = field(default_factory=list)  # on another team's hours


async def push_calendar(
    client: Client, task_queue: str, send: Send, calendar: BusinessCalendar, actor: Actor
) -> CalendarPush:
    """`update_calendar` to every running request on `task_queue`, through `send`."""
    query = (
        f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' "
        f"AND TaskQueue = '{task_queue}'"
    )
    result = CalendarPush()
    async for wf in client.list_workflows(query):
        try:
            await send(
                wf.id,
                Command.UPDATE_CALENDAR,
                UpdateCalendarCommand(actor=actor, calendar=calendar),
                idempotency_key=f"calendar-{calendar.version}",
            )
        except (RequestEnded, RequestNotFound):
            continue  # finished between the listing and the update
        except RequestRefused as err:
            if err.kind == Refusal.OTHER_CALENDAR:
                result.other_team.append(wf.id)
            else:
                result.failed[wf.id] = err.reason
            continue
        result.updated.append(wf.id)
    return result
