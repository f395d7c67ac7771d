"""Bulk import of requests recorded by hand while csflow was unreachable (docs/requirements.md §7).

`read_import_file` checks a whole CSV or JSON Lines file first; `Importer` then creates
the good rows through `starter.CsflowClient`, so imported requests are numbered, started
and deduplicated exactly as live ones are. docs/import.md is the operator's guide.
"""

from csflow.imports.columns import COLUMNS, Column
from csflow.imports.parse import (
    FORMATS,
    Duplicate,
    Format,
    ImportFileError,
    ImportRow,
    ParsedFile,
    RowProblem,
    decode,
    parse_text,
    read_import_file,
)
from csflow.imports.runner import Imported, Importer, ImportReport, Progress, is_transient

__all__ = [
    "COLUMNS",
    "FORMATS",
    "Column",
    "Duplicate",
    "Format",
    "ImportFileError",
    "ImportReport",
    "ImportRow",
    "Imported",
    "Importer",
    "ParsedFile",
    "Progress",
    "RowProblem",
    "decode",
    "is_transient",
    "parse_text",
    "read_import_file",
]
