"""What a request knows, and what callers read of it.

`RequestState` is the workflow's whole state (carried across continue-as-new, served by
the query); `RequestView` is that state as callers see it. Both share one list of fields
(`RequestFacts`), so a field added to the state shows up in the view by itself, and the
view is read off the state (`RequestView.of`) rather than copied field by field.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field, RootModel

from csflow.contracts.base import Model
from csflow.contracts.events import TimelineEvent
from csflow.domain.clocks import Clock
from csflow.domain.codes import Category, Channel, Priority, SlaState, Tier
from csflow.domain.lifecycle import Status


class Plan(Model):
    measures: list[str]
    eta: datetime
    owner: str
    department: str | None = None


class Compensation(Model):
    amount: Decimal
    currency: str
    status: str  # granted | pending | approved | rejected
    requested_by: str
    decided_by: str | None = None


class FollowUpState(Model):
    owner: str
    due_at: datetime
    cycle: int
    survey_url: str | None = None
    score: int | None = None
    nps: int | None = None
    silent: bool = False


class RequestFacts(Model):
    """The fields state and view share: everything but the workflow's bookkeeping."""

    number: str
    status: Status
    priority: Priority
    category: Category
    channel: Channel
    tier: Tier
    customer_id: str
    received_at: datetime
    assignee: str | None = None
    plan: Plan | None = None
    eta: datetime | None = None
    policy_version: str = ""
    clocks: list[Clock] = Field(default_factory=list)
    sla_cycle: int = 1
    sla_state: SlaState = SlaState.GREEN
    next_deadline: datetime | None = None
    awaiting_customer: bool = False
    delayed: bool = False
    escalated_to: str | None = None
    department: str | None = None
    # The holder's team (the organisation chart's, else the staff directory's), recorded
    # with every assignment for `team_supervisor` in `[ownership]`; None: in no team, or
    # assigned before the team was recorded.
    team: str | None = None
    queued: bool = False
    flags: list[str] = Field(default_factory=list)
    repeat_of: list[str] = Field(default_factory=list)
    compensation: Compensation | None = None
    follow_up: FollowUpState | None = None
    improvements: list[str] = Field(default_factory=list)
    rehandle_count: int = 0
    timeline: list[TimelineEvent] = Field(default_factory=list)
    closed_at: datetime | None = None


class RequestState(RequestFacts):
    """All the workflow knows; carried across continue-as-new and served by the query."""

    persisted_seq: int = 0

    @property
    def deadlines(self) -> dict[str, datetime]:
        """Each open clock's due time by clock name: what a caller plans around."""
        return {c.name: c.due_at for c in self.clocks if c.open and c.due_at is not None}


class RequestView(RequestFacts):
    """What callers read: the state without the bookkeeping, plus its open deadlines.

    Every field is always present in what csflow sends (the schema says so).
    """

    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )

    deadlines: dict[str, datetime] = Field(default_factory=dict)

    @classmethod
    def of(cls, state: RequestState) -> RequestView:
        # Read by name off the state: its shared fields and its `deadlines` property.
        return cls.model_validate(state, from_attributes=True)


class CommandReceipt(Model):
    """What an Update (and the workflow's result) returns since patch
    `receipts-and-row-changes`: which request, where it stands, and the seq of its last
    event — the `version` of its PostgreSQL row, persisted before the receipt is sent.

    The whole view is not echoed into history on every command: a caller that needs it
    reads it with the `get_state` query (or from PostgreSQL once `version` ≥ `seq`).
    Histories from before the patch return a `RequestView` instead (see
    `UpdateResult`).
    """

    number: str
    status: Status
    seq: int

    @classmethod
    def of(cls, state: RequestState) -> CommandReceipt:
        return cls(
            number=state.number,
            status=state.status,
            seq=state.timeline[-1].seq if state.timeline else 0,
        )


class UpdateResult(RootModel[CommandReceipt | RequestView]):
    """What an Update and the run return, on the wire exactly one of the two: a
    CommandReceipt, or the whole RequestView from a run begun before patch
    `receipts-and-row-changes`. Both forbid unknown fields, so only one can match."""


def read_update_result(value: Any) -> CommandReceipt | RequestView:
    """An Update's answer — an UpdateResult, or decoded as plain JSON (`result_type=dict`)
    — as whichever of the two shapes it has."""
    if isinstance(value, UpdateResult):
        return value.root
    if isinstance(value, CommandReceipt | RequestView):
        return value
    return UpdateResult.model_validate(value).root


class ImprovementRow(Model):
    task_id: str
    number: str
    department: str
    problem: str
    score: int
    status: str  # open | overdue | closed
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    what_changed: str | None = None


class ImprovementResult(Model):
    task_id: str
    what_changed: str
    closed_by: str
    closed_at: datetime
    # The root cause given on completion; the request records it (`cause_recorded`).
    cause: str | None = None
    responsible_department: str | None = None
