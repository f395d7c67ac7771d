"""`csflow import FILE` end to end: output, the errors file, and exit codes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from tests.helpers import free_port, run_cli
from tests.imports import samples
from tests.imports.conftest import Stack


async def csflow(env: dict[str, str], *args: str) -> Result:
    result: Result = await run_cli(env, *args)
    return result


def stack_env(ts_env: WorkflowEnvironment, db: str, stack: Stack) -> dict[str, str]:
    return {
        "DATABASE_URL": db,
        "CSFLOW_TASK_QUEUE": stack.queue,
        "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
    }


def read_errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


async def test_import_reports_bad_rows_writes_them_and_a_fixed_file_finishes(
    ts_env: WorkflowEnvironment,
    db: str,
    stack: Stack,
    tmp_path: Path,
) -> None:
    env = stack_env(ts_env, db, stack)
    source = tmp_path / "outage.csv"
    source.write_text(samples.csv_text(), encoding="utf-8")
    errors = tmp_path / "errors.csv"

    result = await csflow(
        env, "import", str(source), "--errors", str(errors), "--concurrency", "4", "--show", "3"
    )
    assert result.exit_code == 1, result.output
    out = result.output
    assert "CSV, 9 row(s): 3 good, 4 bad, 2 duplicate(s)" in out
    assert "imported now" in out and "already present (skipped)" in out
    assert f"line 5 [bad] OUT-003: {samples.CSV_BAD[5][1]}" in out
    assert f"line 6 [bad] OUT-004: {samples.CSV_BAD[6][1]}" in out  # one line, unwrapped
    assert f"line 8 [duplicate] OUT-001: {samples.CSV_DUPLICATES[8][1]}" in out
    assert "line 10 [bad]" not in out and f"… and 3 more (all in {errors})" in out
    written = read_errors(errors)
    assert [(r["line"], r["external_id"], r["problem"]) for r in written] == [
        ("5", "OUT-003", "bad"),
        ("6", "OUT-004", "bad"),
        ("8", "OUT-001", "duplicate"),
        ("10", "", "bad"),
        ("12", "OUT-007", "bad"),
        ("13", "OUT-002", "duplicate"),
    ]
    assert written[3]["reason"] == samples.CSV_BAD[10][1]
    await stack.exactly_once({"OUT-001", "OUT-002", "OUT-006"})

    # The operator fixes the bad rows and runs the same file again.
    fixed = samples.csv_text().replace("2026-11-20 11:00:00,", "2026-11-20T11:00:00+08:00,")
    fixed = fixed.replace(",fax,complaint,,P9,", ",phone,complaint,,P2,").replace(
        "C-1004,Zhao Lei,,,", "C-1004,Zhao Lei,,+86 135 1234 5678,"
    )
    fixed = (
        fixed.replace(
            ",2026-11-20T12:00:00+08:00,C-1005", "OUT-005,2026-11-20T12:00:00+08:00,C-1005"
        )
        .replace("OUT-007,,", "OUT-007,2026-11-20T13:00:00+08:00,")
        .replace("twice,-5,", "twice,5,")
    )
    source.write_text(fixed, encoding="utf-8")
    again = await csflow(env, "import", str(source), "--errors", str(errors))
    assert again.exit_code == 0, again.output
    assert "CSV, 9 row(s): 7 good, 0 bad, 2 duplicate(s)" in again.output
    assert [r["problem"] for r in read_errors(errors)] == ["duplicate", "duplicate"]
    await stack.exactly_once({f"OUT-00{i}" for i in range(1, 8)})


async def test_an_unreadable_file_exits_2_and_a_check_connects_to_nothing(
    tmp_path: Path,
) -> None:
    nowhere = {
        "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(samples.csv_text().encode("gbk"))
    result = await csflow(nowhere, "import", str(gbk))
    assert result.exit_code == 2
    assert f"cannot import: {gbk}: is not UTF-8 text" in result.output

    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(samples.JSONL_LINES[i] for i in (0, 8)) + "\n", encoding="utf-8")
    checked = await csflow(nowhere, "import", str(good), "--check")
    assert checked.exit_code == 0, checked.output
    assert "JSONL, 2 row(s): 2 good, 0 bad, 0 duplicate(s)" in checked.output

    errors = tmp_path / "errors.csv"
    outage = tmp_path / "outage.jsonl"
    outage.write_text(samples.jsonl_text(), encoding="utf-8")
    checked = await csflow(nowhere, "import", str(outage), "--check", "--errors", str(errors))
    assert checked.exit_code == 1
    assert "line 4 [bad] J-003: channel: required; chanel: unknown field" in checked.output
    assert [int(r["line"]) for r in read_errors(errors)] == [3, 4, 5, 6, 7, 8]


async def test_unreachable_temporal_exits_3_and_imports_nothing(
    db: str,
    pool: Any,
    tmp_path: Path,
) -> None:
    source = tmp_path / "rows.csv"
    source.write_text(samples.csv_of([samples.good_row(1)]), encoding="utf-8")
    env = {"DATABASE_URL": db, "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    result = await csflow(env, "import", str(source))
    assert result.exit_code == 3, result.output
    assert "does not answer" in result.output and "nothing was imported" in result.output
    assert await pool.fetchval("SELECT count(*) FROM request_keys") == 0
