"""The published contract against the code: generated files current, every handler named.

A Go or Java team builds against docs/contract.md and docs/contract.schema.json, not
against our Python; an Update added to the workflow, or a field changed in a command
model, must show up there before it ships.
"""

from __future__ import annotations

import json

from temporalio import workflow

from csflow import contract_schema
from workflows.service_request import ServiceRequestWorkflow

DOC = (contract_schema.DOCS / contract_schema.DOC_FILE).read_text(encoding="utf-8")
SCHEMA = json.loads((contract_schema.DOCS / contract_schema.SCHEMA_FILE).read_text("utf-8"))
DEFINITION = workflow._Definition.from_class(ServiceRequestWorkflow)


def test_the_generated_schema_and_table_are_current() -> None:
    stale = contract_schema.stale()
    assert stale == [], f"regenerate with `python -m csflow.contract_schema`: {stale}"


def test_every_update_of_the_workflow_is_in_the_schema_and_the_doc() -> None:
    names = {str(n) for n in DEFINITION.updates}
    assert names == set(SCHEMA["updates"]), "the schema lists exactly the workflow's Updates"
    for name in sorted(names):
        assert f"`{name}`" in DOC, f"docs/contract.md does not name the Update {name}"
        entry = SCHEMA["updates"][name]
        for ref in (entry["argument"]["$ref"], entry["result"]["$ref"]):
            assert ref.removeprefix("#/$defs/") in SCHEMA["$defs"], f"{name}: dangling {ref}"


def test_every_query_is_in_the_schema_and_the_doc() -> None:
    names = {str(n) for n in DEFINITION.queries}
    assert names == set(SCHEMA["queries"])
    for name in sorted(names):
        assert f"`{name}`" in DOC, f"docs/contract.md does not name the query {name}"


def test_the_doc_is_right_that_there_are_no_signals() -> None:
    assert dict(DEFINITION.signals) == {}
    assert SCHEMA["signals"] == {}
    assert "## Why there are no Signals" in DOC


def test_the_workflow_names_match_the_code() -> None:
    assert SCHEMA["workflow"]["type"] == DEFINITION.name == "ServiceRequest"
    assert SCHEMA["workflow"]["task_queue"] == "service-requests"
    start = SCHEMA["$defs"]["ServiceRequestInput"]
    assert set(start["required"]) == {"number", "intake", "received_at"}, (
        "a caller without Python can start a request with these three fields only"
    )
