"""The one check of `complete_improvement`, run by its validator and again by its handler."""

from __future__ import annotations

from csflow.contracts import CompleteImprovement
from csflow.domain.lifecycle import Forbidden, TaskCommand, authorize
from csflow.notify.compliance import ComplianceError, check_compliance
from csflow.refusals import Refusal


def complete(
    done: CompleteImprovement | None, cmd: CompleteImprovement, banned: tuple[str, ...]
) -> None:
    """The customer reads `what_changed`, a task closes once, by a role allowed to."""
    try:
        check_compliance(cmd.what_changed, banned)
    except ComplianceError as err:
        raise Refusal.COMPLIANCE.error(str(err)) from None
    if done is not None:
        raise Refusal.ILLEGAL_STATE.error("the improvement task is already closed")
    try:
        authorize(TaskCommand.COMPLETE_IMPROVEMENT, cmd.actor.role)
    except Forbidden as err:
        raise Refusal.FORBIDDEN_ROLE.error(str(err)) from None
