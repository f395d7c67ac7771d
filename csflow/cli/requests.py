"""`csflow request …`: create, show and list requests, and send every lifecycle command.

The command subcommands are generated from `csflow.commands.COMMANDS`, like the API's
routes, so a new command reaches the shell without anyone remembering to add it here.
Everything goes through the starter client, so a command is refused by the CLI exactly
as it is through the API: the workflow's validators decide, not this file.

Exit codes (csflow/cli/exits.py): 0 done; 1 refused or not found (the reason is printed);
2 bad input, nothing sent; 3 Temporal or PostgreSQL unreachable, nothing changed — safe
to retry.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from pydantic import BaseModel, ValidationError

from csflow.cli import connect, exits
from csflow.commands import COMMANDS, CommandSpec
from csflow.contracts import Model, RequestIntake, RequestView
from csflow.domain.codes import Category, Channel, Priority, Role, SlaState, Tier
from csflow.domain.lifecycle import REQUIRED_ROLES, Status
from csflow.refusals import ANSWERS, Refusal, answer
from csflow.store.listing import DEFAULT_LIMIT, MAX_LIMIT, RequestFilter, RequestPage

if TYPE_CHECKING:
    from csflow.config.terms import TermsProvider
    from starter.client import CsflowClient

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

request_app = typer.Typer(
    help="Service requests: create, show, list, and every lifecycle command.",
    no_args_is_help=True,
)

NumberArg = Annotated[
    str, typer.Argument(help="request number, e.g. CS20261123-TEL-0001", show_default=False)
]
JsonOpt = Annotated[str | None, typer.Option("--json", help="the body as a JSON object")]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="read the body from this JSON file ('-' reads standard input)"),
]
ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--actor",
        envvar="CSFLOW_ACTOR",
        help="who acts (a staff or customer id), recorded in "
        "the timeline when the body names no actor",
    ),
]
RoleOpt = Annotated[
    Role | None,
    typer.Option("--role", envvar="CSFLOW_ROLE", help="the actor's role", case_sensitive=False),
]


# ---- plumbing ----


_fail = exits.fail


def _run(work: Callable[[CsflowClient], Awaitable[T]], terms: TermsProvider | None = None) -> T:
    """Connect from the environment, do one thing, close; errors become exit codes."""
    import asyncpg

    from starter.client import RequestEnded, RequestNotFound, RequestRefused, TemporalUnavailable

    found = connect.settings(configure_logs=False)
    resolved = terms or connect.terms()

    async def go() -> T:
        async with connect.services(found, with_terms=resolved) as conn:
            return await work(conn.csflow)

    try:
        return asyncio.run(go())
    except RequestNotFound as err:
        _fail(str(err), ANSWERS[Refusal.UNKNOWN].exit)
    except RequestRefused as err:
        _fail(f"refused ({err.kind or 'error'}): {err.reason}", answer(err.kind).exit)
    except RequestEnded as err:
        _fail(f"refused: {err}", exits.REFUSED)
    except (connect.Unavailable, TemporalUnavailable, OSError) as err:
        _fail(f"unavailable, nothing was changed: {err}", exits.UNAVAILABLE)
    except asyncpg.PostgresError as err:
        # Reachable but refusing: a missing database or schema (`csflow migrate`), a role.
        _fail(f"PostgreSQL refused: {err}", exits.REFUSED)


def _read_body(json_text: str | None, file: Path | None) -> dict[str, Any]:
    if json_text is not None and file is not None:
        _fail("give the body with --json or --file, not both", exits.BAD_INPUT)
    if json_text is None and file is None:
        return {}
    source = "--json"
    try:
        if file is not None:
            source = str(file)
            text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        else:
            text = json_text or ""
        data = json.loads(text)
    except OSError as err:
        _fail(f"cannot read {source}: {err.strerror or err}", exits.BAD_INPUT)
    except json.JSONDecodeError as err:
        _fail(f"{source} is not valid JSON: {err}", exits.BAD_INPUT)
    if not isinstance(data, dict):
        _fail(f"{source} must be a JSON object, {{...}}", exits.BAD_INPUT)
    return data


def _actor(actor: str | None, role: Role | None) -> dict[str, str] | None:
    given = {"id": actor, "role": role.value if role else None}
    found = {k: v for k, v in given.items() if v}
    return found or None


def _validated(model: type[M], data: dict[str, Any], hints: dict[str, str] | None = None) -> M:
    """The model, or exit 2 with one line per bad field; `hints` adds a line about how to
    give a field (keyed by its top-level name) when that field is among them."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        lines = [f"invalid {model.__name__}, nothing was sent:"]
        named: set[str] = set()
        for e in err.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(body)"
            named.add(str(e["loc"][0]) if e["loc"] else "")
            lines.append(f"  {where}: {e['msg']}")
        lines += [f"hint: {hint}" for field, hint in (hints or {}).items() if field in named]
        _fail("\n".join(lines), exits.BAD_INPUT)


