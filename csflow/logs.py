"""structlog set-up: JSON lines in production, readable colours on a terminal.

Temporal's `workflow.logger` and `activity.logger` are stdlib loggers that attach the
workflow id and run id in a `temporal_workflow` / `temporal_activity` dict; they are routed
through the same processors and flattened, so every line carries `workflow_id` and
`workflow_run_id` whichever logger wrote it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger


def _flatten_temporal(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    for attr in ("temporal_workflow", "temporal_activity"):
        info = getattr(record, attr, None) if record is not None else None
        if isinstance(info, dict):
            event.setdefault("workflow_id", info.get("workflow_id"))
            event.setdefault("workflow_run_id", info.get("run_id") or info.get("workflow_run_id"))
            if "activity_type" in info:
                event.setdefault("activity", info["activity_type"])
            if "workflow_type" in info:
                event.setdefault("workflow_type", info["workflow_type"])
    wid = event.get("workflow_id")
    if isinstance(wid, str) and wid.startswith("CS"):
        event.setdefault("request_number", wid)
    return event


def configure(fmt: str = "auto", level: str = "INFO") -> None:
    """Idempotent; called once by each composition root."""
    json_out = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_out else structlog.dev.ConsoleRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _flatten_temporal],
        processors=[
            _flatten_temporal,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("temporalio.activity", "temporalio.workflow"):
        logging.getLogger(noisy).setLevel(level.upper())
