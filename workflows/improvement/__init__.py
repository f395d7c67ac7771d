"""The ImprovementTask child workflow and its pure helpers (same shape as
`workflows.service_request`: workflow, guards, transitions, effects)."""

from workflows.improvement.workflow import ImprovementTaskWorkflow

__all__ = ["ImprovementTaskWorkflow"]
