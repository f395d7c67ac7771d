"""One command vocabulary: each lifecycle command's Update name, argument model and route.

The workflow, the API, the CLI and the starter all read this table, and a test checks
every command has all four faces, so none of them drifts.
"""

from __future__ import annotations

from dataclasses import dataclass

from csflow.contracts import (
    CancelCommand,
    CloseCommand,
    ConfirmCommand,
    Model,
    PlanCommand,
    ProgressCommand,
    ResolveCommand,
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
)

BY_COMMAND = {spec.command: spec for spec in COMMANDS}
