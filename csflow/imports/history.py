"""The events of a request handled by hand during an outage, as the commands that replay
them (docs/requirements.md §7, docs/import.md "The whole history").

Each event a person wrote down — the first answer, the plan with its ETA, progress, the
resolution, the customer's confirmation, the follow-up call — becomes the very command a
live request gets, dated with its original time (`at`). The command models check the
fields, so an imported event is held to the rules a live one is, with the same messages;
what only an import knows is checked here: every event has its time with a zone, none is
before the receipt or in the future, and they come in the order they happened. The
workflow checks the order again and whether each is legal at that point of the request's
life, exactly as for a live command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from csflow.contracts import (
    Actor,
    CloseCommand,
    ConfirmCommand,
    FollowUpRecord,
    Model,
    PlanCommand,
    ProgressCommand,
    RequestIntake,
    ResolveCommand,
)
from csflow.contracts.intake import MAX_IMPORTED_EVENTS
from csflow.domain.codes import Role
from csflow.domain.lifecycle import Command

# event kind → (the command that replays it, its argument's model)
KINDS: dict[str, tuple[Command, type[Model]]] = {
    "response": (Command.POST_PROGRESS, ProgressCommand),
    "plan": (Command.SUBMIT_PLAN, PlanCommand),
    "progress": (Command.POST_PROGRESS, ProgressCommand),
    "resolution": (Command.RESOLVE, ResolveCommand),
    "confirmation": (Command.CONFIRM, ConfirmCommand),
    "follow_up": (Command.RECORD_FOLLOW_UP, FollowUpRecord),
    "close": (Command.CLOSE, CloseCommand),
}

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class RecordedEvent:
    """One event of the file, ready to send: `index` counts from 0 within its request."""

    index: int
    kind: str
    command: Command
    arg: Model

    @property
    def at(self) -> datetime:
        at: datetime = getattr(self.arg, "at")  # noqa: B009  (every import command has it)
        return at


def read_events(
    raw: Any, intake: RequestIntake, now: datetime
) -> tuple[tuple[RecordedEvent, ...], list[tuple[Loc, str]]]:
    """The events of one row, or the problems of each, located as `("events", i, field)`."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [(("events",), "must be a list of events")]
    if len(raw) > MAX_IMPORTED_EVENTS:
        return (), [(("events",), f"at most {MAX_IMPORTED_EVENTS} events per request")]
    events: list[RecordedEvent] = []
    problems: list[tuple[Loc, str]] = []
    previous: tuple[str, datetime] | None = (
        ("received_at", intake.received_at) if intake.received_at else None
    )
    for i, item in enumerate(raw):
        event, found = _one(i, item, intake)
        problems += [(("events", i, *loc), msg) for loc, msg in found]
        if event is None:
            continue  # its order is judged by the next good one against the last good one
        at = event.at
        if at > now:
            problems.append((("events", i, "at"), "is in the future"))
        elif previous is not None and at < previous[1]:
            problems.append(
                (
                    ("events", i, "at"),
                    f"is before {previous[0]}: events go in the order they happened",
                )
            )
        previous = (f"events[{i}].at", at)
        events.append(event)
    return tuple(events), problems


def _one(i: int, item: Any, intake: RequestIntake) -> tuple[RecordedEvent | None, list[Any]]:
    if not isinstance(item, dict):
        return None, [((), "must be an object with kind, at and the event's fields")]
    data = dict(item)
    kind = data.pop("kind", None)
    if kind not in KINDS:
        return None, [(("kind",), "required: one of " + ", ".join(KINDS))]
    problems: list[tuple[Loc, str]] = []
    if data.get("at") in (None, ""):
        problems.append((("at",), "required: when it happened, with its time zone"))
    if data.get("actor") in (None, {}):
        actor = _default_actor(kind, intake)
        if actor is None:
            problems.append(
                (("actor",), "required: who did it (id and role), or give recorded_by on the row")
            )
        else:
            data["actor"] = actor
    command, model = KINDS[kind]
    try:
        arg = model.model_validate(data)
    except ValidationError as err:
        given = {loc[0] for loc, _ in problems}
        problems += [
            (tuple(e["loc"]), _message(e))
            for e in err.errors()
            if not (e["loc"] and e["loc"][0] in given)
        ]
        return None, problems
    if problems:
        return None, problems
    return RecordedEvent(i, kind, command, arg), []


def _default_actor(kind: str, intake: RequestIntake) -> Actor | None:
    """The customer answers the confirmation; everything else was done by whoever took the
    request by hand, unless the event names someone."""
    if kind == "confirmation":
        return Actor(id=intake.customer.id, role=Role.CUSTOMER)
    return intake.recorded_by


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return str(error["msg"]).removeprefix("Value error, ")
