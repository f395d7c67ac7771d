"""Secrets an embedded stack makes for itself, once, in its data dir.

The link key and the actor key follow one rule, kept here so it is stated once: a value
given in the environment wins; otherwise the first process to need the secret writes it
to the data dir (mode 0600) and every later one — API, worker, CLI of the same stack —
reads the same file. With CSFLOW_SECRETS=env (containers, docs/deployment.md) nothing is
generated: each container has its own data dir, so a key made in one would be unknown to
the others, and the process refuses to start with the variable named instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

ENV_ONLY = "CSFLOW_SECRETS"


def environment_only() -> bool:
    """True when secrets come from the environment only (CSFLOW_SECRETS=env)."""
    return os.environ.get(ENV_ONLY) == "env"


def shared(path: Path, make: Callable[[], bytes], *, env_var: str, doc: str) -> bytes:
    """The secret stored at `path`, written there from `make()` by the first caller.

    Published with a hard link from a private temporary file, so processes starting
    together agree on one secret and none reads it half-written. Raises ValueError naming
    `env_var` (and the doc that says how to set it) under CSFLOW_SECRETS=env.
    """
    if environment_only():
        raise ValueError(
            f"{env_var} is not set ({ENV_ONLY}=env: secrets come from the environment "
            f"only, the same for every csflow process; {doc})"
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(make())
            os.link(tmp, path)  # atomic; the first process to get here wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()
