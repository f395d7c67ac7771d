"""The embedded Temporal dev server: persisted, with csflow's search attributes in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from csflow import search_attributes as sa
from csflow.embedded import EmbeddedStartError, TemporalDevServer, free_port
from csflow.embedded.temporal import SearchAttributeKeys

pytestmark = pytest.mark.integration

EXPECTED = {key.name: int(key.indexed_value_type) for key in sa.ALL}


def _server(tmp_path: Path, keys: SearchAttributeKeys = sa.ALL) -> TemporalDevServer:
    return TemporalDevServer(
        tmp_path / "temporal.db",
        free_port(),
        free_port(),
        namespace="csflow-test",
        keys=keys,
        log_path=tmp_path / "temporal.log",
    )


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[TemporalDevServer]:
    server = _server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


async def _custom_attributes(client: Client, namespace: str) -> dict[str, int]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(listed.custom_attributes)


def test_command_line_persists_and_uses_the_shared_search_attribute_flags(
    dev_server: TemporalDevServer,
) -> None:
    argv = dev_server.argv()
    flags = sa.cli_flags()
    start = argv.index(flags[0])
    assert argv[start : start + len(flags)] == flags
    assert argv[argv.index("--db-filename") + 1] == str(dev_server.db_path)
    assert argv[argv.index("--namespace") + 1] == "csflow-test"
    assert "journal_mode=wal" in argv and "synchronous=normal" in argv


async def test_starts_with_csflow_search_attributes_registered(
    dev_server: TemporalDevServer,
) -> None:
    dev_server.start()
    client = await Client.connect(dev_server.target, namespace="csflow-test")

    registered = await _custom_attributes(client, "csflow-test")

    assert {name: registered.get(name) for name in EXPECTED} == EXPECTED
    assert EXPECTED["NextDeadline"] == IndexedValueType.INDEXED_VALUE_TYPE_DATETIME


async def test_restart_keeps_workflows_and_namespace_and_adds_new_attributes(
    tmp_path: Path,
) -> None:
    """`--search-attribute` is ignored for an existing namespace, so start() adds them."""
    first_keys = sa.ALL[:-1]
    server = _server(tmp_path, keys=first_keys)
    with server:
        client = await Client.connect(server.target, namespace="csflow-test")
        assert sa.ALL[-1].name not in await _custom_attributes(client, "csflow-test")
        handle = await client.start_workflow(
            "NoWorkerNeeded", id="survives-restart", task_queue="nobody-polls"
        )

    server.keys = sa.ALL
    with server:
        client = await Client.connect(server.target, namespace="csflow-test")
        described = await client.get_workflow_handle(handle.id).describe()
        registered = await _custom_attributes(client, "csflow-test")

    assert described.status == WorkflowExecutionStatus.RUNNING
    assert {name: registered.get(name) for name in EXPECTED} == EXPECTED


def test_a_failed_start_names_the_log_and_shows_its_tail(tmp_path: Path) -> None:
    server = TemporalDevServer(
        tmp_path / "temporal.db",
        free_port(),
        free_port(),
        log_path=tmp_path / "temporal.log",
        extra_args=["--dynamic-config-value", "broken=not json"],
        start_timeout=20,
    )
    with pytest.raises(EmbeddedStartError) as caught:
        server.start()
    message = str(caught.value)
    assert str(tmp_path / "temporal.log") in message
    assert "invalid dynamic config" in message
    assert server.child is not None and server.child.exit_code() is not None
