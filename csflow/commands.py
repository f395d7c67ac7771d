"""One command vocabulary: each lifecycle command's Update name, argument model and route.

The workflow, the API, the CLI and the starter all read this table, and a test checks
every command has all four faces, so none of them drifts.
"""

from __future__ import annotations

from dataclasses import dataclass

from csflow.contracts import (
    AssignmentMade,
    CancelCommand,
    ChangePriorityCommand,
    CloseCommand,
    CompensationDecision,
    CompensationRequest,
    ConfirmCommand,
    CustomerRepliedCommand,
    EscalateCommand,
    FollowUpRecord,
    Model,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ResolveCommand,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain.lifecycle import Command


@dataclass(frozen=True)
class CommandSpec:
    command: Command
    model: type[Model]
    path: str
    summary: str

    @property
    def update_name(self) -> str:
        return self.command.value


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(Command.SUBMIT_PLAN, PlanCommand, "plan",
                "Submit or revise the service plan (measures, owner, ETA)"),
    CommandSpec(Command.POST_PROGRESS, ProgressCommand, "progress",
                "Post a progress note, optionally revising the ETA"),
    CommandSpec(Command.RESOLVE, ResolveCommand, "resolve",
                "Propose a resolution; the customer is asked to confirm"),
    CommandSpec(Command.CONFIRM, ConfirmCommand, "confirm",
                "Record the customer's answer: satisfied, or re-handle with raised priority"),
    CommandSpec(Command.CLOSE, CloseCommand, "close", "Close a resolved request"),
    CommandSpec(Command.CANCEL, CancelCommand, "cancel", "Cancel an open request, with a reason"),
    CommandSpec(Command.WAIT_FOR_CUSTOMER, WaitForCustomerCommand, "wait-for-customer",
                "The request waits on the customer; SLA clocks pause if the policy says so"),
    CommandSpec(Command.CUSTOMER_REPLIED, CustomerRepliedCommand, "customer-replied",
                "The customer answered; paused clocks run again with their time left"),
    CommandSpec(Command.CHANGE_PRIORITY, ChangePriorityCommand, "priority",
                "Change the priority; open SLA clocks are re-counted under the new terms"),
    CommandSpec(Command.UPDATE_CALENDAR, UpdateCalendarCommand, "calendar",
                "Push a corrected holiday calendar; the request re-arms its timers"),
    CommandSpec(Command.ESCALATE, EscalateCommand, "escalate",
                "Supervisor: raise the priority, or hand to a person or a department"),
    CommandSpec(Command.REASSIGN, ReassignCommand, "reassign",
                "Supervisor: hand the request to another person, with a reason"),
    CommandSpec(Command.ORDER_REHANDLING, OrderRehandlingCommand, "rehandle",
                "Supervisor: order re-handling (priority raised, new SLA cycle)"),
    CommandSpec(Command.REQUEST_COMPENSATION, CompensationRequest, "compensation",
                "Grant compensation; above the agent's limit it waits for a supervisor"),
    CommandSpec(Command.DECIDE_COMPENSATION, CompensationDecision, "compensation/decision",
                "Supervisor: approve or reject a compensation waiting for a decision"),
    CommandSpec(Command.ASSIGNMENT_MADE, AssignmentMade, "assignment",
                "Internal (role system): the queue assigned a waiting request"),
    CommandSpec(Command.RECORD_FOLLOW_UP, FollowUpRecord, "follow-up",
                "Record the follow-up visit: score, NPS, the customer's words, new needs"),
)

BY_COMMAND = {spec.command: spec for spec in COMMANDS}
