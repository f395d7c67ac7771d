"""The argument of every Update: one model per command (names in
csflow.domain.lifecycle.Command), plus the internal `receipt` and `assignment_made`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

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
from csflow.domain.calendar import BusinessCalendar
from csflow.domain.codes import Category, Priority


class PlanCommand(Model):
    actor: Actor
    measures: Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]],
                        Field(min_length=1, max_length=50)]
    eta: AwareDatetime = Field(description="When it will be done; at most 732 days ahead.")
    owner: Identifier | None = None
    department: Annotated[str, Field(max_length=64)] | None = None


class ProgressCommand(Model):
    actor: Actor
    note: Annotated[str, Field(min_length=1, max_length=4000)]
    eta: AwareDatetime | None = Field(
        default=None, description="A revised ETA, if it moved; at most 732 days ahead.")


class ResolveCommand(Model):
    actor: Actor
    summary: Annotated[str, Field(min_length=1, max_length=4000)]


class ConfirmCommand(Model):
    """The customer's answer to the resolution; `satisfied=false` orders re-handling."""

    actor: Actor
    satisfied: Flag
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
    approve: Flag
    reason: Reason


class AssignmentMade(Model):
    """Internal: the queue found someone for a waiting request."""

    actor: Actor
    assignee: Identifier
    department: Annotated[str, Field(max_length=64)] | None = None
    rule: Annotated[str, Field(max_length=200)]


class NewNeed(Model):
    """Something new the customer asked for during the follow-up: a linked request."""

    category: Category
    description: Annotated[str, Field(min_length=1, max_length=10_000)]
    sub_type: Annotated[str, Field(max_length=64)] | None = None


class FollowUpRecord(Model):
    """The follow-up visit (回访反馈): the customer's verdict in their own words."""

    actor: Actor
    score: Annotated[int, Field(ge=1, le=5, description="Satisfaction, 1 (worst) to 5"),
                     NOT_BOOL]
    nps: Annotated[int, Field(ge=0, le=10, description="Would recommend us, 0 to 10"), NOT_BOOL]
    praise: Annotated[str, Field(max_length=4000)] | None = None
    suggestion: Annotated[str, Field(max_length=4000)] | None = None
    problem: Annotated[str, Field(max_length=4000)] | None = None
    needs_action: Flag = False
    new_needs: Annotated[list[NewNeed], Field(max_length=10)] = Field(default_factory=list)
    method: Annotated[str, Field(pattern=r"^(phone|questionnaire|visit|chat)$")] = "phone"
    cycle: Annotated[int, Field(ge=0, le=10_000), NOT_BOOL] | None = Field(
        default=None, description="The SLA cycle the answer is about; a questionnaire link "
        "carries it so an answer about an outcome since re-handled is refused.")


class CompleteImprovement(Model):
    """Close an improvement task, saying what changed — the customer is told."""

    actor: Actor
    what_changed: Annotated[str, Field(min_length=1, max_length=4000)]


class ReceiptQuery(Model):
    """Argument of the `receipt` Update: nothing to say, but one model per argument."""
