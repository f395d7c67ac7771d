"""One form per lifecycle command: its fields, and the form → command model conversion.

The command models (csflow.contracts via csflow.commands) stay the one definition of what
a command takes; this module only says how each field is typed into a browser — a list
as one line per item, a date in the organisation's time zone, a yes/no as two radios —
and turns the posted strings back into the model's input. Validation is the model's:
the console shows pydantic's own messages, as the API's 422 does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from csflow.commands import COMMANDS, CommandSpec
from csflow.domain.codes import Priority, Role
from csflow.domain.lifecycle import REQUIRED_ROLES, Command

Kind = Literal[
    "text", "textarea", "lines", "datetime", "select", "yesno", "checkbox", "number", "json"
]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = "text"
    required: bool = False
    options: tuple[str, ...] = ()
    # The standard phrases insert into this field: words that go to the customer in
    # writing. Forms that record a conversation (a confirmation, a follow-up call) show
    # the phrases as the script to speak instead.
    phrases: bool = False
    max_length: int | None = None
    # Roles that may fill the field, when the workflow narrows it further than the
    # command (a follow-up's improvement department is a supervisor's choice).
    roles: frozenset[Role] | None = None


_PRIORITIES = tuple(p.value for p in Priority)
_REASON = Field("reason", "textarea", required=True, max_length=2000)

FIELDS: dict[Command, tuple[Field, ...]] = {
    Command.SUBMIT_PLAN: (
        Field("measures", "lines", required=True, phrases=True),
        Field("eta", "datetime", required=True),
        Field("owner", max_length=64),
        Field("department", max_length=64),
    ),
    Command.POST_PROGRESS: (
        Field("note", "textarea", required=True, phrases=True, max_length=4000),
        Field("eta", "datetime"),
    ),
    Command.RESOLVE: (
        Field("summary", "textarea", required=True, phrases=True, max_length=4000),
        Field("cause", max_length=64),
        Field("responsible_department", max_length=64),
    ),
    Command.CONFIRM: (
        Field("satisfied", "yesno", required=True),
        Field("evidence_ref", max_length=500),
        Field("reason", "textarea", max_length=2000),
    ),
    Command.CLOSE: (Field("reason", "textarea", max_length=2000),),
    Command.CANCEL: (Field("reason", "textarea", required=True, phrases=True, max_length=2000),),
    Command.WAIT_FOR_CUSTOMER: (
        Field("reason", "textarea", required=True, phrases=True, max_length=2000),
    ),
    Command.CUSTOMER_REPLIED: (Field("note", "textarea", max_length=4000),),
    Command.CHANGE_PRIORITY: (
        Field("priority", "select", required=True, options=_PRIORITIES),
        _REASON,
    ),
    Command.UPDATE_CALENDAR: (Field("calendar", "json", required=True),),
    Command.ESCALATE: (
        _REASON,
        Field("priority", "select", options=_PRIORITIES),
        Field("to_staff", max_length=64),
        Field("to_department", max_length=64),
    ),
    Command.REASSIGN: (Field("to_staff", required=True, max_length=64), _REASON),
    Command.ORDER_REHANDLING: (_REASON, Field("assignee", max_length=64)),
    Command.REQUEST_COMPENSATION: (
        Field("amount", "number", required=True),
        Field("reason", "textarea", required=True, max_length=2000),
    ),
    Command.DECIDE_COMPENSATION: (Field("approve", "yesno", required=True), _REASON),
    Command.RECORD_FOLLOW_UP: (
        Field("score", "select", required=True, options=("1", "2", "3", "4", "5")),
        Field("nps", "select", required=True, options=tuple(str(i) for i in range(11))),
        Field(
            "method", "select", required=True, options=("phone", "visit", "chat", "questionnaire")
        ),
        Field("praise", "textarea", max_length=4000),
        Field("suggestion", "textarea", max_length=4000),
        Field("problem", "textarea", max_length=4000),
        Field("needs_action", "checkbox"),
        Field(
            "improvement_department",
            max_length=64,
            roles=frozenset({Role.SUPERVISOR, Role.ADMIN}),
        ),
    ),
    # Reason and cause keys are the reports config's (`breach_reasons`, `causes`); a key
    # it lacks is refused with the configured list (csflow.taxonomy).
    Command.EXPLAIN_BREACH: (
        Field("clock", required=True, max_length=64),
        Field("reason", required=True, max_length=64),
        Field("note", "textarea", max_length=2000),
    ),
    Command.REVIEW_BREACH: (
        Field("clock", required=True, max_length=64),
        Field("verdict", "select", required=True, options=("accepted", "rejected")),
        Field("note", "textarea", max_length=2000),
    ),
    Command.RECORD_CAUSE: (
        Field("cause", required=True, max_length=64),
        Field("responsible_department", required=True, max_length=64),
        Field("task_id", max_length=64),
        Field("note", "textarea", max_length=2000),
    ),
}


@dataclass(frozen=True)
class Form:
    spec: CommandSpec
    fields: tuple[Field, ...]

    @property
    def command(self) -> Command:
        return self.spec.command

    @property
    def phrase_field(self) -> str | None:
        return next((f.name for f in self.fields if f.phrases), None)


@dataclass
class Invalid(Exception):
    """The posted form cannot become the command; `errors` are (field, message) pairs."""

    errors: list[tuple[str, str]] = field(default_factory=list)


def console_may(role: Role, command: Command) -> bool:
    """A person's token whose role the workflow accepts for `command`.

    A `service` token relays someone else and must name them (csflow.api.auth); the
    console is for people, so it shows a service no forms. System-only commands (the
    queue's assignment) have no form at all.
    """
    return role is not Role.SERVICE and command in FIELDS and role in REQUIRED_ROLES[command]


def forms_for(role: Role) -> list[Form]:
    """Every form `role` may send, in the command table's order; the rest are absent."""
    return [
        Form(spec, tuple(f for f in FIELDS[spec.command] if f.roles is None or role in f.roles))
        for spec in COMMANDS
        if console_may(role, spec.command)
    ]


def by_path(path: str) -> CommandSpec | None:
    return next((s for s in COMMANDS if s.path == path), None)


def to_input(command: Command, posted: Mapping[str, str], tz: str) -> dict[str, Any]:
    """The posted strings as the command model's input (actor is added by the caller).

    Blank optional fields are left out, so the model's defaults apply; a value that cannot
    even be read (a malformed date) is an `Invalid` naming the field.
    """
    out: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for f in FIELDS[command]:
        raw = (posted.get(f.name) or "").strip()
        if f.kind == "checkbox":
            out[f.name] = raw in ("on", "true", "1")
            continue
        if not raw:
            continue
        if f.kind == "lines":
            out[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "datetime":
            try:
                when = datetime.fromisoformat(raw)
            except ValueError:
                errors.append((f.name, "not a date and time (YYYY-MM-DDTHH:MM)"))
                continue
            out[f.name] = when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz))
        elif f.kind == "yesno":
            if raw not in ("yes", "no"):
                errors.append((f.name, "choose yes or no"))
                continue
            out[f.name] = raw == "yes"
        elif f.kind == "json":
            try:
                out[f.name] = json.loads(raw)
            except ValueError as err:
                errors.append((f.name, f"not valid JSON: {err}"))
        else:
            out[f.name] = raw
    if errors:
        raise Invalid(errors)
    return out
