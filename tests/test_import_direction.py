"""Imports point one way: faces (API, CLI) and shared layers never reach into worker code,
and the data layer knows nothing of orchestration.

Read from the source (AST), not from `sys.modules`, so a lazy import inside a function
counts as much as one at the top of the file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER_CODE = {"activities", "workflows", "worker"}
# `csflow worker` has to start the worker: the one composition root allowed to import it.
ALLOWED = {("csflow/cli/serve.py", "worker")}


def imported_roots(path: Path) -> set[str]:
    """Top-level package names `path` imports, anywhere in the file."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def sources(*packages: str) -> list[Path]:
    found = [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert found, f"no sources under {packages}"
    return found


def test_the_parser_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os.path\nfrom workflows.x import Y\n"
        "def f():\n    import activities.assignment\n    from . import z\n"
    )
    assert imported_roots(sample) == {"os", "workflows", "activities"}


@pytest.mark.parametrize("package", ["csflow/api", "csflow/cli", "csflow/store", "csflow/services"])
def test_faces_and_shared_layers_never_import_worker_code(package: str) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {root}"
        for path in sources(package)
        for root in imported_roots(path) & WORKER_CODE
        if (str(path.relative_to(ROOT)), root) not in ALLOWED
    }
    assert not offenders, sorted(offenders)


def test_the_data_layer_knows_no_orchestration() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources("csflow/store")
        if "temporalio" in imported_roots(p)
    ]
    assert not offenders, offenders
