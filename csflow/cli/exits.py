"""The exit codes of every `csflow` command, in one place.

Scripts branch on them, so they mean the same thing in every subcommand:

| code | meaning                                                                      |
|------|------------------------------------------------------------------------------|
| 0    | done                                                                         |
| 1    | refused or not found (the reason is printed); for `import`: some rows are not |
|      | in csflow — fix them and re-run the same file                                |
| 2    | bad input (a flag, a body, a file, the policy); nothing was sent             |
| 3    | Temporal or PostgreSQL unreachable; nothing was changed — safe to retry      |
| 130  | interrupted (`import`: re-run to finish)                                     |
"""

from __future__ import annotations

from typing import NoReturn

import typer

from csflow.refusals import Exit

# The codes come from csflow.refusals' one table, which maps each refusal kind to its
# HTTP status and exit code.
OK = Exit.OK
REFUSED = Exit.REFUSED
BAD_INPUT = Exit.BAD_INPUT
UNAVAILABLE = Exit.UNAVAILABLE
INTERRUPTED = 130


def fail(message: str, code: int) -> NoReturn:
    """Print `message` on standard error and end the command with `code`."""
    typer.echo(message, err=True)
    raise typer.Exit(code)