_ACTOR_HINT = {
    "actor": 'the actor comes from the body\'s "actor", or --actor and --role '
    "(CSFLOW_ACTOR / CSFLOW_ROLE)"
}
_CUSTOMER_HINT = {
    "customer": "the customer comes from the body, or --customer-id, "
    "--customer-name and --phone or --email"
}


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat(sep=" ", timespec="minutes") if value else "-"


def _short(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%m-%d %H:%M") if value else "-"


_SLA_STYLE = {
    SlaState.GREEN: "green",
    SlaState.YELLOW: "yellow",
    SlaState.RED: "bold red",
    SlaState.NONE: "dim",
}


def _outcome(view: RequestView) -> str:
    return (
        f"{view.number}: {view.status.value} · {view.priority.value} · "
        f"assignee {view.assignee or '-'} · SLA {view.sla_state.value}"
    )


# ---- create / show / list ----


@request_app.command("create")
def create(
    file: FileOpt = None,
    json_text: JsonOpt = None,
    customer_id: Annotated[str | None, typer.Option(help="the customer's system id")] = None,
    customer_name: Annotated[str | None, typer.Option(help="name or company")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[Tier | None, typer.Option()] = None,
    channel: Annotated[Channel | None, typer.Option()] = None,
    category: Annotated[Category | None, typer.Option()] = None,
    sub_type: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[Priority | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option(help="the customer's own words")] = None,
    order_number: Annotated[str | None, typer.Option()] = None,
    external_id: Annotated[
        str | None,
        typer.Option(help="your own id; creating again with it returns the same request"),
    ] = None,
    received_at: Annotated[
        str | None,
        typer.Option(help="original time of receipt with its zone, e.g. 2026-11-23T09:30:00+08:00"),
    ] = None,
    actor: ActorOpt = None,
    role: RoleOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the number")] = False,
) -> None:
    """Open a request from a JSON intake (--file/--json), options, or both (options win).

    The actor options, when given, record who took the request (`recorded_by`).
    """
    data = _read_body(json_text, file)
    top = {
        "channel": channel,
        "category": category,
        "sub_type": sub_type,
        "priority": priority,
        "description": description,
        "order_number": order_number,
        "external_id": external_id,
        "received_at": received_at,
    }
    data.update({k: v for k, v in top.items() if v is not None})
    person = {"id": customer_id, "name": customer_name, "tier": tier}
    contact = {"phone": phone, "email": email}
    if any(v is not None for v in (*person.values(), *contact.values())):
        customer = data.setdefault("customer", {})
        if not isinstance(customer, dict):
            _fail("customer must be a JSON object", exits.BAD_INPUT)
        customer.update({k: v for k, v in person.items() if v is not None})
        if any(v is not None for v in contact.values()):
            reach = customer.setdefault("contact", {})
            if not isinstance(reach, dict):
                _fail("customer.contact must be a JSON object", exits.BAD_INPUT)
            reach.update({k: v for k, v in contact.items() if v is not None})
    recorder = _actor(actor, role)
    if recorder and "recorded_by" not in data:
        data["recorded_by"] = recorder
    intake = _validated(RequestIntake, data, _CUSTOMER_HINT)

    created = _run(lambda csflow: csflow.create(intake))
    if quiet:
        typer.echo(created.number)
    elif created.existing:
        typer.echo(f"{created.number} already exists for external id {intake.external_id}")
    elif created.view is None:
        typer.echo(f"{created.number} started; intake is still being written")
    else:
        typer.echo(f"created {_outcome(created.view)}")


@request_app.command("show")
def show(number: NumberArg) -> None:
    """A request's state, deadlines and audited timeline."""
    from rich.console import Console
    from rich.table import Table

    terms = connect.terms()
    zone = ZoneInfo(terms.policy.calendar.time_zone)
    view = _run(lambda csflow: csflow.state(number), terms)

    state = Table(title=f"request {view.number}", show_header=False)
    state.add_column("field", style="bold")
    state.add_column("value")
    rows: list[tuple[str, str]] = [
        ("status", view.status.value),
        ("priority", view.priority.value),
        ("category", view.category.value),
        ("channel", view.channel.value),
        ("tier", view.tier.value),
        ("customer", view.customer_id),
        ("assignee", view.assignee or "-"),
        ("department", view.department or "-"),
        ("received", _when(view.received_at, zone)),
        (
            "SLA",
            f"[{_SLA_STYLE[view.sla_state]}]{view.sla_state.value}[/]"
            + (" (delayed)" if view.delayed else "")
            + (" (waiting on the customer)" if view.awaiting_customer else ""),
        ),
        ("next deadline", _when(view.next_deadline, zone)),
    ]
    rows += [(f"  {name}", _when(due, zone)) for name, due in sorted(view.deadlines.items())]
    if view.plan:
        rows += [
            ("plan", "; ".join(view.plan.measures)),
            ("plan owner / ETA", f"{view.plan.owner} / {_when(view.plan.eta, zone)}"),
        ]
    if view.escalated_to:
        rows.append(("escalated to", view.escalated_to))
    if view.compensation:
        c = view.compensation
        rows.append(("compensation", f"{c.amount} {c.currency} ({c.status})"))
    if view.flags:
        rows.append(("flags", ", ".join(view.flags)))
    if view.rehandle_count:
        rows.append(("re-handled", str(view.rehandle_count)))
    if view.closed_at:
        rows.append(("closed", _when(view.closed_at, zone)))
    for field, value in rows:
        state.add_row(field, value)

    timeline = Table("#", "at", "event", "by", "status", "reason", title="timeline")
    for e in view.timeline:
        change = e.status_to.value if e.status_to else ""
        if e.status_from and e.status_to and e.status_from != e.status_to:
            change = f"{e.status_from.value} → {e.status_to.value}"
        timeline.add_row(
            str(e.seq),
            _when(e.at, zone),
            e.kind,
            f"{e.actor.id} ({e.actor.role.value})",
            change,
            e.reason or "",
        )
    console = Console()
    console.print(state)
    console.print(timeline)


@request_app.command("list")
def list_requests(
    status: Annotated[list[Status] | None, typer.Option(help="repeat for any of several")] = None,
    priority: Annotated[list[Priority] | None, typer.Option()] = None,
    sla_state: Annotated[list[SlaState] | None, typer.Option()] = None,
    category: Annotated[list[Category] | None, typer.Option()] = None,
    channel: Annotated[list[Channel] | None, typer.Option()] = None,
    assignee: Annotated[str | None, typer.Option()] = None,
    number: Annotated[str | None, typer.Option("--number", help="part of the number")] = None,
    received_from: Annotated[
        str | None,
        typer.Option("--from", help="received at or after, e.g. 2026-11-23T00:00:00+08:00"),
    ] = None,
    received_to: Annotated[str | None, typer.Option("--to", help="received before")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, typer.Option(help="from the previous page's last line")] = None,
) -> None:
    """Requests, newest first, one page at a time; no personal data is shown."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from csflow.store.listing import InvalidCursor, decode_cursor

    where = _validated(
        RequestFilter,
        {
            k: v
            for k, v in {
                "status": status,
                "priority": priority,
                "sla_state": sla_state,
                "category": category,
                "channel": channel,
                "assignee": assignee,
                "q": number,
                "received_from": received_from,
                "received_to": received_to,
            }.items()
            if v
        },
    )
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except InvalidCursor as err:
            _fail(f"--cursor: {err}", exits.BAD_INPUT)
    terms = connect.terms()
    zone = ZoneInfo(terms.policy.calendar.time_zone)
    page: RequestPage = _run(lambda csflow: csflow.list(where, limit=limit, cursor=cursor), terms)

    console = Console()
    if not page.items:
        console.print("no requests match")
        return
    # Sized for a 100-column terminal: the number and the times never wrap, the channel
    # is the code inside the number, and the zone is said once instead of on every time.
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        caption=f"times in {zone.key}",
        caption_justify="left",
    )
    for name, fixed in (
        ("number", True),
        ("status", False),
        ("pri", True),
        ("SLA", True),
        ("category", False),
        ("assignee", False),
        ("due", True),
        ("received", True),
    ):
        table.add_column(name, no_wrap=fixed)
    for r in page.items:
        table.add_row(
            r.number,
            r.status.value,
            r.priority.value,
            f"[{_SLA_STYLE[r.sla_state]}]{r.sla_state.value}[/]",
            r.category.value,
            r.assignee or "-",
            _short(r.next_deadline, zone),
            _short(r.received_at, zone),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", soft_wrap=True, highlight=False)


# ---- one subcommand per lifecycle command ----


def _body_help(spec: CommandSpec) -> str:
    fields = [
        f"{name}{'' if info.is_required() else ' (optional)'}"
        for name, info in spec.model.model_fields.items()
        if name != "actor"
    ]
    roles = sorted(r.value for r in REQUIRED_ROLES.get(spec.command, frozenset()))
    return (
        f"{spec.summary}.\n\nWorkflow Update {spec.update_name}. Body fields: "
        f"{', '.join(fields) or 'none'}. Roles: {', '.join(roles) or 'any'}."
    )


def command_body(
    spec: CommandSpec,
    json_text: str | None,
    file: Path | None,
    actor: str | None,
    role: Role | None,
) -> Model:
    """The validated command, or exit 2 naming the bad fields — before any connection."""
    data = _read_body(json_text, file)
    given = _actor(actor, role)
    if "actor" not in data and given:
        data["actor"] = given
    return _validated(spec.model, data, _ACTOR_HINT)


def _add_command(spec: CommandSpec) -> None:
    def run(
        number: NumberArg,
        json_text: JsonOpt = None,
        file: FileOpt = None,
        actor: ActorOpt = None,
        role: RoleOpt = None,
        idempotency_key: Annotated[
            str | None, typer.Option(help="the same key twice runs the command once")
        ] = None,
    ) -> None:
        command = command_body(spec, json_text, file, actor, role)
        view = _run(
            lambda csflow: csflow.send(
                number, spec.command, command, idempotency_key=idempotency_key
            )
        )
        typer.echo(_outcome(view))

    run.__name__ = spec.update_name
    request_app.command(spec.path.replace("/", "-"), help=_body_help(spec))(run)


for _spec in COMMANDS:
    _add_command(_spec)
