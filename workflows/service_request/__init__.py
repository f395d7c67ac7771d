"""The ServiceRequest workflow and the pure helpers it is made of.

- `workflow.py`: the one workflow class — its loop, then every Update in lifecycle order.
- `persistence.py`: its write, retried and salvaged (docs/events.md), a part of the class.
- `importing.py`: its imported-history mode (docs/import.md), a part of the class too.
- `patches.py`: the names of its patches, in release order.
- `guards.py`: one check per command, run by its validator and again by its handler.
- `transitions.py`: every state change, always through the timeline.
- `after_resolution.py`: the state changes after resolution (follow-up, improvements).
- `timeline.py`: the append that writes each change down.
- `effects.py`: every activity and child workflow the request calls.
"""

from workflows.service_request.workflow import ServiceRequestWorkflow

__all__ = ["ServiceRequestWorkflow"]
