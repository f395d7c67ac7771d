"""The workflow harness (a worker on the time-skipping server with in-memory activities),
for tests that follow a message from the workflow that plans it."""

from tests.workflows.conftest import harness

__all__ = ["harness"]
