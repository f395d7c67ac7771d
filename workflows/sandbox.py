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
call a non-deterministic function (`datetime.now`, `random`, I/O). That check is kept
where it finds mistakes: the workflow tests run the same classes on a worker with the
SDK's default, fully sandboxed runner (tests/workflows/conftest.py), and the recorded
histories are replayed by the SDK's `Replayer`, also fully sandboxed. The smaller
workflows (numbering, reports, improvement tasks) stay sandboxed in production too.
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
    - `strict`: the SDK's default sandbox, every csflow module re-executed for each run —
      what the workflow tests run; for development, when a change to workflow code should
      be checked at run time too;
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
