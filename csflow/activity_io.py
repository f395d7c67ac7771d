"""Activity arguments and results: the worker's internal plumbing, not a public contract.

What other services send and read (workflow input, Updates, queries, views) lives in
csflow.contracts and is exported to docs/contract.md; these models only travel between
csflow's own workflows and activities, so they may change with the code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
    model_validator,
)

from csflow.contracts import (
    Model,
    NewNeed,
    RequestIntake,
    RequestState,
    TimelineEvent,
)
from csflow.contracts.personal import PersonalDescription
from csflow.domain.codes import Category, Channel, Priority, Tier
from csflow.notify.models import CompactNotification


class ResolveTermsInput(Model):
    """Argument of the `resolve_terms` activity: what the policy is applied to.

    Histories from before the workflow patch `compact-terms-and-messages` send the whole
    intake (and get the whole terms back); since it, only what the policy reads — channel,
    category, sub-type, tier, amount in dispute — and the customer's language (which
    soothing openings the request needs), and the answer is the compact terms
    (csflow/config/terms.py `compact_terms`). Fields left empty are not written."""

    received_at: datetime
    intake: RequestIntake | None = None
    channel: Channel | None = None
    category: Category | None = None
    sub_type: str | None = None
    tier: Tier | None = None
    amount: Decimal | None = None
    language: str | None = None

    @model_validator(mode="after")
    def _either(self) -> ResolveTermsInput:
        if self.intake is None and (self.channel is None or self.category is None):
            raise ValueError("resolve_terms needs the intake, or its channel and category")
        return self

    @model_serializer(mode="wrap")
    def _without_empties(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def of(cls, intake: RequestIntake, received_at: datetime) -> ResolveTermsInput:
        """The compact input: what the policy reads of `intake`, no personal data."""
        return cls(
            received_at=received_at,
            channel=intake.channel,
            category=intake.category,
            sub_type=intake.sub_type,
            tier=intake.customer.tier,
            amount=intake.amount_in_dispute,
            language=intake.customer.language,
        )


# The request's fields that are columns of its `requests` row (same names), written on
# every persist: what `row_fields` reads and what a batch's `changes` may name.
ROW_FIELDS = (
    "status",
    "priority",
    "assignee",
    "sla_state",
    "next_deadline",
    "clocks",
    "plan",
    "eta",
    "rehandle_count",
    "closed_at",
    "sla_cycle",
    "awaiting_customer",
    "delayed",
    "escalated_to",
    "flags",
    "repeat_of",
    "compensation",
    "department",
    "follow_up",
    "team",
    "queued",
)


def row_fields(state: RequestState) -> dict[str, Any]:
    """The row's columns as JSON values: what the workflow compares with what it last
    persisted, to send only the columns that changed."""
    return state.model_dump(mode="json", include=set(ROW_FIELDS))


def row_changes(was: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The columns of `now` (row_fields) that differ from `was`, the row as last written.

    Clocks go by id: `{"ids": [every clock's id, in order], "changed": [a new clock whole;
    of a changed one its id and the fields that changed]}` — a request's clocks are most
    of its row, and a command adds one or moves a field or two of another. The store
    merges them into the stored list (`ids` keeps the order)."""
    out = {k: v for k, v in now.items() if k != "clocks" and (k not in was or was[k] != v)}
    before: dict[str, dict[str, Any]] = {c["id"]: c for c in was.get("clocks", [])}
    clocks: list[dict[str, Any]] = now.get("clocks", [])
    changed = [
        c
        if c["id"] not in before
        else {"id": c["id"]} | {k: v for k, v in c.items() if before[c["id"]].get(k) != v}
        for c in clocks
        if before.get(c["id"]) != c
    ]
    ids = [c["id"] for c in clocks]
    if changed or ids != list(before):
        out["clocks"] = {"ids": ids, "changed": changed}
    return out


class RecordEvents(Model):
    """Persist a batch of timeline events and the request row as of the last one.

    Two shapes. The whole row: `state` (its timeline sent empty — the events travel in
    `events`), as every batch was before patch `receipts-and-row-changes` and as the first
    batch (the intake) and a salvage still are. Since the patch, later batches carry only
    `number`, `customer_id` (whose key seals the customer's words) and `changes`: the
    row's columns (ROW_FIELDS, JSON values) that differ from what the previous batch of
    the run wrote, clocks by id (`row_changes`), so history does not keep a full
    snapshot of the request per persist.
    """

    state: RequestState | None = None
    number: str | None = None
    customer_id: str | None = None
    changes: dict[str, Any] | None = None
    events: list[TimelineEvent]
    intake: RequestIntake | None = None
    # After the database refused this write: store what it takes and set the rest aside
    # in persist_dead_letters rather than be refused again (docs/events.md).
    salvage: bool = False
    # The messages the workflow task planned (patch `messages-in-the-write`): written to
    # the outbox in this write's transaction, for the worker's dispatcher to send. A local
    # activity's input is not kept in history, so they cost the history nothing.
    messages: list[CompactNotification] = Field(default_factory=list)

    @property
    def request_number(self) -> str:
        number = self.state.number if self.state is not None else self.number
        assert number is not None, "a batch names its request"
        return number

    @property
    def request_customer(self) -> str:
        customer = self.state.customer_id if self.state is not None else self.customer_id
        assert customer is not None, "a batch names its customer"
        return customer


class Written(Model):
    """What a persist answers since the request's patch `timers-from-the-write`: the
    worker's clock, to the millisecond, when the write committed. A local activity's
    result is kept in its marker, so the workflow may count the timer it arms next from
    `at` and a replay counts the same. Why: the server starts a timer only when the
    workflow task that arms it completes, and `workflow.now()` within a task is its start
    moved on by each local activity's own run time only, not by the waits between them
    (the worker dispatching each one and its result), which reached a second at intake
    under load. Writes from before the patch answered the events they inserted (an int),
    and replay as such; the activity logs that count (`persist.ok`)."""

    at: datetime

    @field_serializer("at")
    def _to_the_millisecond(self, at: datetime) -> str:
        return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @classmethod
    def now(cls) -> Written:
        return cls(at=datetime.now(UTC))


class TriageInput(Model):
    number: str
    customer_id: str
    category: Category
    sub_type: str | None
    priority: Priority
    tier: Tier
    description: PersonalDescription  # sealed with the customer's key; triage opens it
    received_at: datetime


class Triage(Model):
    """What intake found and who got the request (or that it waits in the queue)."""

    emotion: list[str] = Field(default_factory=list)
    repeat_of: list[str] = Field(default_factory=list)
    assignee: str | None = None
    department: str | None = None
    team: str | None = None  # the holder's team; absent in results from before it was known
    rule: str


class TransferInput(Model):
    number: str
    to_staff: str | None = None
    to_department: str | None = None


class TransferResult(Model):
    assignee: str | None  # None: refused, see `rule`
    department: str | None = None
    team: str | None = None  # the new holder's team; absent in results from before
    rule: str


class ReleaseInput(Model):
    number: str


class PlanFollowUpInput(Model):
    number: str
    cycle: int
    due_at: datetime
    expires_at: datetime
    language: Literal["zh-CN", "en"] = "zh-CN"  # the survey page opens in this language


class FollowUpPlan(Model):
    owner: str
    survey_url: str | None = None


class LinkedRequestInput(Model):
    parent: str
    index: int
    intake: RequestIntake  # the parent's, for the customer and channel
    need: NewNeed
