"""Wire models: the one vocabulary the workflow, activities, API, CLI and starter share.

Every model forbids unknown fields, so a typo in a caller's JSON is a 422 naming the field
instead of a silently ignored value. Names here are a public contract (docs/contract.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from csflow.domain.calendar import BusinessCalendar
from csflow.domain.clocks import Clock
from csflow.domain.codes import Category, Channel, Priority, Role, SlaState, Tier
from csflow.domain.lifecycle import Status
from csflow.domain.terms import RequestTerms

WORKFLOW_TYPE = "ServiceRequest"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone, e.g. 2026-11-23T09:30:00+08:00")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=2000, description="Why; audited.")]


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text and jsonb cannot hold U+0000: refused at the edge, it can never
        # make a persistence activity fail forever later.
        if _has_nul(value):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return value


class Actor(Model):
    """Who did something; recorded on every timeline event."""

    id: Identifier
    role: Role


SYSTEM = Actor(id="csflow", role=Role.SYSTEM)


class Contact(Model):
    """Personal data: never copied into search attributes, summaries or logs."""

    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{5,20}$")] | None = None
    email: Annotated[
        str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    ] | None = None

    @model_validator(mode="after")
    def _one_way_to_reach(self) -> Contact:
        if not self.phone and not self.email:
            raise ValueError("give at least one of phone or email")
        return self


CustomerChannel = Literal["email", "sms", "phone"]
_DEFAULT_CUSTOMER_CHANNELS: tuple[CustomerChannel, ...] = ("email", "sms")


class Customer(Model):
    id: Identifier
    name: ShortText
    tier: Tier = Tier.REGULAR
    contact: Contact
    language: Literal["zh-CN", "en"] = "zh-CN"
    preferred_channels: list[CustomerChannel] = Field(
        default_factory=lambda: list(_DEFAULT_CUSTOMER_CHANNELS),
        description="How the customer wants to hear from us, in order of preference.")
    quiet_hours: Annotated[list[Annotated[str, Field(pattern=r"^\d\d:\d\d$")]],
                           Field(min_length=2, max_length=2)] | None = Field(
        default=None, description='Own quiet hours, e.g. ["21:00", "09:00"] (local time); '
        "the organisation's default when absent.")


class RequestIntake(Model):
    """What a caller sends to open a request (SPEC §2, 客户服务需求记录表)."""

    customer: Customer
    channel: Channel
    category: Category
    sub_type: Annotated[str, Field(max_length=64)] | None = None
    priority: Priority = Priority.P3
    description: Annotated[str, Field(min_length=1, max_length=10_000)]
    expected_resolution_at: AwareDatetime | None = None
    order_number: Annotated[str, Field(max_length=64)] | None = None
    amount_in_dispute: Annotated[
        Decimal, Field(ge=0, max_digits=14, decimal_places=2)
    ] | None = None
    department: Annotated[str, Field(max_length=64)] | None = None
    external_id: Identifier | None = Field(
        default=None, description="The caller's own id; a repeat returns the same request."
    )
    received_at: AwareDatetime | None = Field(
        default=None, description="Original time of receipt; defaults to now."
    )
    recorded_by: Actor | None = Field(
        default=None, description="Who took the request; the calling service when absent."
    )
    related_to: Annotated[list[Identifier], Field(max_length=20)] = Field(
        default_factory=list, description="Earlier requests this one follows from."
    )


class ServiceRequestInput(Model):
    """The workflow's single argument; `carried` is set only by continue-as-new.

    Every caller sends `number`, `intake` and `received_at` only: the workflow checks the
    number and resolves the terms itself (docs/contract.md).
    """

    number: str = Field(description="The request number, equal to the workflow id: "
                        "CS<yyyymmdd>-<channel code>-<serial>, as the numbering workflow's "
                        "`next_number` Update handed it out.")
    intake: RequestIntake
    received_at: AwareDatetime = Field(description="When the request was received.")
    terms: RequestTerms | None = Field(
        default=None, description="Internal: the SLA terms a continue-as-new run carries. "
        "Omit it: the workflow resolves them from the worker's policy at intake.")
    carried: RequestState | None = Field(
        default=None, description="Internal: the state carried across continue-as-new. "
        "Never set it.")


# ---- commands: one class per Update (names in csflow.domain.lifecycle.Command) ----


class PlanCommand(Model):
    actor: Actor
    measures: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]], Field(min_length=1)
    ]
    eta: AwareDatetime
    owner: Identifier | None = None
    department: Annotated[str, Field(max_length=64)] | None = None


class ProgressCommand(Model):
    actor: Actor
    note: Annotated[str, Field(min_length=1, max_length=4000)]
    eta: AwareDatetime | None = Field(default=None, description="A revised ETA, if it moved.")


class ResolveCommand(Model):
    actor: Actor
    summary: Annotated[str, Field(min_length=1, max_length=4000)]


class ConfirmCommand(Model):
    """The customer's answer to the resolution; `satisfied=false` orders re-handling."""

    actor: Actor
    satisfied: bool
    evidence_ref: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="Signature, voice recording or chat screenshot reference."
    )
    reason: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _reason_when_refused(self) -> ConfirmCommand:
        if not self.satisfied and not self.reason:
            raise ValueError("reason is required when the customer is not satisfied")
        return self


class CloseCommand(Model):
    actor: Actor
    reason: Annotated[str, Field(max_length=2000)] | None = None


class CancelCommand(Model):
    actor: Actor
    reason: Reason


class WaitForCustomerCommand(Model):
    """The request now waits on the customer; SLA clocks pause if the policy says so."""

    actor: Actor
    reason: Reason


class CustomerRepliedCommand(Model):
    actor: Actor
    note: Annotated[str, Field(max_length=4000)] | None = None


