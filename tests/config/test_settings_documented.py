"""Every setting csflow reads from the environment is documented where a user looks.

A key that only the code reveals is a defect. `Settings` holds the process settings, so
each of its environment names must appear in the README or in docs/, and the worker's
and intake's tuning keys in the README's settings table itself. Some modules read a
variable of their own directly (`os.environ.get(ENV_VAR)`, a typer option's `envvar=`):
those are found by parsing the source, and must be documented too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from csflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# The code that runs in csflow's processes; tests/ and bench/ set variables, not read them.
SOURCES = ("csflow", "activities", "workflows", "starter", "worker.py", "run.py")
# Variables read that are not csflow's settings: run.py puts the virtualenv's bin/ in
# front of the operating system's own search path for the commands it starts.
NOT_SETTINGS = frozenset({"PATH"})


def _names() -> list[str]:
    return [field.alias or name for name, field in Settings.model_fields.items()]


def _docs() -> str:
    return (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))
    )


def _documented(name: str, docs: str) -> bool:
    """Named as a whole word: `CSFLOW_ACTOR` inside `CSFLOW_ACTOR_KEY` does not count."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", docs) is not None


def _strings(node: ast.AST | None) -> Iterator[str]:
    """The string constants `node` is, or holds (a list or tuple of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            yield from _strings(item)


def _is_environ(node: ast.AST) -> bool:
    """`os.environ` or a bare `environ`."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def variables_read(source: str) -> set[str]:
    """The environment variables a module reads by name: `ENV_…` constants (what its
    `os.environ.get(ENV_VAR)` calls read), `os.environ.get("…")`, `os.environ["…"]`,
    `os.getenv("…")`, and typer's `envvar="…"`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(
                isinstance(t, ast.Name) and (t.id == "ENV" or t.id.startswith("ENV_"))
                for t in targets
            ):
                found.update(_strings(node.value))
        elif isinstance(node, ast.Call):
            func = node.func
            reads = (isinstance(func, ast.Name) and func.id == "getenv") or (
                isinstance(func, ast.Attribute)
                and ((func.attr == "get" and _is_environ(func.value)) or func.attr == "getenv")
            )
            if reads and node.args:
                found.update(_strings(node.args[0]))
            for keyword in node.keywords:
                if keyword.arg == "envvar":
                    found.update(_strings(keyword.value))
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            found.update(_strings(node.slice))
    return found


def _read_directly() -> dict[str, set[str]]:
    """Each variable read outside `Settings`, with the files that read it."""
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    where: dict[str, set[str]] = {}
    for path in files:
        for name in variables_read(path.read_text(encoding="utf-8")):
            where.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return where


def test_every_environment_setting_is_documented() -> None:
    docs = _docs()
    missing = [name for name in _names() if not _documented(name, docs)]
    assert not missing, f"settings only the code reveals: {missing}"


def test_every_variable_read_directly_is_documented() -> None:
    docs = _docs()
    read = _read_directly()
    assert read, "the scan found no variable at all: the patterns no longer match the code"
    missing = {
        name: sorted(files)
        for name, files in sorted(read.items())
        if name not in NOT_SETTINGS and not _documented(name, docs)
    }
    assert not missing, f"variables only the code reveals (name: where it is read): {missing}"


def test_the_scan_finds_each_way_of_reading_a_variable() -> None:
    source = """
import os
import typer
ENV_VAR = "A_CONSTANT"
ENV_PAIR: tuple[str, ...] = ("A_PAIR_1", "A_PAIR_2")
NOT_ENV = "NOT_READ"
a = os.environ.get("A_GET", "x")
b = os.environ["A_ITEM"]
c = os.getenv("A_GETENV")
c2 = getenv("A_BARE_GETENV")
d = (os.environ if e is None else environ).get(ENV_VAR)
f = environ.get("A_BARE")
g = typer.Option("--actor", envvar="A_TYPER")
h = typer.Option("--role", envvar=["A_LIST"])
i = settings.get("NOT_ENVIRONMENT")
"""
    assert variables_read(source) == {
        "A_CONSTANT",
        "A_PAIR_1",
        "A_PAIR_2",
        "A_GET",
        "A_ITEM",
        "A_GETENV",
        "A_BARE_GETENV",
        "A_BARE",
        "A_TYPER",
        "A_LIST",
    }


def test_a_name_counts_only_as_a_whole_word() -> None:
    assert _documented("CSFLOW_ACTOR", "set `CSFLOW_ACTOR` or CSFLOW_ACTOR_KEY")
    assert not _documented("CSFLOW_ACTOR", "only CSFLOW_ACTOR_KEY and XCSFLOW_ACTOR")


def test_the_worker_and_intake_keys_are_in_the_readme_table() -> None:
    rows = [
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    table = "\n".join(rows)
    for name in _names():
        if name.startswith(("CSFLOW_WORKER_", "CSFLOW_WORKFLOW_", "CSFLOW_METRICS_")):
            assert f"`{name}`" in table, name
