"""The argument of every Update: one model per command (names in
csflow.domain.lifecycle.Command), plus the internal `receipt` and `assignment_made`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from csflow.contracts.base import (
    NOT_BOOL,
    Actor,
    AwareDatetime,
    Flag,
    Identifier,
    Model,
    Reason,
)
from csflow.contracts.personal import (
    CancelReason,
    CustomerShortWords,
    CustomerWords,
    PersonalDescription,
    ReasonMaybeCustomers,
)
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Category, Priority

# When a command recorded by hand during an outage happened (`csflow import`).
RecordedAt = Annotated[
    AwareDatetime | None,
    Field(
        description="Imports only: when it happened, recorded by hand during an outage "
        "(`csflow import`, docs/import.md). Refused on a request not being imported, in "
        "the future, or before the request's previous event."
    ),
]


class PlanCommand(Model):
    actor: Actor
    measures: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]],
        Field(min_length=1, max_length=50),
    ]
    eta: AwareDatetime = Field(description="When it will be done; at most 732 days ahead.")
    owner: Identifier | None = None
    department: Annotated[str, Field(max_length=64)] | None = None
    at: RecordedAt = None


class ProgressCommand(Model):
    actor: Actor
    note: Annotated[str, Field(min_length=1, max_length=4000)]
    eta: AwareDatetime | None = Field(
        default=None, description="A revised ETA, if it moved; at most 732 days ahead."
    )
    at: RecordedAt = None


# A reason's or a cause's key in the reports config (CSFLOW_REPORTS: `breach_reasons`,
# `causes`). Which keys exist is checked at the edge (csflow.taxonomy), not here: the
# workflow must replay the same whatever the config says today.
TaxonomyKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
Department = Annotated[str, Field(min_length=1, max_length=64)]
ClockId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z_]+(#[0-9]{1,6}(\.[0-9]{1,6})?)?$",
        description="An SLA clock id as on `sla_breached`, "
        "e.g. `resolution`, `resolution#2`, `progress_cadence#1.2`.",
    ),
]
Note = Annotated[str, Field(min_length=1, max_length=2000)]


class ResolveCommand(Model):
    actor: Actor
    summary: Annotated[str, Field(min_length=1, max_length=4000)]
    cause: TaxonomyKey | None = Field(
        default=None,
        description="Root cause (a `causes` key of the reports config); required for a complaint.",
    )
    responsible_department: Department | None = Field(
        default=None, description="Who was responsible; required with `cause`."
    )
    at: RecordedAt = None

    @model_validator(mode="after")
    def _cause_with_department(self) -> ResolveCommand:
        if (self.cause is None) != (self.responsible_department is None):
            raise ValueError("give cause and responsible_department together")
        return self


class ConfirmCommand(Model):
    """The customer's answer to the resolution; `satisfied=false` orders re-handling."""

    actor: Actor
    satisfied: Flag
    evidence_ref: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="Signature, voice recording or chat screenshot reference."
    )
    reason: CustomerShortWords | None = None
    at: RecordedAt = None

    @model_validator(mode="after")
    def _reason_when_refused(self) -> ConfirmCommand:
        if not self.satisfied and not self.reason:
            raise ValueError("reason is required when the customer is not satisfied")
        return self


class CloseCommand(Model):
    actor: Actor
    # The customer's words when the customer closes it (sealed at the edge then).
    reason: ReasonMaybeCustomers | None = None
    at: RecordedAt = None


class CancelCommand(Model):
    actor: Actor
    reason: CancelReason


class WaitForCustomerCommand(Model):
    """The request now waits on the customer; SLA clocks pause if the policy says so."""

    actor: Actor
    reason: Reason


class CustomerRepliedCommand(Model):
    actor: Actor
    note: CustomerWords | None = None


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
        description="Who handles it again; by default whoever resolved it, if they have room.",
    )