class ChangePriorityCommand(Model):
    """Raise or lower the priority; open clocks are re-counted under the new terms."""

    actor: Actor
    priority: Priority
    reason: Reason


class UpdateCalendarCommand(Model):
    """A corrected holiday calendar for a running request; its timers are re-armed."""

    actor: Actor
    calendar: BusinessCalendar


class EscalateCommand(Model):
    """Raise the priority, hand to a person or a department — at least one of them."""

    actor: Actor
    reason: Reason
    priority: Priority | None = None
    to_staff: Identifier | None = None
    to_department: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _something(self) -> EscalateCommand:
        if not (self.priority or self.to_staff or self.to_department):
            raise ValueError("give a priority, to_staff or to_department")
        return self


class ReassignCommand(Model):
    actor: Actor
    to_staff: Identifier
    reason: Reason


class OrderRehandlingCommand(Model):
    actor: Actor
    reason: Reason
    assignee: Identifier | None = Field(
        default=None,
        description="Who handles it again; by default whoever resolved it, if they have room.")


class CompensationRequest(Model):
    """Compensation for the customer; above the agent's limit it waits for a supervisor."""

    actor: Actor
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    reason: Reason


class CompensationDecision(Model):
    actor: Actor
    approve: bool
    reason: Reason


class AssignmentMade(Model):
    """Internal: the queue found someone for a waiting request."""

    actor: Actor
    assignee: Identifier
    department: str | None = None
    rule: str


class NewNeed(Model):
    """Something new the customer asked for during the follow-up: a linked request."""

    category: Category
    description: Annotated[str, Field(min_length=1, max_length=10_000)]
    sub_type: Annotated[str, Field(max_length=64)] | None = None


class FollowUpRecord(Model):
    """The follow-up visit (回访反馈): the customer's verdict in their own words."""

    actor: Actor
    score: Annotated[int, Field(ge=1, le=5, description="Satisfaction, 1 (worst) to 5")]
    nps: Annotated[int, Field(ge=0, le=10, description="Would recommend us, 0 to 10")]
    praise: Annotated[str, Field(max_length=4000)] | None = None
    suggestion: Annotated[str, Field(max_length=4000)] | None = None
    problem: Annotated[str, Field(max_length=4000)] | None = None
    needs_action: bool = False
    new_needs: list[NewNeed] = Field(default_factory=list)
    method: Annotated[str, Field(pattern=r"^(phone|questionnaire|visit|chat)$")] = "phone"
    cycle: int | None = Field(
        default=None, description="The SLA cycle the answer is about; a questionnaire link "
        "carries it so an answer about an outcome since re-handled is refused.")


class CompleteImprovement(Model):
    """Close an improvement task, saying what changed — the customer is told."""

    actor: Actor
    what_changed: Annotated[str, Field(min_length=1, max_length=4000)]


class ReceiptQuery(Model):
    """Argument of the `receipt` Update: nothing to say, but one model per argument."""


# ---- state ----


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


class TimelineEvent(Model):
    """One audited transition: who, when, why (SPEC §3)."""

    seq: int
    at: datetime
    kind: str
    actor: Actor
    status_from: Status | None = None
    status_to: Status | None = None
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class RequestState(Model):
    """All the workflow knows; carried across continue-as-new and served by the query."""

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
    queued: bool = False
    flags: list[str] = Field(default_factory=list)
    repeat_of: list[str] = Field(default_factory=list)
    compensation: Compensation | None = None
    follow_up: FollowUpState | None = None
    improvements: list[str] = Field(default_factory=list)
    rehandle_count: int = 0
    timeline: list[TimelineEvent] = Field(default_factory=list)
    persisted_seq: int = 0
    closed_at: datetime | None = None


class RequestView(Model):
    """What callers read: the state without the bookkeeping."""

    number: str
    status: Status
    priority: Priority
    category: Category
    channel: Channel
    tier: Tier
    customer_id: str
    received_at: datetime
    assignee: str | None
    plan: Plan | None
    eta: datetime | None
    policy_version: str
    deadlines: dict[str, datetime]
    clocks: list[Clock]
    sla_cycle: int
    sla_state: SlaState
    next_deadline: datetime | None
    awaiting_customer: bool
    delayed: bool
    escalated_to: str | None
    department: str | None
    queued: bool
    flags: list[str]
    repeat_of: list[str]
    compensation: Compensation | None
    follow_up: FollowUpState | None
    improvements: list[str]
    rehandle_count: int
    closed_at: datetime | None
    timeline: list[TimelineEvent]

    @classmethod
    def of(cls, s: RequestState) -> RequestView:
        return cls(
            number=s.number, status=s.status, priority=s.priority, category=s.category,
            channel=s.channel, tier=s.tier, customer_id=s.customer_id, received_at=s.received_at,
            assignee=s.assignee, plan=s.plan, eta=s.eta, policy_version=s.policy_version,
            deadlines={c.name: c.due_at for c in s.clocks if c.open and c.due_at is not None},
            clocks=s.clocks, sla_cycle=s.sla_cycle, sla_state=s.sla_state,
            next_deadline=s.next_deadline, awaiting_customer=s.awaiting_customer,
            delayed=s.delayed, escalated_to=s.escalated_to, department=s.department,
            queued=s.queued, flags=s.flags, repeat_of=s.repeat_of, compensation=s.compensation,
            follow_up=s.follow_up, improvements=s.improvements,
            rehandle_count=s.rehandle_count, closed_at=s.closed_at, timeline=s.timeline,
        )


class ImprovementInput(Model):
    """The improvement task child workflow's argument (SPEC §3.7)."""

    task_id: str
    number: str
    department: str
    problem: str
    score: int
    opened_at: datetime
    terms: RequestTerms


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


ServiceRequestInput.model_rebuild()
