"""The modules the production worker passes through its workflow sandbox stay safe to
share between runs (workflows/sandbox.py): no module-level mutable state."""

from __future__ import annotations

import importlib
from types import MappingProxyType, ModuleType

import pytest
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workflows import sandbox

MUTABLE = (list, dict, set, bytearray)


@pytest.mark.parametrize("name", sandbox.PASSED_THROUGH)
def test_passed_through_module_holds_no_mutable_state(name: str) -> None:
    module = importlib.import_module(name)
    shared = {
        k: type(v).__name__
        for k, v in vars(module).items()
        if not k.startswith("__") and isinstance(v, MUTABLE)
    }
    # A table a run could change would leak into every later run of the worker.
    assert shared == {}, f"{name} shares mutable globals between runs: {shared}"


def test_read_only_tables_are_read_only() -> None:
    from workflows.service_request import guards

    assert isinstance(guards._SAID, MappingProxyType)
    with pytest.raises(TypeError):
        guards._SAID["assignee"] = "someone else"  # type: ignore[index]


def test_worker_runs_the_passthrough_runner_and_tests_the_strict_one() -> None:
    runner = sandbox.runner()
    assert isinstance(runner, SandboxedWorkflowRunner)
    passthrough = runner.restrictions.passthrough_modules
    assert set(sandbox.PASSED_THROUGH) <= set(passthrough)
    # The workflow tests' harness keeps the SDK default: every module sandboxed, so a
    # call to a non-deterministic function in workflow code still fails a test there.
    assert "workflows.service_request.workflow" not in (
        SandboxedWorkflowRunner().restrictions.passthrough_modules
    )


def test_every_passed_through_name_is_a_module() -> None:
    for name in sandbox.PASSED_THROUGH:
        assert isinstance(importlib.import_module(name), ModuleType)