class CompensationRequest(Model):
    """Compensation for the customer; above the agent's limit it waits for a supervisor."""

    actor: Actor
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    reason: Reason


class CompensationDecision(Model):
    actor: Actor
    approve: Flag
    reason: Reason


class AssignmentMade(Model):
    """Internal: the queue found someone for a waiting request."""

    actor: Actor
    assignee: Identifier
    department: Annotated[str, Field(max_length=64)] | None = None
    team: Annotated[str, Field(max_length=64)] | None = None  # the holder's team
    rule: Annotated[str, Field(max_length=200)]


class NewNeed(Model):
    """Something new the customer asked for during the follow-up: a linked request."""

    category: Category
    description: PersonalDescription
    sub_type: Annotated[str, Field(max_length=64)] | None = None


class FollowUpRecord(Model):
    """The follow-up visit (回访反馈): the customer's verdict in their own words."""

    actor: Actor
    score: Annotated[int, Field(ge=1, le=5, description="Satisfaction, 1 (worst) to 5"), NOT_BOOL]
    nps: Annotated[int, Field(ge=0, le=10, description="Would recommend us, 0 to 10"), NOT_BOOL]
    praise: CustomerWords | None = None
    suggestion: CustomerWords | None = None
    problem: CustomerWords | None = None
    needs_action: Flag = False
    new_needs: Annotated[list[NewNeed], Field(max_length=10)] = Field(default_factory=list)
    method: Annotated[str, Field(pattern=r"^(phone|questionnaire|visit|chat)$")] = "phone"
    cycle: Annotated[int, Field(ge=0, le=10_000), NOT_BOOL] | None = Field(
        default=None,
        description="The SLA cycle the answer is about; a questionnaire link "
        "carries it so an answer about an outcome since re-handled is refused.",
    )
    improvement_department: Department | None = Field(
        default=None,
        description="A supervisor's (or admin's) choice of the department a negative "
        "answer's improvement task goes to; without it the policy's rule chooses.",
    )
    at: RecordedAt = None


class CompleteImprovement(Model):
    """Close an improvement task, saying what changed — the customer is told."""

    actor: Actor
    what_changed: Annotated[str, Field(min_length=1, max_length=4000)]
    cause: TaxonomyKey | None = Field(
        default=None, description="Root cause (a `causes` key of the reports config)."
    )
    responsible_department: Department | None = None

    @model_validator(mode="after")
    def _cause_with_department(self) -> CompleteImprovement:
        if (self.cause is None) != (self.responsible_department is None):
            raise ValueError("give cause and responsible_department together")
        return self


class ExplainBreachCommand(Model):
    """The owner's reason for a missed deadline (clock id from `sla_breached`)."""

    actor: Actor
    clock: ClockId
    reason: TaxonomyKey = Field(description="A `breach_reasons` key of the reports config.")
    note: Note | None = None

    @model_validator(mode="after")
    def _note_for_other(self) -> ExplainBreachCommand:
        if self.reason == "other" and not self.note:
            raise ValueError("note is required when the reason is `other`")
        return self


class ReviewBreachCommand(Model):
    """A supervisor's verdict on the latest explanation of a breach."""

    actor: Actor
    clock: ClockId
    verdict: Literal["accepted", "rejected"]
    note: Note | None = None

    @model_validator(mode="after")
    def _note_for_rejection(self) -> ReviewBreachCommand:
        if self.verdict == "rejected" and not self.note:
            raise ValueError("note is required when rejecting (the owner explains again)")
        return self


class RecordCauseCommand(Model):
    """Record or correct the root cause of the complaint, or of one improvement task."""

    actor: Actor
    cause: TaxonomyKey = Field(description="A `causes` key of the reports config.")
    responsible_department: Department
    task_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="An improvement task of this request; none: the request."
    )
    note: Note | None = None


class ReceiptQuery(Model):
    """Argument of the `receipt` Update: nothing to say, but one model per argument."""
