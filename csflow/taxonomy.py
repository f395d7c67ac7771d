"""Breach reasons and root causes are keys of the reports config (`CSFLOW_REPORTS`:
`breach_reasons`, `causes`); this is where a command naming one is checked.

Checked at the edge — in the starter every face goes through (API, CLI, console, Python
callers) — and not in the workflow: the workflow would have to carry the lists in the
request's terms to judge them deterministically, and a list changed after intake would
then refuse keys the reports already show. The workflow records the key as given (the
contract model bounds its shape), and the reports label a key removed since as itself.
A caller reaching Temporal directly (docs/contract.md) is trusted to send configured keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from csflow.contracts import (
    CompleteImprovement,
    ExplainBreachCommand,
    Model,
    RecordCauseCommand,
    ResolveCommand,
)
from csflow.domain.codes import Category
from csflow.reports.config import (
    DEFAULT_REPORTS_CONFIG,
    ENV_VAR,
    ReportsConfig,
    load_reports_config,
)

# The config file read once per version of it (path, mtime, size): a command is checked
# without parsing TOML each time, and an edited file applies at the next command.
_loaded: dict[tuple[str, int, int], ReportsConfig] = {}


def current_config() -> ReportsConfig:
    """The reports config `CSFLOW_REPORTS` names (the built-in one when unset); raises
    ReportsConfigError when it cannot be used."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return DEFAULT_REPORTS_CONFIG
    path = Path(value)
    try:
        st = path.stat()
    except OSError:
        return load_reports_config(path)  # raises, saying why
    key = (value, st.st_mtime_ns, st.st_size)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = load_reports_config(path)
    return _loaded[key]


def problem(command: Model, config: ReportsConfig | None = None) -> str | None:
    """Why `command` names a reason or cause the configuration lacks; None when it is fine
    (or names none)."""
    if isinstance(command, ExplainBreachCommand):
        kind, key = "breach_reasons", command.reason
    elif isinstance(command, RecordCauseCommand | ResolveCommand | CompleteImprovement):
        if command.cause is None:
            return None
        kind, key = "causes", command.cause
    else:
        return None
    cfg = config if config is not None else current_config()
    keys = [c.key for c in getattr(cfg, kind)]
    if key in keys:
        return None
    what = "reason" if kind == "breach_reasons" else "cause"
    return f"unknown {what} {key!r}; configured {kind}: {', '.join(keys)}"


def needs_cause(command: Model, config: ReportsConfig | None = None) -> bool:
    """A resolution without a cause, where the config requires one for complaints: the
    caller must then look up the request's category (`missing_cause`)."""
    if not isinstance(command, ResolveCommand) or command.cause is not None:
        return False
    cfg = config if config is not None else current_config()
    return cfg.causes_required


def missing_cause(category: Category) -> str | None:
    """Why a resolution of a request of `category` without a cause is refused."""
    if category is Category.COMPLAINT:
        return (
            "a complaint's resolution names its root cause: give cause and "
            "responsible_department (reports config `causes_required`)"
        )
    return None
