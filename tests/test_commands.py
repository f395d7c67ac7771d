"""One command vocabulary: every command has its four faces — a workflow Update with a
validator, an API route, a CLI command and a starter method — and the API's role gate
and the workflow's guard give the same answer for every command and every role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_type_hints

import pytest
import typer
from fastapi.routing import APIRoute
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from csflow.api.app import create_app
from csflow.api.auth import Denied
from csflow.api.routes import improvements, requests
from csflow.cli import app as cli_app
from csflow.commands import BY_COMMAND, COMMANDS, TABLE, AnyCommandSpec
from csflow.contracts import (
    Actor,
    CompleteImprovement,
    ImprovementRow,
    RequestView,
    ServiceRequestInput,
)
from csflow.domain.codes import Role
from csflow.domain.lifecycle import LEGAL, REQUIRED_ROLES, Command, TaskCommand
from csflow.refusals import Refusal
from csflow.store.tokens import TOKEN_ROLES, TokenInfo
from starter.client import CsflowClient
from tests.helpers import intake
from workflows.improvement import ImprovementTaskWorkflow
from workflows.improvement import guards as task_guards
from workflows.service_request import ServiceRequestWorkflow, guards, transitions

APP = create_app()
DEFINITIONS = {
    "ServiceRequest": workflow._Definition.must_from_class(ServiceRequestWorkflow),
    "ImprovementTask": workflow._Definition.must_from_class(ImprovementTaskWorkflow),
}


def test_the_table_holds_every_command_of_both_workflows() -> None:
    assert {s.command for s in TABLE} == set(Command) | set(TaskCommand)
    assert set(BY_COMMAND) == set(Command) == {s.command for s in COMMANDS}
    assert set(REQUIRED_ROLES) == {s.command for s in TABLE}


@pytest.mark.parametrize("spec", TABLE, ids=lambda s: s.update_name)
def test_every_command_has_an_update_a_route_a_cli_command_and_a_starter_method(
    spec: AnyCommandSpec,
) -> None:
    update = DEFINITIONS[spec.workflow_type].updates[spec.update_name]
    assert update.arg_types == [spec.model]
    assert update.validator is not None, f"{spec.update_name} needs a validator"

    route = APP.openapi()["paths"][spec.route]["post"]
    body = route["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = APP.openapi()["components"]["schemas"][body.split("/")[-1]]["properties"]
    assert set(fields) == set(spec.model.model_fields)  # the model, `actor` optional

    group, name = spec.cli
    root: Any = typer.main.get_command(cli_app)
    assert name in root.commands[group].commands, f"csflow {group} {name}"

    method = getattr(CsflowClient, spec.starter_method, None)
    assert method is not None, f"CsflowClient.{spec.starter_method} is missing"
    hints = get_type_hints(method)
    assert hints["command"] is spec.model
    assert hints["return"] is (RequestView if isinstance(spec.command, Command) else ImprovementRow)


def test_the_workflows_expose_stable_names() -> None:
    request, task = DEFINITIONS["ServiceRequest"], DEFINITIONS["ImprovementTask"]
    assert set(request.updates) == {c.value for c in Command} | {"receipt"}
    assert set(request.queries) == {"get_state"}
    assert set(task.updates) == {c.value for c in TaskCommand}
    assert set(task.queries) == {"get_task", "escalations"}


# ---- the API's gate and the workflow's guard agree ----


def _gate(spec: AnyCommandSpec) -> Any:
    """The role check the API runs before the route (auth.require's dependency)."""
    routes = [*requests.router.routes, *improvements.router.routes]
    route = next(
        r
        for r in routes
        if isinstance(r, APIRoute) and r.path == spec.route and "POST" in r.methods
    )
    gates = [
        d.call
        for d in route.dependant.dependencies
        if d.call is not None and "require.<locals>" in d.call.__qualname__
    ]
    assert len(gates) == 1, route.path
    return gates[0]


async def _api_admits(spec: AnyCommandSpec, role: Role) -> bool:
    who = TokenInfo(
        id="t",
        name="t",
        role=role,
        subject="someone",
        created_at=datetime.now(UTC),
        expires_at=None,
        revoked_at=None,
        last_used_at=None,
    )
    try:
        await _gate(spec)(who)
    except Denied:
        return False
    return True


def _workflow_admits(command: Command | TaskCommand, role: Role) -> bool:
    """The guard's answer for an actor with `role`, in a state the command is legal in."""
    actor = Actor(id="someone", role=role)
    try:
        if isinstance(command, TaskCommand):
            task_guards.complete(None, CompleteImprovement(actor=actor, what_changed="x"), ())
        else:
            state = transitions.new_state(
                ServiceRequestInput(
                    number="CS20261123-WEB-0001", intake=intake(), received_at=datetime.now(UTC)
                ),
                None,
            )
            state.status = next(iter(LEGAL[command]))
            guards.lifecycle(command, actor, state)
    except ApplicationError as err:
        if err.type != Refusal.FORBIDDEN_ROLE:
            raise
        return False
    return True


@pytest.mark.parametrize("spec", TABLE, ids=lambda s: s.update_name)
async def test_the_api_and_the_workflow_agree_on_who_may_send_it(spec: AnyCommandSpec) -> None:
    relayable = [r for r in Role if r is not Role.SYSTEM]
    for role in TOKEN_ROLES:
        api = await _api_admits(spec, role)
        if role is Role.SERVICE:
            # A service relays the actor it names; it may call when the workflow accepts
            # some actor it can name (never `system`).
            assert api == any(_workflow_admits(spec.command, r) for r in relayable), role
        else:  # a person's token acts as that person
            assert api == _workflow_admits(spec.command, role), (spec.update_name, role)


def test_closing_an_improvement_task_is_open_to_the_follow_up_specialist() -> None:
    """The API admitted follow-up specialists and the workflow refused them; both now read
    REQUIRED_ROLES, which lets them close the task their follow-up opened."""
    assert _workflow_admits(TaskCommand.COMPLETE_IMPROVEMENT, Role.FOLLOW_UP)
    assert not _workflow_admits(TaskCommand.COMPLETE_IMPROVEMENT, Role.ANALYST)
    assert not _workflow_admits(TaskCommand.COMPLETE_IMPROVEMENT, Role.CUSTOMER)
