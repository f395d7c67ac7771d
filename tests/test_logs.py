"""Logs are JSON in production and carry the request number, workflow id and run id."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from csflow import logs


def test_stdlib_temporal_records_are_flattened_into_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("json", "INFO")
    try:
        logging.getLogger("temporalio.workflow").info(
            "plan submitted",
            extra={
                "temporal_workflow": {
                    "workflow_id": "CS20261123-WEB-0001",
                    "run_id": "run-1",
                    "workflow_type": "ServiceRequest",
                }
            },
        )
        structlog.get_logger("csflow.test").info(
            "persist.ok", request_number="CS1", workflow_id="CS1", workflow_run_id="r"
        )
        lines = [json.loads(x) for x in capsys.readouterr().err.strip().splitlines()]
    finally:
        logging.getLogger().handlers.clear()
    first, second = lines
    assert first["event"] == "plan submitted" and first["level"] == "info"
    assert first["workflow_id"] == "CS20261123-WEB-0001"
    assert first["workflow_run_id"] == "run-1"
    assert first["request_number"] == "CS20261123-WEB-0001"
    assert second["event"] == "persist.ok" and second["workflow_run_id"] == "r"
    assert "timestamp" in second
