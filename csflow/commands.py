"""One command vocabulary: every command csflow takes — the request's lifecycle commands
and the improvement task's `complete_improvement` — with its Update name, argument model,
route, CLI command and starter method.

The workflows, the API, the CLI and the starter all read this table, and a test checks
every command has all four faces (tests/test_commands.py), so none of them drifts. Who
may send each command is not here but in csflow.domain.lifecycle.REQUIRED_ROLES, which
the workflows' guards and the API's gates both read.
"""

from __future__ import annotations

from dataclasses import dataclass

from csflow.contracts import (
    WORKFLOW_TYPE,
    AssignmentMade,
    CancelCommand,
    ChangePriorityCommand,
    CloseCommand,
    CompensationDecision,
    CompensationRequest,
    CompleteImprovement,
    ConfirmCommand,
    CustomerRepliedCommand,
    EscalateCommand,
    ExplainBreachCommand,
    FollowUpRecord,
    Model,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    RecordCauseCommand,
    ResolveCommand,
    ReviewBreachCommand,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain.lifecycle import AnyCommand, Command, TaskCommand

IMPROVEMENT_TASK = "ImprovementTask"  # the child workflow's type


@dataclass(frozen=True)
class AnyCommandSpec:
    """One command and its faces. `path` is its route (and CLI command) under the
    collection of the workflow that takes it: /requests/{number}/… or /improvements/{id}/…"""

    command: AnyCommand
    model: type[Model]
    path: str
    summary: str

    @property
    def update_name(self) -> str:
        return self.command.value

    @property
    def workflow_type(self) -> str:
        return WORKFLOW_TYPE if isinstance(self.command, Command) else IMPROVEMENT_TASK

    @property
    def route(self) -> str:
        """The API route (POST)."""
        if isinstance(self.command, Command):
            return f"/requests/{{number}}/{self.path}"
        return f"/improvements/{{task_id}}/{self.path}"

    @property
    def cli(self) -> tuple[str, str]:
        """`csflow <group> <name>`."""
        group = "request" if isinstance(self.command, Command) else "improvement"
        return group, self.path.replace("/", "-")

    @property
    def starter_method(self) -> str:
        """The CsflowClient method (named like the Update)."""
        return self.update_name


@dataclass(frozen=True)
class CommandSpec(AnyCommandSpec):
    """A command of the ServiceRequest workflow."""

    command: Command


@dataclass(frozen=True)
class TaskCommandSpec(AnyCommandSpec):
    """A command of the ImprovementTask child workflow."""

    command: TaskCommand


# The ServiceRequest's commands, in the table's order (the API, CLI and contract
# generators iterate these).
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        Command.SUBMIT_PLAN,
        PlanCommand,
        "plan",
        "Submit or revise the service plan (measures, owner, ETA)",
    ),
    CommandSpec(
        Command.POST_PROGRESS,
        ProgressCommand,
        "progress",
        "Post a progress note, optionally revising the ETA",
    ),
    CommandSpec(
        Command.RESOLVE,
        ResolveCommand,
        "resolve",
        "Propose a resolution; the customer is asked to confirm",
    ),
    CommandSpec(
        Command.CONFIRM,
        ConfirmCommand,
        "confirm",
        "Record the customer's answer: satisfied, or re-handle with raised priority",
    ),
    CommandSpec(
        Command.CLOSE,
        CloseCommand,
        "close",
        "Close a resolved request; before its follow-up only the policy's skip roles "
        "(supervisor, admin), with a reason; never while an improvement task is open",
    ),
    CommandSpec(Command.CANCEL, CancelCommand, "cancel", "Cancel an open request, with a reason"),
    CommandSpec(
        Command.WAIT_FOR_CUSTOMER,
        WaitForCustomerCommand,
        "wait-for-customer",
        "The request waits on the customer; SLA clocks pause if the policy says so",
    ),
    CommandSpec(
        Command.CUSTOMER_REPLIED,
        CustomerRepliedCommand,
        "customer-replied",
        "The customer answered; paused clocks run again with their time left",
    ),
    CommandSpec(
        Command.CHANGE_PRIORITY,
        ChangePriorityCommand,
        "priority",
        "Change the priority; open SLA clocks are re-counted under the new terms",
    ),
    CommandSpec(
        Command.UPDATE_CALENDAR,
        UpdateCalendarCommand,
        "calendar",
        "Push a corrected holiday calendar; the request re-arms its timers",
    ),
    CommandSpec(
        Command.ESCALATE,
        EscalateCommand,
        "escalate",
        "Supervisor: raise the priority, or hand to a person or a department",
    ),
    CommandSpec(
        Command.REASSIGN,
        ReassignCommand,
        "reassign",
        "Supervisor: hand the request to another person, with a reason",
    ),
    CommandSpec(
        Command.ORDER_REHANDLING,
        OrderRehandlingCommand,
        "rehandle",
        "Supervisor: order re-handling (priority raised, new SLA cycle)",
    ),
    CommandSpec(
        Command.REQUEST_COMPENSATION,
        CompensationRequest,
        "compensation",
        "Grant compensation; above the agent's limit it waits for a supervisor",
    ),
    CommandSpec(
        Command.DECIDE_COMPENSATION,
        CompensationDecision,
        "compensation/decision",
        "Supervisor: approve or reject a compensation waiting for a decision",
    ),
    CommandSpec(
        Command.ASSIGNMENT_MADE,
        AssignmentMade,
        "assignment",
        "Internal (role system): the queue assigned a waiting request",
    ),
    CommandSpec(
        Command.RECORD_FOLLOW_UP,
        FollowUpRecord,
        "follow-up",
        "Record the follow-up visit: score, NPS, the customer's words, new needs",
    ),
    CommandSpec(
        Command.EXPLAIN_BREACH,
        ExplainBreachCommand,
        "explain-breach",
        "The holder says why a deadline was missed: a configured reason and a note",
    ),
    CommandSpec(
        Command.REVIEW_BREACH,
        ReviewBreachCommand,
        "review-breach",
        "Supervisor: accept or reject a breach's explanation (rejected: explain again)",
    ),
    CommandSpec(
        Command.RECORD_CAUSE,
        RecordCauseCommand,
        "cause",
        "Supervisor: record or correct the root cause and responsible department",
    ),
)

TASK_COMMANDS: tuple[TaskCommandSpec, ...] = (
    TaskCommandSpec(
        TaskCommand.COMPLETE_IMPROVEMENT,
        CompleteImprovement,
        "complete",
        "Close an improvement task with what changed; the customer is told",
    ),
)

# The one table: every command csflow takes, each with its four faces.
TABLE: tuple[AnyCommandSpec, ...] = (*COMMANDS, *TASK_COMMANDS)

BY_COMMAND = {spec.command: spec for spec in COMMANDS}
