"""Temporal's floor for a csflow lifecycle: a bare workflow of the same shape.

What `bench/lifecycle.py` runs beside csflow's lifecycle, on the same server, to measure
what Temporal itself costs for this shape on this machine: three no-op activities at
intake, then six Updates of two no-op activities each, ~20 workflow tasks; Temporal's
default converter, no codec, no interceptors. In its own module because the workflow
sandbox re-imports the module that defines a workflow for every run: this one imports
nothing but the SDK.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

FLOOR_UPDATES = ("receipt", "plan", "progress", "resolve", "confirm", "follow_up")
_NO_RETRY_NEEDED = timedelta(seconds=60)


@activity.defn(name="bench_floor_step")
async def floor_step(step: str) -> str:
    """A no-op activity: what scheduling, dispatching and completing one costs."""
    return step


@workflow.defn(name="BenchFloorLifecycle")
class FloorWorkflow:
    """Three activities at intake, then six Updates of two activities each; the sixth
    (follow-up) ends it. Small string payloads, small Update results."""

    def __init__(self) -> None:
        self._ready = False
        self._done = False

    @workflow.run
    async def run(self, number: str) -> str:
        for step in ("terms", "triage", "record"):
            await workflow.execute_activity(
                floor_step, step, start_to_close_timeout=_NO_RETRY_NEEDED
            )
        self._ready = True
        await workflow.wait_condition(lambda: self._done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return number

    @workflow.update
    async def step(self, name: str) -> str:
        await workflow.wait_condition(lambda: self._ready)
        for part in ("record", "notify"):
            await workflow.execute_activity(
                floor_step, f"{name}:{part}", start_to_close_timeout=_NO_RETRY_NEEDED
            )
        if name == FLOOR_UPDATES[-1]:
            self._done = True
        return name
