"""What `csflow up` makes ready in its data dir before anything runs: the lock that keeps
one stack per data dir, the development key ring and actor key, the schema, and an admin
and a service token.

Separate from `stack.py`, which starts and watches processes, because each step here is
a one-time set-up that must be safe to run on every start: what exists and still works is
kept, and only what is missing or broken is made again.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from csflow.crypto import assertions, converter, keyring
from csflow.crypto.keyring import ENV_RING


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[bool]:
    """Hold an exclusive lock on the data dir: two stacks must never share one SQLite file.

    Yields False when another process holds it. The kernel drops the lock when the
    process dies, however it dies.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "csflow-up.lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield True


def ensure_keys(data_dir: Path, keyring_file: Path) -> str | None:
    """The development key ring (mode 0600) and actor key, created on first run; returns
    a line to log when the ring was just made.

    A ring given in the environment (CSFLOW_KEYRING) is used as it is, and
    CSFLOW_ENCRYPTION=off runs without one; either way the actor key is made, because the
    worker refuses unsigned commands whatever the encryption.
    """
    assertions.load_key(data_dir)
    if os.environ.get(ENV_RING) or os.environ.get(converter.ENV_DISABLE, "").lower() == "off":
        return None
    _, created = keyring.ensure_dev_ring(keyring_file)
    if created:
        return (
            f"created a development key ring at {keyring_file} (mode 0600); keep "
            "it with the data — without it no history can be read (docs/security.md)"
        )
    keyring.load(keyring_file)  # a damaged ring stops here, named
    return None


async def apply_migrations(dsn: str) -> list[str]:
    """The schema brought up to date; returns the versions applied now."""
    from csflow.store.migrations import apply_migrations as apply

    return await apply(dsn)


async def ensure_dev_tokens(dsn: str, data_dir: Path) -> dict[str, Path]:
    """An admin and a service token in the data dir (0600), so the API is usable at once.

    A token file that still verifies is kept; one revoked or lost is replaced. Production
    issues its own with `csflow token create` and never reads these files.
    """
    import asyncpg

    from csflow.domain.codes import Role
    from csflow.store import tokens

    folder = data_dir / "tokens"
    folder.mkdir(parents=True, exist_ok=True)
    conn = await asyncpg.connect(dsn)
    found: dict[str, Path] = {}
    try:
        for role in (Role.ADMIN, Role.SERVICE):
            path = folder / role.value
            if path.exists():
                try:
                    await tokens.verify(conn, path.read_text("ascii").strip(), datetime.now(UTC))
                    found[role.value] = path
                    continue
                except tokens.TokenRefused:
                    pass
            plain, _ = await tokens.issue(
                conn, name=f"csflow-up-{role.value}", role=role, subject=f"local-{role.value}"
            )
            path.write_text(plain + "\n", encoding="ascii")
            path.chmod(0o600)
            found[role.value] = path
    finally:
        await conn.close()
    return found
