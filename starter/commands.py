"""One typed method per command, each named like its Update, and the check of the
reason and cause keys a command names.

A caller's type checker sees each command's model and a typo fails before anything is
sent; every method goes through `send`, the one path (csflow.commands.COMMANDS lists the
commands, and a test keeps these methods in step with it). The improvement task's
`complete_improvement` is CsflowClient's own: it steers another workflow.
"""

from __future__ import annotations

from csflow import taxonomy
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
    ExplainBreachCommand,
    FollowUpRecord,
    Model,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    RecordCauseCommand,
    RequestView,
    ResolveCommand,
    ReviewBreachCommand,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.domain.lifecycle import Command
from csflow.refusals import Refusal
from csflow.reports.config import ReportsConfigError
from starter.errors import RequestRefused


class TypedCommands:
    """CsflowClient's command methods; the client provides `send`."""

    async def send(
        self, number: str, command: Command, arg: Model, *, idempotency_key: str | None = None
    ) -> RequestView:
        raise NotImplementedError  # CsflowClient.send

    async def submit_plan(
        self, number: str, command: PlanCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Submit or revise the plan (measures, owner, ETA)."""
        return await self.send(
            number, Command.SUBMIT_PLAN, command, idempotency_key=idempotency_key
        )

    async def post_progress(
        self, number: str, command: ProgressCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """A progress note; restarts the progress cadence clock."""
        return await self.send(
            number, Command.POST_PROGRESS, command, idempotency_key=idempotency_key
        )

    async def resolve(
        self, number: str, command: ResolveCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Propose a resolution; the customer's confirmation window opens."""
        return await self.send(number, Command.RESOLVE, command, idempotency_key=idempotency_key)

    async def confirm(
        self, number: str, command: ConfirmCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """The customer's answer; not satisfied re-handles with raised priority."""
        return await self.send(number, Command.CONFIRM, command, idempotency_key=idempotency_key)

    async def close(
        self, number: str, command: CloseCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Close a resolved request (not the connections: that is `aclose`)."""
        return await self.send(number, Command.CLOSE, command, idempotency_key=idempotency_key)

    async def cancel(
        self, number: str, command: CancelCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(number, Command.CANCEL, command, idempotency_key=idempotency_key)

    async def wait_for_customer(
        self, number: str, command: WaitForCustomerCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """SLA clocks pause while the request waits on the customer (if policy says so)."""
        return await self.send(
            number, Command.WAIT_FOR_CUSTOMER, command, idempotency_key=idempotency_key
        )

    async def customer_replied(
        self, number: str, command: CustomerRepliedCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.CUSTOMER_REPLIED, command, idempotency_key=idempotency_key
        )

    async def change_priority(
        self, number: str, command: ChangePriorityCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.CHANGE_PRIORITY, command, idempotency_key=idempotency_key
        )

    async def update_calendar(
        self, number: str, command: UpdateCalendarCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """One request; `push_calendar` sends a calendar to every running request."""
        return await self.send(
            number, Command.UPDATE_CALENDAR, command, idempotency_key=idempotency_key
        )

    async def escalate(
        self, number: str, command: EscalateCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(number, Command.ESCALATE, command, idempotency_key=idempotency_key)

    async def reassign(
        self, number: str, command: ReassignCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(number, Command.REASSIGN, command, idempotency_key=idempotency_key)

    async def order_rehandling(
        self, number: str, command: OrderRehandlingCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.ORDER_REHANDLING, command, idempotency_key=idempotency_key
        )

    async def request_compensation(
        self, number: str, command: CompensationRequest, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Above the agent's limit the compensation waits for `decide_compensation`."""
        return await self.send(
            number, Command.REQUEST_COMPENSATION, command, idempotency_key=idempotency_key
        )

    async def decide_compensation(
        self, number: str, command: CompensationDecision, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.DECIDE_COMPENSATION, command, idempotency_key=idempotency_key
        )

    async def assignment_made(
        self, number: str, command: AssignmentMade, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Internal: only the `system` role may send it (the assignment queue does)."""
        return await self.send(
            number, Command.ASSIGNMENT_MADE, command, idempotency_key=idempotency_key
        )

    async def record_follow_up(
        self, number: str, command: FollowUpRecord, *, idempotency_key: str | None = None
    ) -> RequestView:
        return await self.send(
            number, Command.RECORD_FOLLOW_UP, command, idempotency_key=idempotency_key
        )

    async def explain_breach(
        self, number: str, command: ExplainBreachCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """The holder's reason for a breach of one clock (a configured reason key)."""
        return await self.send(
            number, Command.EXPLAIN_BREACH, command, idempotency_key=idempotency_key
        )

    async def review_breach(
        self, number: str, command: ReviewBreachCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """A supervisor accepts or rejects the latest explanation of a breach."""
        return await self.send(
            number, Command.REVIEW_BREACH, command, idempotency_key=idempotency_key
        )

    async def record_cause(
        self, number: str, command: RecordCauseCommand, *, idempotency_key: str | None = None
    ) -> RequestView:
        """Record or correct the root cause of the complaint or one improvement task."""
        return await self.send(
            number, Command.RECORD_CAUSE, command, idempotency_key=idempotency_key
        )


def known_keys(command: Model) -> bool:
    """A reason or cause must be a key of the reports config (csflow.taxonomy); a command
    naming another is refused before it is sent. True when the command is a resolution
    the config wants a cause on if it is a complaint (the caller then looks up the
    category)."""
    try:
        problem = taxonomy.problem(command)
        needs_cause = taxonomy.needs_cause(command)
    except ReportsConfigError as err:  # a deployment fault: nothing is sent, never a 500
        raise RequestRefused(
            f"the reports config cannot be used: {err}", Refusal.UNAVAILABLE.value
        ) from err
    if problem is not None:
        raise RequestRefused(problem, Refusal.INVALID.value)
    return needs_cause
