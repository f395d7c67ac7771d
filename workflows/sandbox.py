"""The workflow sandbox, with the ServiceRequest workflow's modules passed through.

The SDK's sandbox re-executes, for every new workflow run, each module it imports that
is not passed through, and a request is a new run. Re-executing the ServiceRequest
workflow and its helpers (guards, transitions, after_resolution, timeline, ladder, effects,
visibility — some 3,000 lines) proved the largest single cost of a lifecycle in the worker
(docs/performance.md, "Where the worker's time goes"): about a third of its Python time.
These modules hold no module-level mutable state (read-only tables only, checked by
tests/workflows/test_sandbox.py) and do nothing at import, so the worker imports them
once per process; every run still gets its own instance and its own state.

What passing through gives up is the sandbox's run-time check that these modules never
call a non-deterministic function (`datetime.now`, `random`, I/O). Note how far that
check reached before: `workflow.py` imports its helper modules (guards, transitions,
timeline, effects, the mixins' shared names) inside `workflow.unsafe.imports_passed_through()`,
so even the SDK's default runner (`strict`, which the workflow tests use:
tests/workflows/conftest.py) re-executes and checks `workflow.py`, `persistence.py` and
`importing.py` only — not the helpers. What keeps the helpers deterministic is what
they are: pure functions of the state, the terms and the `now` they are handed (the
domain modules' own rule), checked by tests/workflows/test_sandbox.py for module-level
state, and the recorded histories replayed by the SDK's `Replayer` on every test run,
which fails on any command a change would issue differently. The smaller workflows
(numbering, reports, improvement tasks) stay fully sandboxed in production too.
"""

from __future__ import annotations

from typing import Literal

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

Mode = Literal["strict", "passthrough", "off"]

PASSED_THROUGH = (
    "workflows.caller_start",
    "workflows.options",
    "workflows.visibility",
    "workflows.service_request",
    "workflows.service_request.after_resolution",
    "workflows.service_request.commands",
    "workflows.service_request.complaints",
    "workflows.service_request.effects",
    "workflows.service_request.eta",
    "workflows.service_request.guards",
    "workflows.service_request.importing",
    "workflows.service_request.ladder",
    "workflows.service_request.patches",
    "workflows.service_request.persistence",
    "workflows.service_request.timeline",
    "workflows.service_request.transitions",
    "workflows.service_request.workflow",
)


def runner(mode: Mode = "passthrough") -> WorkflowRunner:
    """The runner csflow's worker uses (`CSFLOW_WORKFLOW_SANDBOX`, read by
    `worker.build_worker`):

    - `passthrough` (default): sandboxed, the modules above imported once per process;
    - `strict`: the SDK's default sandbox, re-executing for each run every module the
      workflow imports outside `imports_passed_through` — what the workflow tests run;
    - `off`: no sandbox at all — the SDK's per-activation isolation skipped as well
      (docs/performance.md measures what it saves); determinism then rests on the tests
      and the replay of recorded histories alone.
    """
    if mode == "off":
        return UnsandboxedWorkflowRunner()
    if mode == "strict":
        return SandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )
