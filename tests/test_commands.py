"""One command vocabulary: every command has its Update, its route and its model."""

from __future__ import annotations

from temporalio import workflow

from csflow.api.app import create_app
from csflow.commands import BY_COMMAND, COMMANDS
from csflow.domain.lifecycle import Command
from workflows.service_request import ServiceRequestWorkflow


def test_every_command_has_an_update_a_route_and_a_model() -> None:
    assert set(BY_COMMAND) == set(Command)
    defn = workflow._Definition.must_from_class(ServiceRequestWorkflow)
    spec = create_app().openapi()
    for c in COMMANDS:
        update = defn.updates[c.update_name]
        assert update.arg_types == [c.model], c.command
        assert update.validator is not None, f"{c.update_name} needs a validator"
        route = spec["paths"][f"/requests/{{number}}/{c.path}"]["post"]
        ref = route["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"{c.model.__name__}Body")  # the model, `actor` optional


def test_the_workflow_exposes_stable_names() -> None:
    defn = workflow._Definition.must_from_class(ServiceRequestWorkflow)
    assert defn.name == "ServiceRequest"
    assert set(defn.updates) == {c.value for c in Command} | {"receipt"}
    assert set(defn.queries) == {"get_state"}
