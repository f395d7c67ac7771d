"""`csflow import FILE`: requests recorded by hand during an outage, created afterwards.

Exit codes are for the script that runs the import after an outage: 0 every row is in
csflow, 1 some rows are not (bad or failed; fix them and re-run the same file — rows
already imported are skipped), 2 the file could not be read (nothing was imported),
3 csflow could not be reached or is misconfigured (nothing was imported),
130 interrupted (re-run to finish).
"""

from __future__ import annotations

import asyncio
import csv
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from csflow.cli import connect, exits
from csflow.imports import ImportFileError, ImportReport, ParsedFile, read_import_file
from csflow.imports import Progress as ImportProgress
from csflow.settings import Settings

if TYPE_CHECKING:
    from csflow.config.terms import TermsProvider

# The import's meaning of the shared exit codes (csflow/cli/exits.py).
EXIT_OK = exits.OK
EXIT_ROWS = exits.REFUSED
EXIT_FILE = exits.BAD_INPUT
EXIT_UNREACHABLE = exits.UNAVAILABLE
EXIT_INTERRUPTED = exits.INTERRUPTED


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class Unreachable(RuntimeError):
    """csflow's Temporal or PostgreSQL did not answer, or its policy is refused."""


def _terms() -> TermsProvider:
    from csflow.config.policy import PolicyError, policy_from_env
    from csflow.config.terms import TermsProvider

    try:
        return TermsProvider(policy_from_env())
    except PolicyError as err:
        raise Unreachable(f"the policy file is refused: {err}") from None


def import_command(
    file: Annotated[
        Path, typer.Argument(help="CSV (header row) or JSON Lines file", show_default=False)
    ],
    fmt: Annotated[
        FileFormat | None,
        typer.Option("--format", help="csv or jsonl; detected from the content if omitted"),
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option(
            help="write every bad, duplicate and failed row here (CSV: line, external_id, "
            "problem, reason)"
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="requests created at once")] = 16,
    check: Annotated[
        bool,
        typer.Option("--check", help="only validate the file; create nothing, connect to nothing"),
    ] = False,
    show: Annotated[int, typer.Option(min=0, help="print the first N problems")] = 20,
    events: Annotated[
        Path | None,
        typer.Option(
            help="a CSV of what happened to each request by hand (external_id, kind, at, …), "
            "replayed with its original times; see docs/import.md"
        ),
    ] = None,
) -> None:
    """Import requests recorded by hand during an outage, with their original timestamps.

    Every row needs an external_id (a re-run imports each row once) and received_at with
    its time zone (the SLA counts from it). A row may bring the events recorded by hand
    (JSON Lines: `events`; CSV: --events FILE), replayed in order with their original
    times. See docs/import.md for the columns.
    """
    settings = connect.settings()
    console = Console(highlight=False)
    try:
        parsed = read_import_file(file, fmt.value if fmt else None, events=events)
    except ImportFileError as err:
        typer.echo(f"cannot import: {err}", err=True)
        raise typer.Exit(EXIT_FILE) from None
    console.print(
        f"{parsed.source}: {parsed.format.upper()}, {parsed.total} row(s): "
        f"{len(parsed.rows)} good, {len(parsed.bad)} bad, "
        f"{len(parsed.duplicates)} duplicate(s)",
        markup=False,
    )
    if check:
        report = ImportReport(
            source=parsed.source,
            format=parsed.format,
            total=parsed.total,
            bad=parsed.bad,
            duplicates=parsed.duplicates,
        )
        _finish(console, report, errors, show, summary=False)
        return
    try:
        report = asyncio.run(_run(settings, parsed, concurrency, console))
    except (Unreachable, connect.Unavailable) as err:
        typer.echo(f"cannot import: {err}; nothing was imported", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: re-run the same command to finish; rows already imported are skipped",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _finish(console, report, errors, show, summary=True)


async def _run(
    settings: Settings, parsed: ParsedFile, concurrency: int, console: Console
) -> ImportReport:
    from csflow.imports import Importer

    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[imported]} new · {task.fields[present]} present · "
            "{task.fields[failed]} failed"
        ),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    # Everything is dialled before the first row, so "unreachable" means nothing was
    # imported rather than a file's worth of failed rows.
    terms = _terms()
    async with connect.services(settings, with_terms=terms, pool_size=min(concurrency, 10)) as conn:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("import", total=len(parsed.rows), imported=0, present=0, failed=0)

            def show(p: ImportProgress) -> None:
                bar.update(
                    task, completed=p.done, imported=p.imported, present=p.present, failed=p.failed
                )

            importer = Importer(
                conn.csflow, conn.temporal, conn.pool, concurrency=concurrency, on_progress=show
            )
            return await importer.run(parsed)


def _finish(
    console: Console, report: ImportReport, errors: Path | None, show: int, *, summary: bool
) -> None:
    if summary:
        console.print(_summary(report))
    problems = report.problems()
    for line, external_id, kind, reason in problems[:show]:
        # One line per problem however long, so the output greps like the errors file.
        console.print(
            f"  line {line} [{kind}] {external_id or '-'}: {reason}", markup=False, soft_wrap=True
        )
    if len(problems) > show:
        console.print(
            f"  … and {len(problems) - show} more"
            + (f" (all in {errors})" if errors else " (--errors FILE lists all)"),
            markup=False,
        )
    if errors is not None:
        write_errors(errors, problems)
        console.print(f"problems written to {errors}", markup=False)
    if not report.ok:
        console.print(
            "fix the rows and run the same file again: rows already imported are skipped",
            markup=False,
        )
        raise typer.Exit(EXIT_ROWS)


def _summary(report: ImportReport) -> Table:
    table = Table("", "rows", title=f"Import of {Path(report.source).name}", title_justify="left")
    rate = len(report.imported) / report.seconds if report.seconds else 0.0
    table.add_row("rows in the file", str(report.total))
    table.add_row("imported now", str(len(report.imported)))
    table.add_row("already present (skipped)", str(len(report.present)))
    table.add_row("bad (not imported)", str(len(report.bad)))
    table.add_row("duplicates in the file (skipped)", str(len(report.duplicates)))
    table.add_row("failed after retries", str(len(report.failed)))
    table.add_row("time", f"{report.seconds:.1f} s ({rate:.0f} new requests/s)")
    return table


def write_errors(path: Path, problems: list[tuple[int, str | None, str, str]]) -> None:
    """UTF-8 with a BOM: the file is opened in a spreadsheet next to the one it reports on."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["line", "external_id", "problem", "reason"])
        for line, external_id, kind, reason in problems:
            out.writerow([line, external_id or "", kind, reason])
