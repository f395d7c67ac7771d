"""Every setting csflow reads from the environment is documented where a user looks.

A key that only the code reveals is a defect: `Settings` is the one place the process
settings are read, so each of its environment names must appear in the README or in
docs/, and the worker's and intake's tuning keys in the README's settings table itself.
"""

from __future__ import annotations

from pathlib import Path

from csflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _names() -> list[str]:
    return [field.alias or name for name, field in Settings.model_fields.items()]


def test_every_environment_setting_is_documented() -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))
    )
    missing = [name for name in _names() if name not in docs]
    assert not missing, f"settings only the code reveals: {missing}"


def test_the_worker_and_intake_keys_are_in_the_readme_table() -> None:
    rows = [
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    table = "\n".join(rows)
    for name in _names():
        if name.startswith(("CSFLOW_WORKER_", "CSFLOW_WORKFLOW_", "CSFLOW_METRICS_")):
            assert f"`{name}`" in table, name
