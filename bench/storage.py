"""What the Temporal dev server's SQLite file holds, by kind (issue 17, deliverable 3).

The issue's storage target is per open request; the file's size alone does not say how
much of it csflow's workflows decide (their histories, their mutable state) and how
much is the server's own schema (visibility rows and their indexes, task queues). SQLite
answers that itself: its `dbstat` table gives every table's and index's pages. Read
through a read-only connection while the server runs (WAL mode lets a reader in); pages
still only in the WAL are not counted, so the groups add up to the main file, not to the
file and its WAL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

GROUPS = (
    ("histories", ("history_node", "history_tree", "sqlite_autoindex_history_node")),
    (
        "visibility",
        ("executions_visibility", "by_", "default_idx", "sqlite_autoindex_executions_visibility"),
    ),
    (
        "mutable state",
        (
            "executions",
            "current_executions",
            "timer_info_maps",
            "activity_info_maps",
            "sqlite_autoindex_executions",
            "sqlite_autoindex_current_executions",
            "sqlite_autoindex_timer_info_maps",
            "sqlite_autoindex_activity_info_maps",
        ),
    ),
    ("timers and task queues", ("timer_tasks", "transfer_tasks", "task", "visibility_tasks")),
)


def group_of(name: str) -> str:
    for group, prefixes in GROUPS:
        if any(name == p or name.startswith(p) for p in prefixes):
            return group
    return "the rest"


def breakdown(db: Path) -> dict[str, int]:
    """Bytes of the main file per group of GROUPS (and "the rest"), largest first; none
    for a server whose file is not here (one the environment named)."""
    if not db.is_file():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    out: dict[str, int] = {}
    for name, size in rows:
        group = group_of(name)
        out[group] = out.get(group, 0) + int(size)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
