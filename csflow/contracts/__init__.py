"""Wire models: the one vocabulary the workflow, activities, API, CLI and starter share.

A public contract (docs/contract.md, docs/contract.schema.json), kept in small modules —
`intake` (what opens work), `commands` (every Update's argument), `views` (the state and
what callers read of it), `events` (the timeline), on a shared `base` of checked types
and the `bounds` every timestamp keeps. Import names from here:
`from csflow.contracts import RequestIntake`.
"""

from csflow.contracts.base import (
    NOT_BOOL,
    SYSTEM,
    WORKFLOW_TYPE,
    Actor,
    AwareDatetime,
    Flag,
    Identifier,
    Model,
    Reason,
    ShortText,
    unstorable,
)
from csflow.contracts.bounds import window_problems
from csflow.contracts.commands import (
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
    FollowUpRecord,
    NewNeed,
    OrderRehandlingCommand,
    PlanCommand,
    ProgressCommand,
    ReassignCommand,
    ReceiptQuery,
    ResolveCommand,
    UpdateCalendarCommand,
    WaitForCustomerCommand,
)
from csflow.contracts.events import TimelineEvent
from csflow.contracts.intake import (
    Contact,
    Customer,
    CustomerChannel,
    ImprovementInput,
    RequestIntake,
    ServiceRequestInput,
)
from csflow.contracts.views import (
    Compensation,
    FollowUpState,
    ImprovementResult,
    ImprovementRow,
    Plan,
    RequestFacts,
    RequestState,
    RequestView,
)

__all__ = [
    "NOT_BOOL",
    "SYSTEM",
    "WORKFLOW_TYPE",
    "Actor",
    "AssignmentMade",
    "AwareDatetime",
    "CancelCommand",
    "ChangePriorityCommand",
    "CloseCommand",
    "Compensation",
    "CompensationDecision",
    "CompensationRequest",
    "CompleteImprovement",
    "ConfirmCommand",
    "Contact",
    "Customer",
    "CustomerChannel",
    "CustomerRepliedCommand",
    "EscalateCommand",
    "Flag",
    "FollowUpRecord",
    "FollowUpState",
    "Identifier",
    "ImprovementInput",
    "ImprovementResult",
    "ImprovementRow",
    "Model",
    "NewNeed",
    "OrderRehandlingCommand",
    "Plan",
    "PlanCommand",
    "ProgressCommand",
    "Reason",
    "ReassignCommand",
    "ReceiptQuery",
    "RequestFacts",
    "RequestIntake",
    "RequestState",
    "RequestView",
    "ResolveCommand",
    "ServiceRequestInput",
    "ShortText",
    "TimelineEvent",
    "UpdateCalendarCommand",
    "WaitForCustomerCommand",
    "unstorable",
    "window_problems",
]
