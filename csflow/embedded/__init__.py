"""The embedded default stack's parts: PostgreSQL, the Temporal dev server, child processes.

Used by `csflow up` (csflow.stack) and by the test suite's session fixtures; nothing here
reads settings, so each caller decides ports and folders.
"""

from csflow.embedded.ports import PortClaim, free_port, port_accepts, port_in_use, port_problems
from csflow.embedded.postgres import EmbeddedPostgres, ensure_database
from csflow.embedded.process import ChildProcess, EmbeddedStartError
from csflow.embedded.temporal import (
    TemporalDevServer,
    ensure_search_attributes,
    find_temporal_binary,
    wait_for_frontend,
)

__all__ = [
    "ChildProcess",
    "EmbeddedPostgres",
    "EmbeddedStartError",
    "PortClaim",
    "TemporalDevServer",
    "ensure_database",
    "ensure_search_attributes",
    "find_temporal_binary",
    "free_port",
    "port_accepts",
    "port_in_use",
    "port_problems",
    "wait_for_frontend",
]
